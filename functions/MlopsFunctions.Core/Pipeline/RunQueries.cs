using System.Text.Json;
using Microsoft.DurableTask.Client;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>Pipeline runs as the HTTP API shows them, read from the durable task hub.</summary>
public static class RunQueries
{
    public const int MaxRuns = 100;

    public static async Task<RunView?> GetAsync(DurableTaskClient client, string instanceId, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var instance = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, ct).ConfigureAwait(false);
        return instance is null ? null : ToView(instance);
    }

    /// <summary>A model's runs, newest first.</summary>
    public static async Task<IReadOnlyList<RunView>> ListAsync(DurableTaskClient client, string model, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var query = new OrchestrationQuery { InstanceIdPrefix = RunIds.Prefix(model), FetchInputsAndOutputs = true, PageSize = MaxRuns };
        var runs = new List<RunView>();
        await foreach (var instance in client.GetAllInstancesAsync(query).WithCancellation(ct).ConfigureAwait(false))
        {
            runs.Add(ToView(instance));
        }

        return runs.OrderByDescending(r => r.CreatedAt).Take(MaxRuns).ToList();
    }

    private static RunView ToView(OrchestrationMetadata instance) => new(
        instance.InstanceId,
        instance.Name,
        instance.RuntimeStatus.ToString(),
        instance.CreatedAt,
        instance.LastUpdatedAt,
        Parse<RunStatus>(instance.SerializedCustomStatus)?.Stage,
        Parse<PipelineInput>(instance.SerializedInput),
        Parse<PipelineResult>(instance.SerializedOutput),
        instance.FailureDetails is { } failure ? $"{failure.ErrorType}: {failure.ErrorMessage}" : null);

    private static T? Parse<T>(string? json)
        where T : class
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<T>(json, Json.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>A pipeline run: runtime status, current stage, input, result or error.</summary>
public sealed record RunView(
    string InstanceId,
    string Name,
    string RuntimeStatus,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUpdatedAt,
    string? Stage,
    PipelineInput? Input,
    PipelineResult? Result,
    string? Error);
