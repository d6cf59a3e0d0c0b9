using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// The pipeline of one file: validate, train, evaluate, register, stage, then promote (at once, or after an
/// operator approves). Production changes only in the last step, so a run that fails anywhere leaves it as it was.
/// </summary>
public sealed partial class TrainingPipeline : TaskOrchestrator<PipelineInput, PipelineResult>
{
    private static readonly TaskOptions Retry = TaskOptions.FromRetryPolicy(new RetryPolicy(3, TimeSpan.FromSeconds(2)));

    public override async Task<PipelineResult> RunAsync(TaskOrchestrationContext context, PipelineInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var log = context.CreateReplaySafeLogger<TrainingPipeline>();
        var runId = context.InstanceId;

        context.SetCustomStatus(new RunStatus("validating"));
        var validation = await context.CallActivityAsync<ValidationOutcome>(
            nameof(ValidateDataActivity), new ValidateInput(input.Model, input.Source, runId), Retry);
        if (!validation.Accepted)
        {
            context.SetCustomStatus(new RunStatus("done"));
            LogRejected(log, runId, input.Source, validation.Errors[0]);
            return new PipelineResult(input.Model, Outcomes.DataRejected, null, validation.Errors[0], Report: validation.Report);
        }

        context.SetCustomStatus(new RunStatus("training"));
        var trained = await context.CallActivityAsync<TrainOutcome>(nameof(TrainModelActivity), new TrainInput(
            input.Model, runId, input.Trigger, input.Source, validation.Dataset!, validation.DatasetSha256!,
            validation.Spec!, validation.Schema!, validation.Summary!), Retry);
        var version = trained.Version;
        EvaluationOutcome evaluation;
        try
        {
            context.SetCustomStatus(new RunStatus("evaluating", version));
            evaluation = await context.CallActivityAsync<EvaluationOutcome>(
                nameof(EvaluateModelActivity), new EvaluateInput(input.Model, version), Retry);

            context.SetCustomStatus(new RunStatus("registering", version));
            await context.CallActivityAsync(nameof(RegisterModelActivity),
                new RegisterInput(input.Model, version, evaluation, validation.Spec!.ManualPromotion), Retry);
        }
        catch (TaskFailedException ex)
        {
            await context.CallActivityAsync(nameof(SetVersionStatusActivity),
                new StatusInput(input.Model, version, Registry.VersionStatus.Failed, ex.FailureDetails.ErrorMessage), Retry);
            throw;
        }

        if (!evaluation.Passed)
        {
            context.SetCustomStatus(new RunStatus("done", version));
            var failed = evaluation.Gates.First(g => !g.Passed);
            return new PipelineResult(input.Model, Outcomes.GatesFailed, version, failed.Reason, evaluation.Metric, evaluation.Value);
        }

        var actor = $"pipeline:{runId}";
        context.SetCustomStatus(new RunStatus("staging", version));
        await context.CallActivityAsync(nameof(StageModelActivity),
            new SlotInput(input.Model, version, actor, "all gates passed"), Retry);

        if (validation.Spec.ManualPromotion)
        {
            context.SetCustomStatus(new RunStatus("awaiting-approval", version));
            var decision = await WaitForApprovalAsync(context, TimeSpan.FromHours(input.ApprovalTimeoutHours));
            if (decision?.Approved != true)
            {
                var reason = decision is null
                    ? $"no approval within {input.ApprovalTimeoutHours} h"
                    : $"rejected by {decision.Actor}: {decision.Reason ?? "no reason given"}";
                await context.CallActivityAsync(nameof(DeclineModelActivity),
                    new SlotInput(input.Model, version, decision?.Actor ?? actor, reason), Retry);
                context.SetCustomStatus(new RunStatus("done", version));
                return new PipelineResult(input.Model, Outcomes.Declined, version, reason, evaluation.Metric, evaluation.Value);
            }

            await context.CallActivityAsync(nameof(SetVersionStatusActivity), new StatusInput(
                input.Model, version, Registry.VersionStatus.Approved, $"approved by {decision.Actor}"), Retry);
            actor = decision.Actor;
        }

        context.SetCustomStatus(new RunStatus("promoting", version));
        await context.CallActivityAsync(nameof(PromoteModelActivity),
            new SlotInput(input.Model, version, actor, $"promoted by run {runId}"), Retry);
        context.SetCustomStatus(new RunStatus("done", version));
        LogPromoted(log, runId, input.Model, version);
        return new PipelineResult(input.Model, Outcomes.Promoted, version, "all gates passed", evaluation.Metric, evaluation.Value);
    }

    /// <summary>The operator's decision, or null when none came in time.</summary>
    /// <remarks>
    /// The SDK's timeout overload is used on purpose: a hand-written Task.WhenAny of the event and a timer did not
    /// resume on the event (reproduced with DurableTaskTestHost, Durable Task SDK 1.28).
    /// </remarks>
    private static async Task<ApprovalDecision?> WaitForApprovalAsync(TaskOrchestrationContext context, TimeSpan timeout)
    {
        try
        {
            return await context.WaitForExternalEvent<ApprovalDecision>(RunIds.ApprovalEvent, timeout);
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId}: data {Source} rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string runId, string source, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId}: {Model} v{Version} is in production")]
    private static partial void LogPromoted(ILogger logger, string runId, string model, int version);
}
