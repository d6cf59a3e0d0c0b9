using System.Security.Cryptography;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>Starts pipeline runs for new files, schedules and retrain requests; what the triggers call.</summary>
public sealed partial class PipelineStarter(BlobStore blobs, ModelRegistry registry, IOptions<MlopsOptions> options, ILogger<PipelineStarter> logger)
{
    /// <summary>Starts the run of a file dropped at incoming/{model}/{name}; the same content twice is one run.</summary>
    public async Task<StartResult> StartFromBlobAsync(DurableTaskClient client, string model, string name, Stream content, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(content, ct).ConfigureAwait(false));
        if (!ModelName.IsValid(model))
        {
            // The name is never used as a path: the report goes under a fixed folder, named by a hash of the blob name.
            var source = $"{BlobPath.Incoming}/{model}/{name}";
            var nameHash = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(source)))[..16];
            var report = new BlobPath(BlobPath.Rejected, $"_invalid-model-name/{nameHash}.report.json");
            await blobs.UploadJsonAsync(report, new
            {
                source,
                accepted = false,
                errors = new[] { $"'{model}' is not a valid model name ({ModelName.Rule}): move the file to incoming/<model>/." },
                sha256 = sha,
            }, ct).ConfigureAwait(false);
            LogInvalidName(logger, source);
            return new StartResult(null, false, $"invalid model name; report at {report}");
        }

        var instanceId = RunIds.ForData(model, sha);
        return await StartAsync(client, instanceId, new PipelineInput(
            model, $"{BlobPath.Incoming}/{model}/{name}", "blob", "blob-trigger", options.Value.ApprovalTimeoutHours), ct).ConfigureAwait(false);
    }

    /// <summary>Retrains on the model's latest accepted dataset; null result problem when there is none.</summary>
    public async Task<(StartResult? Result, ApiProblem? Problem)> StartRetrainAsync(
        DurableTaskClient client, string model, string trigger, string instanceId, string actor, CancellationToken ct = default)
    {
        if (await registry.GetSpecAsync(model, ct).ConfigureAwait(false) is null)
        {
            return (null, ApiProblem.NotFound("model-not-found", $"Model '{model}' has no spec: define it with PUT /api/models/{model}."));
        }

        var dataset = await registry.GetLatestDatasetAsync(model, ct).ConfigureAwait(false);
        if (dataset is null)
        {
            return (null, ApiProblem.Conflict("no-data", $"Model '{model}' has no accepted data yet: upload a CSV to incoming/{model}/."));
        }

        var result = await StartAsync(client, instanceId,
            new PipelineInput(model, dataset, trigger, actor, options.Value.ApprovalTimeoutHours), ct).ConfigureAwait(false);
        return (result, null);
    }

    private async Task<StartResult> StartAsync(DurableTaskClient client, string instanceId, PipelineInput input, CancellationToken ct)
    {
        if (await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, ct).ConfigureAwait(false) is not null)
        {
            LogDuplicate(logger, instanceId, input.Source);
            return new StartResult(instanceId, false, "a run for this content already exists");
        }

        await client.ScheduleNewOrchestrationInstanceAsync(
            nameof(TrainingPipeline), input, new StartOrchestrationOptions(instanceId), ct).ConfigureAwait(false);
        LogStarted(logger, instanceId, input.Model, input.Source, input.Trigger);
        return new StartResult(instanceId, true, "started");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started run {InstanceId} for {Model} on {Source} ({Trigger})")]
    private static partial void LogStarted(ILogger logger, string instanceId, string model, string source, string trigger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {InstanceId} already exists; {Source} is not run again")]
    private static partial void LogDuplicate(ILogger logger, string instanceId, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored {Source}: its folder is not a valid model name")]
    private static partial void LogInvalidName(ILogger logger, string source);
}

/// <summary>Whether a run was started, its id, and why not when it was not.</summary>
public sealed record StartResult(string? InstanceId, bool Started, string Message);
