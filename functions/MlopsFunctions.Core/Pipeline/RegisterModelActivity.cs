using Microsoft.DurableTask;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>Records the evaluation on the version (passed or rejected, with every gate decision) and stores it as a blob beside the model.</summary>
public sealed class RegisterModelActivity(BlobStore blobs, ModelRegistry registry) : TaskActivity<RegisterInput, string>
{
    public override async Task<string> RunAsync(TaskActivityContext context, RegisterInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var evaluation = input.Evaluation;
        var record = await registry.GetVersionAsync(input.Model, input.Version).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Version {input.Version} of '{input.Model}' is not registered.");
        var status = !evaluation.Passed ? VersionStatus.Rejected
            : input.ManualPromotion ? VersionStatus.AwaitingApproval
            : VersionStatus.Passed;
        var reason = evaluation.Passed ? "all gates passed" : evaluation.Gates.First(g => !g.Passed).Reason;
        await blobs.UploadJsonAsync(BlobPath.ModelFile(input.Model, input.Version, "evaluation.json"), evaluation).ConfigureAwait(false);
        await registry.UpdateVersionAsync(input.Model, record with
        {
            Status = status,
            StatusReason = reason,
            Metric = evaluation.Metric,
            MetricValue = evaluation.Value,
            Metrics = evaluation.Metrics,
            Gates = evaluation.Gates,
            Champion = evaluation.Champion,
            ChampionMetrics = evaluation.ChampionMetrics,
            UpdatedAt = DateTimeOffset.UtcNow,
        }).ConfigureAwait(false);
        return status;
    }
}
