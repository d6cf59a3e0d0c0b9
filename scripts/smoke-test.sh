#!/usr/bin/env bash
# Smoke test of a deployed app: GET <base-url>/api/health until it answers HTTP 200 with JSON
# {"status": "healthy", ...}, or fail after the time limit. Used by .github/workflows/deploy.yml before
# and after the slot swap.
#
#   scripts/smoke-test.sh https://<host> [timeout-seconds=300] [interval-seconds=10]
set -euo pipefail

base_url=${1:?usage: smoke-test.sh https://<host> [timeout-seconds] [interval-seconds]}
timeout_s=${2:-300}
interval_s=${3:-10}
url="${base_url%/}/api/health"

command -v curl >/dev/null || { echo "smoke-test: curl is required" >&2; exit 2; }

body=$(mktemp)
err=$(mktemp)
trap 'rm -f "$body" "$err"' EXIT

is_healthy() {
  # jq when present; otherwise a tolerant match of "status": "healthy" in the JSON body.
  if command -v jq >/dev/null; then
    jq -e '.status == "healthy"' "$body" >/dev/null 2>&1
  else
    grep -Eq '"status"[[:space:]]*:[[:space:]]*"healthy"' "$body"
  fi
}

deadline=$((SECONDS + timeout_s))
attempt=0
while :; do
  attempt=$((attempt + 1))
  : >"$body"
  code=$(curl --silent --show-error --location --max-time 30 --output "$body" --write-out '%{http_code}' "$url" 2>"$err") || true
  if [[ "$code" == 200 ]] && is_healthy; then
    echo "smoke-test: OK: $url answered 200 healthy (attempt $attempt)"
    cat "$body"; echo
    exit 0
  fi
  echo "smoke-test: attempt $attempt: $url -> HTTP ${code:-000} $(head -c 300 "$body" | tr -d '\n')$(tr -d '\n' <"$err")"
  if (( SECONDS + interval_s > deadline )); then
    echo "smoke-test: FAIL: $url not healthy after ${timeout_s}s" >&2
    exit 1
  fi
  sleep "$interval_s"
done
