using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Serving;

/// <summary>
/// Keeps loaded model versions and each model's slot pointers in memory. Pointers are re-read after a short TTL
/// (or at once after a local change), so a swap made by another instance reaches this one within seconds;
/// versions no slot points to any more are dropped.
/// </summary>
public sealed partial class ModelCache(ModelRegistry registry, ModelStore store, IOptions<MlopsOptions> options, ILogger<ModelCache> logger)
{
    private readonly ConcurrentDictionary<(string Model, int Version), Lazy<Task<LoadedModel>>> models = new();
    private readonly ConcurrentDictionary<string, (SlotState Slots, long At)> slots = new(StringComparer.Ordinal);

    public async Task<SlotState> GetSlotsAsync(string model, CancellationToken ct = default)
    {
        var ttl = TimeSpan.FromSeconds(options.Value.SlotCacheSeconds);
        if (slots.TryGetValue(model, out var cached) && Stopwatch.GetElapsedTime(cached.At) < ttl)
        {
            return cached.Slots;
        }

        var fresh = await registry.GetSlotsAsync(model, ct).ConfigureAwait(false);
        slots[model] = (fresh, Stopwatch.GetTimestamp());
        Evict(model, fresh);
        return fresh;
    }

    /// <summary>Forget a model's pointers after this instance changed them.</summary>
    public void InvalidateSlots(string model) => slots.TryRemove(model, out _);

    public async Task<LoadedModel> GetAsync(string model, int version, CancellationToken ct = default)
    {
        var lazy = models.GetOrAdd((model, version), key => new Lazy<Task<LoadedModel>>(() => LoadAsync(key.Model, key.Version)));
        try
        {
            return await lazy.Value.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (Exception) when (lazy.Value.IsFaulted)
        {
            models.TryRemove(new KeyValuePair<(string, int), Lazy<Task<LoadedModel>>>((model, version), lazy));
            throw;
        }
    }

    private async Task<LoadedModel> LoadAsync(string model, int version)
    {
        var record = await registry.GetVersionAsync(model, version).ConfigureAwait(false)
            ?? throw new ModelUnavailableException($"Version {version} of '{model}' is not in the registry.");
        try
        {
            var (transformer, schema) = await store.LoadAsync(model, record).ConfigureAwait(false);
            LogLoaded(logger, model, version);
            return new LoadedModel(version, schema, transformer);
        }
        catch (ModelUnavailableException ex)
        {
            LogUnavailable(logger, ex, model, version);
            throw;
        }
    }

    private void Evict(string model, SlotState current)
    {
        foreach (var key in models.Keys.Where(k => k.Model == model && k.Version != current.Production && k.Version != current.Staging))
        {
            models.TryRemove(key, out _);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded model {Model} v{Version} for serving")]
    private static partial void LogLoaded(ILogger logger, string model, int version);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {Model} v{Version} cannot be served")]
    private static partial void LogUnavailable(ILogger logger, Exception exception, string model, int version);
}
