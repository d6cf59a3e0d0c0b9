using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Serving;

/// <summary>
/// Keeps loaded model versions and each model's serving state (slot pointers and the spec's capture, canary and shadow
/// settings) in memory, so a prediction reads no storage. The state is re-read after a short TTL, by one request at a
/// time, or at once after a local change; a version a new state points to is loaded and warmed before the state is
/// published, so a release never makes requests wait for a model load. When the registry cannot be read, the last
/// known state keeps serving.
/// </summary>
public sealed partial class ModelCache(ModelRegistry registry, ModelStore store, IOptions<MlopsOptions> options, ILogger<ModelCache> logger)
{
    private readonly ConcurrentDictionary<(string Model, int Version), Lazy<Task<LoadedModel>>> models = new();
    private readonly ConcurrentDictionary<string, Entry> states = new(StringComparer.Ordinal);
    private readonly long ttlTicks = (long)(options.Value.SlotCacheSeconds * Stopwatch.Frequency);

    /// <summary>
    /// The model's serving state, from memory. Once it is older than the TTL, one refresh starts and requests keep the
    /// last state until the new one is read and its versions are warm (a change made elsewhere shows within the TTL
    /// plus one read). After a change made here, requests wait for that refresh instead, so they never see the old state.
    /// </summary>
    public ValueTask<ServingState> GetStateAsync(string model, CancellationToken ct = default)
    {
        if (states.TryGetValue(model, out var entry) && entry.State is { } state && !Volatile.Read(ref entry.Invalidated))
        {
            if (Stopwatch.GetTimestamp() - Volatile.Read(ref entry.FetchedAt) >= ttlTicks)
            {
                _ = RefreshAsync(model);
            }

            return ValueTask.FromResult(state);
        }

        return new ValueTask<ServingState>(RefreshAsync(model).WaitAsync(ct));
    }

    public async Task<SlotState> GetSlotsAsync(string model, CancellationToken ct = default) =>
        (await GetStateAsync(model, ct).ConfigureAwait(false)).Slots;

    /// <summary>Forget a model's state after this instance changed it: the next request reads the registry again.</summary>
    public void InvalidateSlots(string model)
    {
        var entry = states.GetOrAdd(model, _ => new Entry());
        lock (entry)
        {
            entry.Generation++;
            entry.FetchedAt = long.MinValue / 2;
            entry.Invalidated = true;
        }
    }

    /// <summary>
    /// Invalidates, then reads and publishes the new state now (loading and warming its versions), so the caller's
    /// change is served on this instance when this returns.
    /// </summary>
    public Task<ServingState> ReloadAsync(string model, CancellationToken ct = default)
    {
        InvalidateSlots(model);
        return RefreshAsync(model).WaitAsync(ct);
    }

    public async Task<LoadedModel> GetAsync(string model, int version, CancellationToken ct = default)
    {
        var lazy = models.GetOrAdd((model, version), key => new Lazy<Task<LoadedModel>>(() => LoadAsync(key.Model, key.Version)));
        var task = lazy.Value;
        if (task.IsCompletedSuccessfully)
        {
            return task.Result;
        }

        try
        {
            return await task.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (Exception) when (task.IsFaulted)
        {
            models.TryRemove(new KeyValuePair<(string, int), Lazy<Task<LoadedModel>>>((model, version), lazy));
            throw;
        }
    }

    /// <summary>Hands over a version already loaded and checked (by the smoke test), so a release does not load it twice.</summary>
    public void Offer(string model, LoadedModel loaded)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        models.TryAdd((model, loaded.Version), new Lazy<Task<LoadedModel>>(Task.FromResult(loaded)));
    }

    private Task<ServingState> RefreshAsync(string model)
    {
        var entry = states.GetOrAdd(model, _ => new Entry());
        lock (entry)
        {
            if (entry.Refresh is { IsCompleted: false } running && entry.RefreshGeneration == entry.Generation)
            {
                return running; // single flight: one registry read per model at a time
            }

            if (entry.State is { } state && !entry.Invalidated && Stopwatch.GetTimestamp() - entry.FetchedAt < ttlTicks)
            {
                return Task.FromResult(state);
            }

            entry.RefreshGeneration = entry.Generation;
            return entry.Refresh = Task.Run(() => ReadAsync(model, entry, entry.Generation));
        }
    }

    private async Task<ServingState> ReadAsync(string model, Entry entry, long generation)
    {
        ServingState fresh;
        try
        {
            var (slots, spec) = await registry.GetServingStateAsync(model).ConfigureAwait(false);
            fresh = new ServingState(slots, spec);
        }
#pragma warning disable CA1031 // A storage blip of any kind must not fail predictions that the last known state can answer.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            lock (entry)
            {
                if (entry.State is { } last)
                {
                    LogRegistryUnreadable(logger, ex, model, last.Slots.Production);
                    entry.FetchedAt = Stopwatch.GetTimestamp(); // retry after one TTL, not on every request
                    entry.Invalidated = false;
                    return last;
                }
            }

            LogRegistryUnreadableCold(logger, ex, model);
            throw new ModelUnavailableException($"The registry of '{model}' cannot be read right now and this instance has not served it before; retry shortly.");
        }

