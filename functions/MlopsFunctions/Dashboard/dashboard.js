// MlopsFunctions dashboard: plain DOM and hand-drawn SVG, no dependencies (the CSP allows only this origin).
// Every value from the API goes into the page as text (textContent, attributes), never as markup.
'use strict';

(() => {
  // The script is served at {prefix}/dashboard/dashboard.js, so the API is {prefix}/ whatever the host's route prefix.
  const API = new URL('../', document.currentScript.src).pathname;
  const KEY_STORE = 'mlops.key';
  const ADMIN_KEY_STORE = 'mlops.adminKey';
  const POLL_MS = 2000;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const state = {
    models: null,
    model: null, // name of the selected model
    modelData: null,
    runs: null,
    version: null, // number of the selected version
    versionData: null,
    rendered: {}, // JSON last rendered per section, so polling re-renders (and loses focus) only on change
    timer: null,
    watchUntil: 0, // keep polling until then after an operator action (promotion happens asynchronously)
    driftMissing: null, // { model, at }: the drift route answered 404, ask again only after a minute
  };

  const $ = (id) => document.getElementById(id);

  // ---------- DOM helpers ----------

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  function setAttrs(el, attrs) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'class') el.setAttribute('class', value);
      else if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? '' : String(value));
    }
  }

  function append(el, children) {
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  function fillBody(tableId, rows, emptyText) {
    const table = $(tableId);
    const body = clear(table.tBodies[0]);
    const headers = [...table.tHead.rows[0].cells].map((c) => c.textContent);
    if (rows.length === 0) {
      body.append(h('tr', { class: 'empty-row' }, h('td', { colspan: headers.length }, emptyText)));
      return;
    }
    // Each cell carries its column's name: narrow screens show tables as stacked cards labelled from it.
    for (const row of rows) {
      [...row.cells].forEach((cell, i) => { if (headers[i] && !cell.hasAttribute('data-label')) cell.setAttribute('data-label', headers[i]); });
    }
    append(body, rows);
  }

  // Re-renders a section only when its data changed, so a refresh does not move focus or scroll for nothing.
  function changed(section, data) {
    const json = JSON.stringify(data === undefined ? null : data);
    if (state.rendered[section] === json) return false;
    state.rendered[section] = json;
    return true;
  }

  // ---------- formatting ----------

  // The API writes NaN and infinities as strings ("NaN"); everything else numeric is a number.
  function num(value) {
    if (typeof value === 'number') return value;
    if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
    if (value === 'NaN') return NaN;
    return null;
  }

  function fmt(value, digits = 4) {
    const n = num(value);
    if (n === null) return '';
    if (!Number.isFinite(n)) return String(n);
    if (Number.isInteger(n) && Math.abs(n) < 1e9) return n.toLocaleString('en-US');
    const abs = Math.abs(n);
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return n.toExponential(2);
    return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  }

  function fmtSigned(value, digits = 4) {
    const n = num(value);
    if (n === null) return '';
    return (n > 0 ? '+' : '') + fmt(n, digits);
  }

  function when(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  }

  function shortWhen(iso) {
    const text = when(iso);
    return text ? text.slice(5, 16) : '';
  }

  function statusClass(status) {
    switch (status) {
      case 'passed': case 'approved': case 'completed': case 'succeeded': case 'promoted': case 'ok': return 'ok';
      case 'rejected': case 'failed': case 'declined': case 'error': case 'terminated': return 'bad';
      case 'awaiting-approval': case 'warning': case 'queued': case 'superseded': return 'warn';
      case 'running': case 'training': case 'production': case 'staging': return 'info';
      default: return '';
    }
  }

  function badge(text, kind) {
    return text ? h('span', { class: `badge ${kind === undefined ? statusClass(text) : kind}` }, text) : '';
  }

  function versionLabel(v) {
    return v === undefined || v === null ? '—' : `v${v}`;
  }

  function facts(dlId, pairs) {
    const dl = clear($(dlId));
    for (const [term, value, wide] of pairs) {
      if (value === undefined || value === null || value === '') continue;
      dl.append(h('div', { class: wide ? 'wide' : null }, h('dt', null, term), h('dd', null, value)));
    }
  }

  // ---------- API ----------

  function key() { return sessionStorage.getItem(KEY_STORE) || ''; }

  class ApiError extends Error {
    constructor(status, message, body) { super(message); this.status = status; this.body = body; }
  }

  async function api(method, path, useKey) {
    const headers = { Accept: 'application/json' };
    const k = useKey === undefined ? key() : useKey;
    if (k) headers['x-functions-key'] = k;
    let response;
    try {
      response = await fetch(API + path, { method, headers, cache: 'no-store', credentials: 'omit' });
    } catch (e) {
      throw new ApiError(0, `The API at ${API} cannot be reached (${e.message}).`);
    }
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = null; }
    if (!response.ok) {
      // Show the server's own message: it says what to do.
      const message = body && body.message ? body.message : `${method} ${path} answered ${response.status} ${response.statusText}.`;
      throw new ApiError(response.status, message, body);
    }
    return body;
  }

  function showError(error) {
    const text = error instanceof ApiError && error.status ? `${error.message} (HTTP ${error.status})` : error.message || String(error);
    $('error-text').textContent = text;
    $('error').hidden = false;
    if (error instanceof ApiError && error.status === 401) setKeyStatus('The key was refused: enter a valid key.');
  }

  function clearError() {
    $('error').hidden = true;
    $('error-text').textContent = '';
  }

  function setKeyStatus(text) { $('key-status').textContent = text; }

  // ---------- routing: #/models/{model}[/versions/{v}] ----------

  function parseRoute() {
    const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
    const route = { model: null, version: null };
    if (parts[0] === 'models' && parts[1]) {
      route.model = parts[1];
      if (parts[2] === 'versions' && /^\d+$/.test(parts[3] || '')) route.version = Number(parts[3]);
    }
    return route;
  }

  function modelHref(model) { return `#/models/${encodeURIComponent(model)}`; }
  function versionHref(model, v) { return `${modelHref(model)}/versions/${v}`; }

  async function onRoute() {
    const route = parseRoute();
    const modelChanged = route.model !== state.model;
    state.model = route.model;
    state.version = route.version;
    if (modelChanged) {
      state.modelData = null;
      state.runs = null;
      state.rendered = { models: state.rendered.models };
    }
    if (!route.version) {
      state.versionData = null;
      delete state.rendered.version;
    }
    renderModelsTable();
    await refresh();
    // Move focus to what the link opened, so keyboard and screen reader users land on it (and narrow screens scroll to it).
    if (focusAfterRoute) {
      focusAfterRoute = false;
      const target = route.version && !$('version-panel').hidden ? $('version-title') : route.model && !$('model-panel').hidden ? $('model-title') : null;
      if (target) target.focus();
    }
  }

  let focusAfterRoute = false;

  // ---------- loading ----------

  let refreshing = null;

  // Loads what the current route shows; concurrent callers share one refresh.
  function refresh() {
    if (!refreshing) {
      refreshing = load().finally(() => { refreshing = null; schedule(); });
    }
    return refreshing;
  }

  async function load() {
    if (!key()) {
      $('models-empty').textContent = 'Enter a key to load the models.';
      $('models-empty').hidden = false;
      $('models-table').hidden = true;
      $('model-panel').hidden = true;
      $('version-panel').hidden = true;
      return;
    }
    try {
      const model = state.model;
      const version = state.version;
      const [models, modelData, runs, versionData] = await Promise.all([
        api('GET', 'models'),
        model ? api('GET', `models/${encodeURIComponent(model)}`) : null,
        model ? api('GET', `models/${encodeURIComponent(model)}/runs`) : null,
        model && version ? api('GET', `models/${encodeURIComponent(model)}/versions/${version}`) : null,
      ]);
      if (model !== state.model || version !== state.version) return; // the route moved on meanwhile
      state.models = models.models || [];
      state.modelData = modelData;
      state.runs = runs ? runs.runs || [] : null;
      state.versionData = versionData;
      clearError();
      setKeyStatus('');
      renderModelsTable();
      renderModel();
      renderVersion();
      if (model) loadServedDrift(model);
    } catch (error) {
      showError(error);
      if (error instanceof ApiError && error.status === 404 && state.model) {
        $('model-panel').hidden = !state.modelData;
        $('version-panel').hidden = !state.versionData;
      }
    }
  }

  // Drift of served traffic comes from another part of the product: shown when its route answers, hidden on 404.
  async function loadServedDrift(model) {
    if (state.driftMissing && state.driftMissing.model === model && Date.now() - state.driftMissing.at < 60000) return;
    try {
      const drift = await api('GET', `models/${encodeURIComponent(model)}/drift`);
      if (model === state.model) renderServedDrift(drift);
    } catch (error) {
      if (model !== state.model) return;
      $('served-drift').hidden = true;
      delete state.rendered.servedDrift;
      if (error instanceof ApiError && error.status === 404) state.driftMissing = { model, at: Date.now() };
      if (!(error instanceof ApiError) || error.status !== 404) showError(error);
    }
  }

  function runIsActive(run) {
    return run.status === 'running' || run.status === 'queued' || run.runtimeStatus === 'Running' || run.runtimeStatus === 'Pending';
  }

  // Polls while a run of the selected model is active, or for a while after an operator action.
  function schedule() {
    clearTimeout(state.timer);
    const active = (state.runs || []).some(runIsActive);
    $('runs-live').hidden = !active;
    if (key() && (active || Date.now() < state.watchUntil)) {
      state.timer = setTimeout(refresh, POLL_MS);
    }
  }

  // ---------- models ----------

  function renderModelsTable() {
    const models = state.models;
    if (!models) return;
    $('models-empty').hidden = models.length > 0;
    $('models-empty').textContent = 'No models yet: define one with PUT /api/models/{model}.';
    $('models-table').hidden = models.length === 0;
    if (!changed('models', [models, state.model])) return;
    fillBody('models-table', models.map((m) => h('tr', { class: m.name === state.model ? 'selected' : null, 'data-model': m.name },
      h('th', { scope: 'row' }, h('a', { href: modelHref(m.name), 'aria-current': m.name === state.model ? 'page' : null }, m.name),
        h('span', { class: 'task' }, [m.task, m.versions !== undefined ? `${fmt(m.versions)} version${m.versions === 1 ? '' : 's'}` : null].filter(Boolean).join(' · '))),
      h('td', { class: 'nowrap', 'data-slot': 'production' }, versionLabel(m.production)),
      h('td', { class: 'nowrap', 'data-slot': 'staging' }, versionLabel(m.staging)))), 'No models.');
  }

  // ---------- one model ----------

  function renderModel() {
    const m = state.modelData;
    $('model-panel').hidden = !m;
    if (!m) return;
    const spec = m.spec || {};
    const slots = m.slots || {};
    $('model-title').textContent = m.name;
    if (changed('modelFacts', [spec, slots])) {
      const gates = spec.gates || {};
      facts('model-facts', [
        ['Production', h('span', { id: 'production-version', 'data-version': slots.production ?? '' }, versionLabel(slots.production))],
        ['Staging', h('span', { id: 'staging-version', 'data-version': slots.staging ?? '' }, versionLabel(slots.staging))],
        ['Before production', (slots.previousProduction || []).length ? slots.previousProduction.map(versionLabel).join(', ') : '—'],
        ['Task', spec.task],
        ['Label', spec.label],
        ['Primary metric', spec.metric || primaryMetric(m)],
        ['Promotion', spec.promotion || 'auto'],
        ['Gates', [gates.minMetric !== undefined ? `min ${fmt(gates.minMetric)}` : null,
          gates.minImprovement !== undefined ? `improve ≥ ${fmt(gates.minImprovement)}` : null,
          gates.confidence !== undefined ? `${fmt(gates.confidence * 100)}% confidence` : null].filter(Boolean).join(', ') || 'defaults'],
        ['Training window', typeof spec.trainOn === 'object' ? JSON.stringify(spec.trainOn) : spec.trainOn],
        ['Retrain schedule', spec.retrainSchedule],
      ]);
    }
    renderApprovalCallout(m);
    $('swap-button').disabled = slots.staging === undefined || slots.staging === null;
    $('rollback-button').disabled = !(slots.previousProduction || []).length;

    const versions = m.versions || [];
    if (changed('chart', [versions, spec.gates, slots])) renderChart(versions, spec, slots);
    if (changed('versions', [versions, state.version])) renderVersions(versions);
    if (changed('runs', state.runs)) renderRuns(state.runs || []);
    if (changed('history', m.history)) renderHistory(m.history || []);
  }

  function primaryMetric(m) {
    const v = (m.versions || []).find((x) => x.metric);
    return v ? v.metric : '';
  }

  function decisionButtons(model, version) {
    return [
      h('button', { type: 'button', class: 'ok small', 'data-action': 'approve', 'data-version': version,
        onclick: () => confirmAction('approve', model, version) }, 'Approve'),
      h('button', { type: 'button', class: 'bad small', 'data-action': 'reject', 'data-version': version,
        onclick: () => confirmAction('reject', model, version) }, 'Reject'),
    ];
  }

  // A version waiting for a person is the one thing an operator must not miss: it gets a box above the chart.
  function renderApprovalCallout(m) {
    const waiting = (m.versions || []).filter((v) => v.status === 'awaiting-approval');
    const box = $('approval-callout');
    box.hidden = waiting.length === 0;
    if (!changed('callout', waiting)) return;
    clear(box);
    for (const v of waiting) {
      box.append(h('div', { class: 'callout-row', 'data-version': v.version },
        h('p', null, h('strong', null, `${versionLabel(v.version)} awaits approval`),
          v.value !== undefined ? ` · ${v.metric} ${fmt(v.value)}` : '', v.reason ? ` · ${v.reason}` : ''),
        h('div', { class: 'actions' }, decisionButtons(m.name, v.version))));
    }
  }

  function renderVersions(versions) {
    const model = state.model;
    fillBody('versions-table', versions.map((v) => h('tr', { 'data-version': v.version, class: v.version === state.version ? 'selected' : null },
      h('th', { scope: 'row' }, h('a', { href: versionHref(model, v.version), 'aria-current': v.version === state.version ? 'page' : null }, versionLabel(v.version))),
      h('td', { 'data-field': 'status' }, badge(v.status)),
      h('td', { 'data-field': 'slot' }, v.slot ? badge(v.slot) : ''),
      h('td', { 'data-field': 'metric' }, v.metric || ''),
      h('td', { class: 'num', 'data-field': 'value', 'data-value': num(v.value) ?? '' }, fmt(v.value)),
      h('td', { class: 'nowrap' }, shortWhen(v.createdAt)),
      h('td', { class: 'reason' }, v.reason || ''),
      h('td', { class: 'nowrap' }, v.status === 'awaiting-approval' ? decisionButtons(model, v.version) : ''))), 'No versions yet.');
  }

  function renderRuns(runs) {
    fillBody('runs-table', runs.map((r) => {
      const p = r.progress || {};
      const total = num(p.candidatesTotal) || 0;
      const done = num(p.candidatesDone) || 0;
      const result = r.result;
      const resultText = r.error ? r.error
        : result ? [result.outcome, result.version ? versionLabel(result.version) : null,
          result.metric && result.value !== undefined ? `${result.metric} ${fmt(result.value)}` : null, result.reason].filter(Boolean).join(' · ')
          : r.supersededBy ? `superseded by ${r.supersededBy}` : '';
      return h('tr', { 'data-run': r.runId, 'data-status': r.status },
        h('td', { class: 'nowrap' }, shortWhen(r.startedAt || r.createdAt)),
        h('td', { title: r.input && r.input.actor ? `by ${r.input.actor}` : null }, r.input ? r.input.trigger : ''),
        h('td', null, badge(r.status)),
        h('td', { 'data-field': 'stage' }, r.stage ? badge(r.stage, r.stage === 'awaiting-approval' ? 'warn' : '') : ''),
        h('td', { class: 'nowrap' }, total > 0
          ? [h('progress', { max: total, value: done, 'aria-label': `Candidates trained: ${done} of ${total}` }), h('span', { class: 'progress-text' }, `${done}/${total}`)]
          : runIsActive(r) ? h('progress', { 'aria-label': 'In progress' }) : ''),
        h('td', { class: 'mono run-id', title: r.runId }, r.runId.startsWith(`${r.model}.`) ? r.runId.slice(r.model.length + 1) : r.runId),
        h('td', { class: 'reason' }, resultText));
    }), 'No runs yet.');
  }

  function renderHistory(events) {
    const arrow = (before, after) => before === undefined && after === undefined ? ''
      : before === after ? versionLabel(after) : `${versionLabel(before)} → ${versionLabel(after)}`;
    fillBody('history-table', events.map((e) => h('tr', null,
      h('td', { class: 'nowrap' }, when(e.at)),
      h('td', null, badge(e.kind, 'info')),
      h('td', null, versionLabel(e.version)),
      h('td', { class: 'nowrap' }, arrow(e.productionBefore, e.productionAfter)),
      h('td', { class: 'nowrap' }, arrow(e.stagingBefore, e.stagingAfter)),
      h('td', { class: 'mono' }, e.actor || ''),
      h('td', { class: 'reason' }, e.reason || ''))), 'No slot changes yet.');
  }

  // ---------- chart: the primary metric over versions ----------

  function niceTicks(min, max, count) {
    const span = max - min || Math.abs(max) || 1;
    const step0 = span / count;
    const mag = 10 ** Math.floor(Math.log10(step0));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= step0) || step0;
    const ticks = [];
    for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
    return ticks;
  }

  function renderChart(versions, spec, slots) {
    const figure = clear($('metric-chart'));
    const metric = spec.metric || (versions.find((v) => v.metric) || {}).metric || 'metric';
    const points = versions.filter((v) => Number.isFinite(num(v.value))).map((v) => ({ ...v, y: num(v.value) }))
      .sort((a, b) => a.version - b.version);
    if (points.length === 0) {
      figure.append(h('p', { class: 'muted' }, 'No version has a metric value yet.'));
      return;
    }
    const gate = num((spec.gates || {}).minMetric);
    const width = Math.max(260, Math.min(figure.clientWidth || 640, 1400));
    const height = 230;
    const pad = { left: 52, right: 16, top: 26, bottom: 36 };
    const values = points.map((p) => p.y).concat(gate !== null ? [gate] : []);
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    const margin = (hi - lo) * 0.12 || Math.abs(hi) * 0.05 || 0.05;
    lo -= margin; hi += margin;
    const ticks = niceTicks(lo, hi, 4);
    lo = Math.min(lo, ticks[0]); hi = Math.max(hi, ticks[ticks.length - 1]);
    const first = points[0].version;
    const last = points[points.length - 1].version;
    const inset = 18; // keeps the first and last points (and their labels) off the axes
    const x = (v) => pad.left + inset + (last === first ? (width - pad.left - pad.right) / 2 - inset
      : ((v - first) / (last - first)) * (width - pad.left - pad.right - 2 * inset));
    const y = (val) => pad.top + (1 - (val - lo) / (hi - lo)) * (height - pad.top - pad.bottom);

    const summary = `${metric} of ${points.length} version(s): ` + points.map((p) => `v${p.version} ${fmt(p.y)}`).join(', ') +
      (gate !== null ? `; gate minimum ${fmt(gate)}` : '');
    const svg = s('svg', { id: 'metric-chart-svg', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': summary, 'data-metric': metric });
    svg.append(s('title', null, summary));

    const grid = s('g', { class: 'grid' });
    for (const t of ticks) {
      grid.append(s('line', { x1: pad.left, x2: width - pad.right, y1: y(t), y2: y(t) }));
      grid.append(s('text', { x: pad.left - 6, y: y(t) + 4, 'text-anchor': 'end' }, fmt(t, 3)));
    }
    svg.append(grid);

    const axis = s('g', { class: 'axis' });
    axis.append(s('line', { x1: pad.left, x2: width - pad.right, y1: height - pad.bottom, y2: height - pad.bottom }));
    const labelEvery = Math.max(1, Math.ceil(points.length / Math.floor((width - pad.left - pad.right) / 36)));
    points.forEach((p, i) => {
      if (i % labelEvery === 0 || i === points.length - 1) {
        axis.append(s('text', { x: x(p.version), y: height - pad.bottom + 16, 'text-anchor': 'middle' }, `v${p.version}`));
      }
    });
    axis.append(s('text', { x: width - pad.right, y: height - 4, 'text-anchor': 'end' }, 'version'));
    axis.append(s('text', { x: 4, y: 14 }, metric));
    svg.append(axis);

    if (gate !== null) {
      svg.append(s('line', { class: 'gate', x1: pad.left, x2: width - pad.right, y1: y(gate), y2: y(gate) }));
      svg.append(s('text', { class: 'gate-label', x: width - pad.right, y: y(gate) - 5, 'text-anchor': 'end' }, `gate ${fmt(gate)}`));
    }

    if (points.length > 1) {
      svg.append(s('polyline', { class: 'series', points: points.map((p) => `${x(p.version)},${y(p.y)}`).join(' ') }));
    }

    const showLabels = points.length <= Math.floor((width - pad.left - pad.right) / 48);
    for (const p of points) {
      const slot = p.version === slots.production ? 'production' : p.version === slots.staging ? 'staging' : '';
      const circle = s('circle', {
        class: `point status-${p.status}${slot ? ` slot-${slot}` : ''}`, cx: x(p.version), cy: y(p.y), r: slot === 'production' ? 6 : 4.5,
        'data-version': p.version, 'data-value': p.y,
      }, s('title', null, `v${p.version}: ${p.metric || metric} ${fmt(p.y)} (${p.status}${slot ? `, ${slot}` : ''})`));
      svg.append(circle);
      if (showLabels) {
        svg.append(s('text', { class: 'point-label', x: x(p.version), y: y(p.y) - 10, 'text-anchor': 'middle', 'data-version': p.version }, fmt(p.y, 3)));
      }
    }

    figure.append(svg);
    const key = (cls, text) => h('span', { class: 'legend-item' }, s('svg', { width: 10, height: 10, viewBox: '0 0 10 10', 'aria-hidden': 'true' },
      s('circle', { class: cls, cx: 5, cy: 5, r: 4 })), text);
    figure.append(h('figcaption', null,
      h('span', { class: 'legend' }, key('legend-ok', 'production'), key('legend-accent', 'other versions'), key('legend-bad', 'rejected or declined')),
      `${metric} on each version's holdout rows${gate !== null ? '; the dashed line is the spec\'s minMetric gate' : ''}.`));
  }

  // ---------- one version ----------

  function renderVersion() {
    const d = state.versionData;
    $('version-panel').hidden = !d;
    if (!d || !changed('version', d)) return;
    const v = d.version || {};
    const lineage = v.lineage || {};
    const model = d.model || state.model;
    $('version-title').textContent = `${model} ${versionLabel(v.version)}`;
    const actions = clear($('version-actions'));
    if (v.status === 'awaiting-approval') append(actions, decisionButtons(model, v.version));

    facts('version-facts', [
      ['Status', badge(v.status)],
      ['Slot', d.slot ? badge(d.slot) : '—'],
      ['Reason', v.statusReason, true],
      ['Trainer', v.trainer],
      [v.metric || 'Metric', fmt(v.metricValue)],
      ['Rows (train / validation / holdout)', `${fmt(v.trainRows)} / ${fmt(v.validationRows)} / ${fmt(v.holdoutRows)}`],
      ['Compared with', v.champion ? versionLabel(v.champion) : 'no champion'],
      ['Created', when(v.createdAt)],
    ]);

    renderGates(v.gates || []);
    renderMetrics(v.metrics || {}, v.championMetrics || {});
    renderCandidates(d.evaluation);
    renderLineage(v, lineage);
    renderProfile(d.profile);
    renderDrift(d.validation);
    renderAnomalies(d.validation, v.validation);
  }

  function gateResult(g) {
    if (g.undecided) return badge('undecided', 'warn');
    return g.passed ? badge('passed', 'ok') : badge('failed', 'bad');
  }

  // A small picture of the delta's confidence interval against zero: where a person sees "better, and by how much".
  function intervalCell(g) {
    const lower = num(g.lower);
    const upper = num(g.upper);
    if (lower === null || upper === null) return '';
    const delta = num(g.delta);
    const conf = num(g.confidence);
    const lo = Math.min(lower, 0, delta ?? 0);
    const hi = Math.max(upper, 0, delta ?? 0);
    const span = hi - lo || 1;
    const w = 110;
    const px = (val) => 5 + ((val - lo) / span) * (w - 10);
    const text = `[${fmtSigned(lower)}, ${fmtSigned(upper)}]${conf !== null ? ` at ${fmt(conf * 100)}%` : ''}`;
    return h('div', { class: 'interval' },
      h('span', null, text),
      s('svg', { width: w, height: 14, viewBox: `0 0 ${w} 14`, role: 'img', 'aria-label': `Interval ${text}, zero marked` },
        s('line', { class: 'axis', x1: 0, x2: w, y1: 7, y2: 7 }),
        s('line', { class: 'zero', x1: px(0), x2: px(0), y1: 0, y2: 14 }),
        s('line', { class: 'ci', x1: px(lower), x2: px(upper), y1: 7, y2: 7 }),
        delta !== null ? s('circle', { cx: px(delta), cy: 7, r: 3 }) : null));
  }

  function renderGates(gates) {
    fillBody('gates-table', gates.map((g) => h('tr', { 'data-gate': g.gate },
      h('th', { scope: 'row' }, g.gate, g.metric ? h('span', { class: 'sub' }, g.metric) : null),
      h('td', { class: 'decision' }, gateResult(g), h('span', { class: 'sub' }, g.reason || '')),
      h('td', { class: 'num' }, fmt(g.value)),
      h('td', { class: 'num' }, fmt(g.threshold)),
      h('td', { class: 'num' }, fmt(g.baseline)),
      h('td', { class: 'num' }, fmtSigned(g.delta)),
      h('td', null, intervalCell(g)),
      h('td', { class: 'num' }, fmt(g.rows)))), 'No gate decisions (the version did not reach evaluation).');
  }

  function renderMetrics(metrics, champion) {
    const names = [...new Set([...Object.keys(metrics), ...Object.keys(champion)])];
    fillBody('metrics-table', names.map((name) => h('tr', null,
      h('th', { scope: 'row' }, name),
      h('td', { class: 'num' }, fmt(metrics[name])),
      h('td', { class: 'num' }, fmt(champion[name])))), 'No metrics.');
  }

  function renderCandidates(evaluation) {
    const candidates = (evaluation && evaluation.candidates) || [];
    const chosen = evaluation && evaluation.chosen;
    fillBody('candidates-table', candidates.map((c) => h('tr', { class: c.name === chosen ? 'selected' : null },
      h('th', { scope: 'row' }, c.name),
      h('td', null, c.trainer || ''),
      h('td', { class: 'num' }, c.error ? '' : fmt(c.value)),
      h('td', { class: 'num' }, fmt(c.trainRows)),
      h('td', { class: 'num' }, fmt(c.fitSeconds ?? c.seconds, 2)),
      h('td', null, c.name === chosen ? badge('chosen', 'ok') : c.error ? badge('failed', 'bad') : ''))),
    'No candidates recorded.');
  }

  function renderLineage(v, lineage) {
    facts('lineage', [
      ['Source', h('span', { class: 'mono' }, lineage.source || '')],
      ['Trigger', lineage.trigger],
      ['Run', h('span', { class: 'mono' }, v.runId || '')],
      ['Training window', lineage.window],
      ['Seed', lineage.seed],
      ['Holdout / validation', lineage.holdoutFraction !== undefined ? `${fmt(lineage.holdoutFraction)} / ${fmt(lineage.validationFraction)}` : ''],
      ['Spec SHA-256', lineage.specSha256 ? h('span', { class: 'mono', title: lineage.specSha256 }, lineage.specSha256.slice(0, 12)) : ''],
      ['Model', v.modelBlob ? h('span', { class: 'mono' }, v.modelBlob) : ''],
      ['Model SHA-256', v.modelSha256 ? h('span', { class: 'mono', title: v.modelSha256 }, v.modelSha256.slice(0, 12)) : ''],
      ['App version', lineage.appVersion ? h('span', { class: 'mono' }, lineage.appVersion.replace(/\+(.{8}).*$/, '+$1')) : ''],
      ['ML.NET', lineage.mlNetVersion],
    ]);
    const datasets = lineage.datasets || (lineage.dataset ? [{ dataset: lineage.dataset, sha256: lineage.datasetSha256 }] : []);
    fillBody('datasets-table', datasets.map((ds) => h('tr', null,
      h('td', { class: 'mono' }, ds.dataset),
      h('td', { class: 'mono', title: ds.sha256 || '' }, (ds.sha256 || '').slice(0, 12)),
      h('td', { class: 'num' }, fmt(ds.rows)))), 'No datasets recorded.');
  }

  function sparkline(histogram, column) {
    const counts = (histogram.counts || []).map((c) => num(c) || 0);
    const edges = histogram.edges || [];
    if (counts.length === 0) return '';
    const w = 120, hgt = 28;
    const max = Math.max(...counts) || 1;
    const bw = w / counts.length;
    const label = `Histogram of ${column}: ${counts.length} bins from ${fmt(edges[0])} to ${fmt(edges[edges.length - 1])}`;
    return s('svg', { class: 'spark', width: w, height: hgt, viewBox: `0 0 ${w} ${hgt}`, role: 'img', 'aria-label': label },
      s('title', null, label),
      counts.map((c, i) => s('rect', { x: i * bw + 0.5, width: Math.max(bw - 1, 0.5), y: hgt - (c / max) * (hgt - 2), height: (c / max) * (hgt - 2) },
        s('title', null, `${fmt(edges[i])} – ${fmt(edges[i + 1])}: ${fmt(c)}`))),
      s('line', { class: 'spark-base', x1: 0, x2: w, y1: hgt - 0.5, y2: hgt - 0.5 }));
  }

  function categoryBars(top, count) {
    const items = top.slice(0, 4);
    const total = num(count) || items.reduce((a, c) => a + (num(c.count) || 0), 0) || 1;
    return h('div', { class: 'bars' }, items.map((c) => h('div', { class: 'bar-row' },
      h('span', { title: c.value }, c.value),
      s('svg', { width: 60, height: 10, viewBox: '0 0 60 10', 'aria-hidden': 'true' },
        s('rect', { x: 0, y: 1, height: 8, width: Math.max(1, ((num(c.count) || 0) / total) * 60) })),
      h('span', null, `${fmt(((num(c.count) || 0) / total) * 100, 1)}%`))),
    top.length > items.length ? h('span', { class: 'muted' }, `+${top.length - items.length} more`) : null);
  }

  function renderProfile(profile) {
    const columns = (profile && profile.columns) || [];
    fillBody('profile-table', columns.map((c) => h('tr', { 'data-column': c.name },
      h('th', { scope: 'row' }, c.name),
      h('td', null, c.histogram ? sparkline(c.histogram, c.name) : c.topCategories ? categoryBars(c.topCategories, c.count) : ''),
      h('td', null, c.role || ''),
      h('td', null, c.kind || ''),
      h('td', { class: 'num' }, fmt(c.count)),
      h('td', { class: 'num' }, fmt(c.missing)),
      h('td', { class: 'num' }, fmt(c.min)),
      h('td', { class: 'num' }, fmt(c.max)),
      h('td', { class: 'num' }, fmt(c.mean)),
      h('td', { class: 'num' }, fmt(c.std)))),
    'No profile stored for this version.');
  }

  function psiCell(psi, level) {
    const value = num(psi) || 0;
    const w = 120, max = Math.max(0.5, value);
    return h('div', { class: 'psi' }, s('svg', { width: w, height: 12, viewBox: `0 0 ${w} 12`, 'aria-hidden': 'true' },
      s('rect', { class: 'track', x: 0, y: 2, width: w, height: 8 }),
      s('rect', { class: `fill-${level || 'ok'}`, x: 0, y: 2, width: Math.max(1, (value / max) * w), height: 8 }),
      s('line', { x1: (0.1 / max) * w, x2: (0.1 / max) * w, y1: 0, y2: 12 }),
      s('line', { x1: (0.2 / max) * w, x2: (0.2 / max) * w, y1: 0, y2: 12 })));
  }

  function renderDrift(validation) {
    const drift = (validation && validation.drift) || [];
    $('drift-note').textContent = drift.length
      ? `Population stability index (PSI) of each column of this version's data against the profile of ${validation.referenceVersion ? versionLabel(validation.referenceVersion) : 'the version before'}; ticks at 0.1 and 0.2.`
      : 'No drift measured: this data had no earlier version to compare with.';
    fillBody('drift-table', [...drift].sort((a, b) => (num(b.psi) || 0) - (num(a.psi) || 0)).map((d) => h('tr', { 'data-column': d.column },
      h('th', { scope: 'row' }, d.column),
      h('td', { class: 'num' }, fmt(d.psi)),
      h('td', null, badge(d.level)),
      h('td', null, psiCell(d.psi, d.level)))), 'No drift measured.');
  }

  function renderAnomalies(report, summary) {
    const list = clear($('anomalies'));
    const anomalies = (report && report.anomalies) || [];
    if (anomalies.length) {
      for (const a of anomalies) {
        list.append(h('li', null, badge(a.severity), ' ', a.column ? h('strong', null, `${a.column}: `) : '', a.message));
      }
    } else if (summary && summary.warnings) {
      for (const w of summary.warnings) list.append(h('li', null, badge('warning'), ' ', w));
    }
  }

  // ---------- served-traffic drift (GET /drift; its shape is read defensively) ----------

  function renderServedDrift(body) {
    $('served-drift').hidden = false;
    if (!changed('servedDrift', body)) return;
    const container = clear($('served-drift-body'));
    const reports = Array.isArray(body) ? body : (body && (body.reports || body.drift || body.items)) || [];
    if (!reports.length) {
      container.append(h('p', { class: 'muted' }, 'No drift reports yet: they appear once production serves captured traffic.'));
      return;
    }
    const featuresOf = (r) => {
      const raw = r.features || r.columns || r.drift || r.psi || [];
      return Array.isArray(raw)
        ? raw.map((f) => ({ column: f.column || f.feature || f.name, psi: num(f.psi ?? f.value), level: f.level }))
        : Object.entries(raw).map(([column, psi]) => ({ column, psi: num(typeof psi === 'object' && psi ? psi.psi : psi), level: psi && psi.level }));
    };
    const timeOf = (r) => r.at || r.hour || r.to || r.windowEnd || r.createdAt || r.from || '';
    const sorted = [...reports].sort((a, b) => String(timeOf(b)).localeCompare(String(timeOf(a))));
    const latest = sorted[0];
    const features = featuresOf(latest).filter((f) => f.column).sort((a, b) => (b.psi || 0) - (a.psi || 0));
    container.append(h('p', { class: 'muted' }, `Latest report ${when(timeOf(latest))}${latest.version ? ` for ${versionLabel(latest.version)}` : ''}${latest.rows !== undefined ? `, ${fmt(latest.rows)} rows` : ''}.`));
    container.append(h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Drift of served traffic per feature' },
      h('table', { class: 'data', id: 'served-drift-table' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Feature'), h('th', { scope: 'col', class: 'num' }, 'PSI'), h('th', { scope: 'col' }, 'Level'), h('th', { scope: 'col' }, 'Scale'))),
        h('tbody', null, features.length ? features.map((f) => h('tr', null,
          h('th', { scope: 'row' }, f.column), h('td', { class: 'num' }, fmt(f.psi)), h('td', null, f.level ? badge(f.level) : ''), h('td', null, psiCell(f.psi, f.level))))
          : h('tr', { class: 'empty-row' }, h('td', { colspan: 4 }, 'No features in the latest report.'))))));
  }

  // ---------- operator actions: confirm in a dialog, then call with the admin key ----------

  const ACTIONS = {
    approve: {
      title: (m, v) => `Approve ${m} v${v}?`,
      text: (m, v, slots) => `v${v} goes into production` + (slots.production ? `, replacing v${slots.production}, which moves to staging.` : '; the model has no production version yet.'),
      button: 'Approve', style: 'ok', reason: true, path: (m, v) => `models/${encodeURIComponent(m)}/versions/${v}/approve`,
    },
    reject: {
      title: (m, v) => `Reject ${m} v${v}?`,
      text: (m, v) => `v${v} is declined and leaves staging; production does not change.`,
      button: 'Reject', style: 'bad', reason: true, path: (m, v) => `models/${encodeURIComponent(m)}/versions/${v}/reject`,
    },
    swap: {
      title: (m) => `Swap the slots of ${m}?`,
      text: (m, v, slots) => `${versionLabel(slots.staging)} goes into production and ${versionLabel(slots.production)} to staging, at once for every caller.`,
      button: 'Swap', style: 'warn', path: (m) => `models/${encodeURIComponent(m)}/swap`,
    },
    rollback: {
      title: (m) => `Roll back ${m}?`,
      text: (m, v, slots) => `Production goes from ${versionLabel(slots.production)} back to ${versionLabel((slots.previousProduction || [])[0])}, the version it had before.`,
      button: 'Roll back', style: 'warn', path: (m) => `models/${encodeURIComponent(m)}/rollback`,
    },
  };

  let pending = null;
  let opener = null;

  function confirmAction(kind, model, version) {
    const action = ACTIONS[kind];
    pending = { kind, model, version };
    opener = document.activeElement;
    $('confirm-title').textContent = action.title(model, version);
    $('confirm-text').textContent = action.text(model, version, (state.modelData && state.modelData.slots) || {});
    $('confirm-ok').textContent = action.button;
    $('confirm-ok').className = action.style;
    $('confirm-ok').setAttribute('data-action', kind);
    $('confirm-ok').disabled = false;
    $('confirm-error').textContent = '';
    $('confirm-reason-row').hidden = !action.reason;
    $('confirm-reason').value = '';
    $('confirm-key').value = sessionStorage.getItem(ADMIN_KEY_STORE) || key();
    $('confirm-dialog').showModal();
    ($('confirm-key').value ? $('confirm-ok') : $('confirm-key')).focus();
  }

  function closeDialog() {
    pending = null;
    if ($('confirm-dialog').open) $('confirm-dialog').close();
    if (opener && document.contains(opener)) opener.focus();
  }

  async function submitDialog(event) {
    event.preventDefault();
    if (!pending) return;
    const { kind, model, version } = pending;
    const action = ACTIONS[kind];
    const adminKey = $('confirm-key').value.trim();
    if (!adminKey) {
      $('confirm-error').textContent = 'This action needs the admin key.';
      $('confirm-key').focus();
      return;
    }
    const reason = $('confirm-reason').value.trim();
    const path = action.path(model, version) + (action.reason && reason ? `?reason=${encodeURIComponent(reason)}` : '');
    $('confirm-ok').disabled = true;
    try {
      await api('POST', path, adminKey);
      sessionStorage.setItem(ADMIN_KEY_STORE, adminKey);
      closeDialog();
      setKeyStatus(`${action.button}: done for ${model}${version ? ` v${version}` : ''}.`);
      state.watchUntil = Date.now() + 60000;
      await refresh();
    } catch (error) {
      // The server's message, in the dialog, so the operator can fix the key or cancel.
      $('confirm-error').textContent = error instanceof ApiError && error.status ? `${error.message} (HTTP ${error.status})` : error.message;
      $('confirm-ok').disabled = false;
    }
  }

  // ---------- start ----------

  function resizeChart() {
    if (state.modelData) {
      delete state.rendered.chart;
      renderModel();
    }
  }

  function init() {
    $('key-input').value = key();
    $('key-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const value = $('key-input').value.trim();
      if (!value) {
        setKeyStatus('Enter a key first.');
        $('key-input').focus();
        return;
      }
      sessionStorage.setItem(KEY_STORE, value);
      setKeyStatus('Key saved for this browser tab.');
      state.rendered = {};
      refresh();
    });
    $('key-forget').addEventListener('click', () => {
      sessionStorage.removeItem(KEY_STORE);
      sessionStorage.removeItem(ADMIN_KEY_STORE);
      $('key-input').value = '';
      state.models = null;
      state.modelData = null;
      state.versionData = null;
      state.rendered = {};
      clearError();
      setKeyStatus('Key forgotten.');
      refresh();
    });
    $('refresh').addEventListener('click', () => { state.rendered = {}; refresh(); });
    $('error-close').addEventListener('click', clearError);
    $('swap-button').addEventListener('click', () => state.model && confirmAction('swap', state.model));
    $('rollback-button').addEventListener('click', () => state.model && confirmAction('rollback', state.model));
    $('confirm-form').addEventListener('submit', submitDialog);
    $('confirm-cancel').addEventListener('click', closeDialog);
    $('confirm-dialog').addEventListener('cancel', () => { pending = null; });
    window.addEventListener('hashchange', () => { focusAfterRoute = true; onRoute(); });
    let resizeTimer = null;
    window.addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(resizeChart, 150); });
    document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
    onRoute();
  }

  init();
})();
