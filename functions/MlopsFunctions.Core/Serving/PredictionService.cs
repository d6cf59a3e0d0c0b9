using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Telemetry;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Serving;

/// <summary>
/// Answers a predict request from the version a slot points to (or, for a canary share of production requests, the
/// staged version), or explains exactly what is wrong with it; gives every row an id, and hands rows to capture and
/// shadow scoring without waiting for either.
/// </summary>
public sealed class PredictionService(
    ModelCache cache, ServingMonitor monitor, RequestCapture capture, ShadowScorer shadow, IOptions<MlopsOptions> options)
{
    /// <summary>Header naming the caller: its canary assignment is sticky (same key, same version) instead of random.</summary>
    public const string CallerHeader = "x-caller-id";

    private readonly long maxBodyBytes = options.Value.MaxPredictBodyBytes;
    private readonly int maxRows = options.Value.MaxPredictRows;

    /// <summary>Reads a request body under Mlops__MaxPredictBodyBytes and Mlops__MaxPredictRows (413 beyond them).</summary>
    public Task<(PredictBody? Body, ApiProblem? Problem)> ReadBodyAsync(Stream body, long? contentLength, CancellationToken ct = default) =>
        PredictBody.ReadAsync(body, contentLength, maxBodyBytes, maxRows, ct);

    public Task<(PredictResponse? Response, ApiProblem? Problem)> PredictAsync(string model, string slot, string body, CancellationToken ct = default) =>
        PredictAsync(model, slot, PredictBody.FromBytes(Encoding.UTF8.GetBytes(body)), null, ct);

    /// <summary>Answers a predict request; traced and measured only when telemetry listens (no cost otherwise).</summary>
    public Task<(PredictResponse? Response, ApiProblem? Problem)> PredictAsync(
        string model, string slot, PredictBody body, string? caller, CancellationToken ct = default) =>
        PredictionTelemetry.IsListening ? TracedAsync(model, slot, body, caller, ct) : AnswerAsync(model, slot, body, caller, ct);

    private async Task<(PredictResponse? Response, ApiProblem? Problem)> TracedAsync(
        string model, string slot, PredictBody body, string? caller, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var span = MlopsTelemetry.Source.StartActivity(PredictionTelemetry.SpanName, ActivityKind.Internal); // null unless sampled
        var outcome = PredictionTelemetry.Error;
        PredictResponse? response = null;
        try
        {
            var answer = await AnswerAsync(model, slot, body, caller, ct).ConfigureAwait(false);
            (response, outcome) = (answer.Response, answer.Problem?.Error ?? PredictionTelemetry.Ok);
            return answer;
        }
        catch (ModelUnavailableException)
        {
            outcome = PredictionTelemetry.ModelUnavailable;
            throw;
        }
        finally
        {
            PredictionTelemetry.Record(span, started, model, slot, response, outcome);
        }
    }

    private async Task<(PredictResponse? Response, ApiProblem? Problem)> AnswerAsync(
        string model, string slot, PredictBody body, string? caller, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!Slots.IsValid(slot))
        {
            return (null, ApiProblem.BadRequest("invalid-slot", $"Slot '{slot}' does not exist: use production or staging."));
        }

        var state = await cache.GetStateAsync(model, ct).ConfigureAwait(false);
        if (state.Slots[slot] is not { } version)
        {
            return (null, ApiProblem.NotFound("no-model-in-slot",
                $"Model '{model}' has no version in {slot}: define it with PUT /api/models/{model} and upload data to incoming/{model}/."));
        }

        var counters = monitor.For(model);
        var asCanary = false;
        LoadedModel? loaded = null;
        if (slot == Slots.Production && state.CanaryPercent > 0)
        {
            asCanary = Canary.Routes(model, caller, state.CanaryPercent);
            if (asCanary)
            {
                try
                {
                    loaded = await cache.GetAsync(model, state.Slots.Staging!.Value, ct).ConfigureAwait(false);
                    version = loaded.Version;
                }
                catch (ModelUnavailableException)
                {
                    asCanary = false; // a canary that cannot load falls back to production (the cache logged why)
                }
            }

            counters.Canary(asCanary);
        }

        loaded ??= await cache.GetAsync(model, version, ct).ConfigureAwait(false);
        var (rows, problem) = ParseRows(body.Utf8, loaded.Featurizer);
        if (problem is not null)
        {
            return (null, problem);
        }

        var predictions = loaded.PredictAll(rows!);
        var ids = new string[predictions.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = PredictionIds.Next();
        }

        var versionCounters = counters.Version(version);
        versionCounters.Answered(slot, asCanary);
        var response = new PredictResponse(model, version.ToString(CultureInfo.InvariantCulture), slot, ids, predictions);
        capture.Capture(response, version, DateTimeOffset.UtcNow, body, state.CaptureRate, versionCounters);
        if (state.Shadow && slot == Slots.Production && !asCanary)
        {
            var staged = state.Slots.Staging!.Value;
            shadow.Enqueue(model, version, staged, body, predictions, counters.Version(staged));
        }

        return (response, null);
    }

    /// <summary>Reads one JSON object or an array of them into model rows (see <see cref="RequestRows"/>).</summary>
    public static (List<ModelRow>? Rows, ApiProblem? Problem) ParseRows(string body, Featurizer featurizer) =>
        RequestRows.Parse(Encoding.UTF8.GetBytes(body ?? string.Empty), featurizer);

    /// <summary>The same, from UTF-8 bytes as they came off the wire (no transcoding to a string).</summary>
    public static (List<ModelRow>? Rows, ApiProblem? Problem) ParseRows(ReadOnlyMemory<byte> body, Featurizer featurizer) =>
        RequestRows.Parse(body.Span, featurizer);
}

/// <summary>
/// Canary assignment: with a caller key, FNV-1a (64-bit) of "{model}\n{key}" picks one of 10,000 buckets, so a caller
/// keeps its version for as long as the percentage stays; without one, each request draws at random.
/// </summary>
public static class Canary
{
    public static bool Routes(string model, string? caller, double percent)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (percent <= 0)
        {
            return false;
        }

        if (percent >= 100)
        {
            return true;
        }

        var bucket = string.IsNullOrEmpty(caller) ? Random.Shared.NextDouble() * 100 : Bucket(model, caller) / 100.0;
        return bucket < percent;
    }

    /// <summary>The caller's bucket, 0 to 9,999; stable across processes and machines (unlike string.GetHashCode).</summary>
    public static int Bucket(string model, string caller)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(caller);
        const ulong Prime = 1099511628211;
        var hash = 14695981039346656037;
        foreach (var c in model)
        {
            hash = (hash ^ c) * Prime;
        }

        hash = (hash ^ '\n') * Prime;
        foreach (var c in caller)
        {
            hash = (hash ^ c) * Prime;
        }

        return (int)(hash % 10_000);
    }
}