        await WarmAsync(model, fresh).ConfigureAwait(false);
        ServingState? previous;
        lock (entry)
        {
            previous = entry.State;
            entry.State = fresh;

            // A local change made while this read was in flight invalidated it: publish, but read again next time.
            entry.FetchedAt = entry.Generation == generation ? Stopwatch.GetTimestamp() : long.MinValue / 2;
            entry.Invalidated = entry.Generation != generation;
        }

        if (previous is not null && (previous.Slots.Production != fresh.Slots.Production || previous.Slots.Staging != fresh.Slots.Staging))
        {
            LogSlotsChanged(logger, model, previous.Slots.Production, fresh.Slots.Production, previous.Slots.Staging, fresh.Slots.Staging);
        }

        Evict(model, previous, fresh);
        return fresh;
    }

    /// <summary>Loads and warms what the new state serves before it is published; a failure is logged and left to requests (503).</summary>
    private async Task WarmAsync(string model, ServingState state)
    {
        var versions = new List<int>(2);
        if (state.Slots.Production is { } production)
        {
            versions.Add(production);
        }

        if (state.Slots.Staging is { } staging && (state.CanaryPercent > 0 || state.Shadow))
        {
            versions.Add(staging);
        }

        foreach (var version in versions)
        {
            try
            {
                await GetAsync(model, version).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Logged in LoadAsync; requests for the version get the 503 with the reason.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    private async Task<LoadedModel> LoadAsync(string model, int version)
    {
        var record = await registry.GetVersionAsync(model, version).ConfigureAwait(false)
            ?? throw new ModelUnavailableException($"Version {version} of '{model}' is not in the registry.");
        try
        {
            var clock = Stopwatch.StartNew();
            var (transformer, schema) = await store.LoadAsync(model, record).ConfigureAwait(false);
            var loaded = new LoadedModel(version, schema, transformer);
            loaded.Warm(Environment.ProcessorCount);
            LogLoaded(logger, model, version, clock.ElapsedMilliseconds);
            return loaded;
        }
        catch (ModelUnavailableException ex)
        {
            LogUnavailable(logger, ex, model, version);
            throw;
        }
#pragma warning disable CA1031 // A model that loads but cannot predict is as unavailable as a missing one.
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            LogUnavailable(logger, ex, model, version);
            throw new ModelUnavailableException($"Version {version} of '{model}' cannot be loaded: {ex.Message}");
        }
    }

    /// <summary>Drops versions neither the new nor the previous state serves (one TTL of grace for requests that read the old one).</summary>
    private void Evict(string model, ServingState? previous, ServingState current)
    {
        foreach (var key in models.Keys.Where(k => k.Model == model && !Serves(current, k.Version) && !(previous is not null && Serves(previous, k.Version))))
        {
            models.TryRemove(key, out _);
        }

        static bool Serves(ServingState state, int version) => state.Slots.Production == version || state.Slots.Staging == version;
    }

    private sealed class Entry
    {
        public ServingState? State;
        public long FetchedAt = long.MinValue / 2;
        public long Generation;
        public bool Invalidated;
        public long RefreshGeneration = -1;
        public Task<ServingState>? Refresh;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded and warmed model {Model} v{Version} for serving in {ElapsedMs} ms")]
    private static partial void LogLoaded(ILogger logger, string model, int version, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {Model} v{Version} cannot be served")]
    private static partial void LogUnavailable(ILogger logger, Exception exception, string model, int version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving {Model}: production v{OldProduction} -> v{NewProduction}, staging v{OldStaging} -> v{NewStaging}")]
    private static partial void LogSlotsChanged(ILogger logger, string model, int? oldProduction, int? newProduction, int? oldStaging, int? newStaging);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Registry unreadable for {Model}; serving the last known state (production v{Production})")]
    private static partial void LogRegistryUnreadable(ILogger logger, Exception exception, string model, int? production);

    [LoggerMessage(Level = LogLevel.Error, Message = "Registry unreadable for {Model} and no state known yet")]
    private static partial void LogRegistryUnreadableCold(ILogger logger, Exception exception, string model);
}

/// <summary>What serving knows of a model between registry reads: slot pointers and the spec's serving settings.</summary>
public sealed record ServingState(SlotState Slots, ModelSpec? Spec)
{
    /// <summary>Share of predictions captured, 0 to 1 (spec monitoring.captureRate, default 1).</summary>
    public double CaptureRate { get; } = Math.Clamp(Spec?.Monitoring?.CaptureRate ?? 1.0, 0, 1);

    /// <summary>Percent of production requests the staged version answers; 0 without a distinct staged version.</summary>
    public double CanaryPercent { get; } = HasCandidate(Slots) ? Math.Clamp(Spec?.Canary?.Percent ?? 0, 0, 100) : 0;

    /// <summary>Whether the staged version scores a copy of production requests.</summary>
    public bool Shadow { get; } = HasCandidate(Slots) && Spec?.Shadow == true;

    private static bool HasCandidate(SlotState slots) => slots.Staging is { } s && s != slots.Production;
}
