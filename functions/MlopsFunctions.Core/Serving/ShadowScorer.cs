using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Serving;

/// <summary>
/// Shadow release: a copy of each production request is scored by the staged version in the background and compared
/// with what production answered (same label for classification, absolute score difference for regression). The
/// caller never waits: requests are handed over through a bounded channel and dropped (counted) when it is full, and
/// one consumer does the scoring, so shadow work takes at most one core's worth of time from serving.
/// </summary>
public sealed partial class ShadowScorer(ModelCache cache, ILogger<ShadowScorer> logger) : BackgroundService
{
    public const int QueueCapacity = 1024;

    private readonly Channel<ShadowItem> channel = Channel.CreateBounded<ShadowItem>(
        new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    private readonly HashSet<(string Model, int Version)> reported = [];
    private long pending;

    /// <summary>Requests queued or being scored (tests wait for zero).</summary>
    public long Pending => Interlocked.Read(ref pending);

    public void Enqueue(string model, int production, int staged, PredictBody body, IReadOnlyList<Prediction> answered, VersionCounters stagedCounters)
    {
        ArgumentNullException.ThrowIfNull(answered);
        ArgumentNullException.ThrowIfNull(stagedCounters);
        Interlocked.Increment(ref pending);
        if (!channel.Writer.TryWrite(new ShadowItem(model, production, staged, body, answered, stagedCounters)))
        {
            Interlocked.Decrement(ref pending);
            stagedCounters.ShadowDropped(answered.Count);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var item in channel.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await ScoreAsync(item, stoppingToken).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Decrement(ref pending);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ScoreAsync(ShadowItem item, CancellationToken ct)
    {
        var rows = item.Answered.Count;
        try
        {
            var staged = await cache.GetAsync(item.Model, item.Staged, ct).ConfigureAwait(false);
            var (parsed, problem) = PredictionService.ParseRows(item.Body.Utf8, staged.Featurizer);
            if (problem is not null)
            {
                // The staged version reads different columns than the request carries: it could not have answered it.
                item.Counters.ShadowFailed(rows);
                Report(item, problem.Message);
                return;
            }

            var regression = staged.Schema.Task == MlTask.Regression;
            int agreed = 0;
            double absError = 0;
            var shadows = staged.PredictAll(parsed!);
            for (var i = 0; i < rows; i++)
            {
                var shadow = shadows[i];
                if (regression)
                {
                    absError += Math.Abs(shadow.Score - item.Answered[i].Score);
                }
                else if (string.Equals(shadow.Label, item.Answered[i].Label, StringComparison.Ordinal))
                {
                    agreed++;
                }
            }

            item.Counters.Shadow(item.Production, regression, rows, agreed, absError);
        }
        catch (ModelUnavailableException ex)
        {
            item.Counters.ShadowFailed(rows);
            Report(item, ex.Message);
        }
    }

    /// <summary>Logs the first failure per staged version only (the counters keep the count): one consumer, so no lock.</summary>
    private void Report(ShadowItem item, string reason)
    {
        if (reported.Add((item.Model, item.Staged)))
        {
            LogCannotScore(logger, item.Model, item.Staged, reason);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shadow scoring of {Model} v{Version} failed (further failures are only counted): {Reason}")]
    private static partial void LogCannotScore(ILogger logger, string model, int version, string reason);

    private sealed record ShadowItem(string Model, int Production, int Staged, PredictBody Body, IReadOnlyList<Prediction> Answered, VersionCounters Counters);
}
