using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// One run of a model: validate its files, plan the training window, train every candidate in parallel (bounded),
/// evaluate the best on validation against production on the same holdout rows, register it, stage it, and promote
/// it at once or after an approval. Production changes only in the last step, so a run that fails anywhere leaves
/// it as it was, and every failure marks the version failed with its reason. When the run ends it hands the model's
/// pending request (if any) on by continuing as new in the same instance: one run per model at a time.
/// </summary>
public sealed partial class TrainingPipeline : TaskOrchestrator<RunRequest, PipelineResult>
{
    /// <summary>Candidates trained at once: the machine's parallelism is the trainer's, not the orchestrator's.</summary>
    public const int MaxParallelCandidates = 2;

    private static readonly TaskOptions Retry = TaskOptions.FromRetryPolicy(new RetryPolicy(3, TimeSpan.FromSeconds(2)));

    public override async Task<PipelineResult> RunAsync(TaskOrchestrationContext context, RunRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var log = context.CreateReplaySafeLogger<TrainingPipeline>();
        var run = new RunState(context, input);
        PipelineResult result;
        try
        {
            result = await RunStagesAsync(context, input, run);
        }
        catch (Exception ex) when (ex is TaskFailedException or InvalidOperationException)
        {
            var reason = ex is TaskFailedException failed ? $"{failed.TaskName} failed: {failed.FailureDetails.ErrorMessage}" : ex.Message;
            LogFailed(log, input.RunId, reason);
            if (run.Version is { } version)
            {
                await context.CallActivityAsync(nameof(SetVersionStatusActivity),
                    new StatusInput(input.Model, version, VersionStatus.Failed, reason), Retry);
            }

            result = new PipelineResult(input.Model, Outcomes.Failed, run.Version, reason);
        }

        context.SetCustomStatus(new RunStatus(Stages.Done, result.Version, input.RunId));
        var next = await context.CallActivityAsync<RunRequest?>(nameof(FinishRunActivity),
            new FinishInput(input.Model, input.RunId, context.InstanceId, result), Retry);
        if (next is not null)
        {
            context.ContinueAsNew(next, preserveUnprocessedEvents: false);
        }

        return result;
    }

    private static async Task<PipelineResult> RunStagesAsync(TaskOrchestrationContext context, RunRequest input, RunState run)
    {
        var log = context.CreateReplaySafeLogger<TrainingPipeline>();
        await context.CallActivityAsync(nameof(StartRunActivity), new StartRunInput(input, context.InstanceId), Retry);

        run.Stage(Stages.Validating);
        var accepted = new List<DatasetRef>();
        var rejections = new List<ValidationOutcome>();
        foreach (var source in input.Sources)
        {
            var validation = await context.CallActivityAsync<ValidationOutcome>(
                nameof(ValidateDataActivity), new ValidateInput(input.Model, source, input.RunId), Retry);
            if (validation.Accepted)
            {
                accepted.Add(validation.Dataset!);
            }
            else
            {
                rejections.Add(validation);
                LogRejected(log, input.RunId, source, validation.Errors[0]);
            }
        }

        if (input.Sources.Count > 0 && accepted.Count == 0)
        {
            var first = rejections[0];
            return new PipelineResult(input.Model, Outcomes.DataRejected, null, first.Errors[0], Report: first.Report);
        }

        run.Stage(Stages.Preparing);
        var plan = await context.CallActivityAsync<TrainingPlan>(
            nameof(PrepareTrainingActivity), new PrepareInput(input, accepted, context.InstanceId), Retry);
        if (plan.Version is not { } version)
        {
            return new PipelineResult(input.Model, Outcomes.Skipped, null, plan.Skipped ?? "nothing to train");
        }

        run.Version = version;
        var candidates = await TrainCandidatesAsync(context, plan, run);
        var chosen = Choose(candidates, plan);
        if (chosen is null)
        {
            var reasons = string.Join("; ", candidates.Select(c => $"{c.Result.Name}: {c.Result.Error}"));
            throw new InvalidOperationException($"Every candidate failed ({reasons}).");
        }

        run.Stage(Stages.Evaluating);
        var evaluation = await context.CallActivityAsync<EvaluationOutcome>(nameof(EvaluateModelActivity), new EvaluateInput(plan, chosen), Retry);
        var spec = plan.Spec;
        var onIncomparable = spec.OnIncomparable ?? "manual";
        var (status, reason) = evaluation.Decision switch
        {
            EvaluationOutcome.Pass when spec.ManualPromotion => (VersionStatus.AwaitingApproval, "all gates passed; promotion is manual"),
            EvaluationOutcome.Pass => (VersionStatus.Passed, "all gates passed"),
            EvaluationOutcome.Undecided when onIncomparable == "promote" => (VersionStatus.Passed, Undecided(evaluation)),
            EvaluationOutcome.Undecided when onIncomparable == "manual" => (VersionStatus.AwaitingApproval, Undecided(evaluation)),
            _ => (VersionStatus.Rejected, evaluation.Gates.First(g => !g.Passed).Reason),
        };

        run.Stage(Stages.Registering);
        await context.CallActivityAsync(nameof(RegisterModelActivity), new RegisterInput(plan, chosen, candidates, evaluation, status, reason), Retry);
        if (status == VersionStatus.Rejected)
        {
            return new PipelineResult(input.Model, Outcomes.GatesFailed, version, reason, evaluation.Metric, evaluation.Value);
        }

        var actor = $"pipeline:{input.RunId}";
        run.Stage(Stages.Staging);
        await context.CallActivityAsync(nameof(StageModelActivity), new SlotInput(
            input.Model, version, actor, reason, input.RunId, status == VersionStatus.AwaitingApproval ? Stages.AwaitingApproval : Stages.Staging), Retry);
        if (status == VersionStatus.AwaitingApproval)
        {
            run.Stage(Stages.AwaitingApproval);
            var decision = await WaitForApprovalAsync(context, TimeSpan.FromHours(input.ApprovalTimeoutHours));
            if (decision?.Approved != true)
            {
                var declined = decision is null
                    ? $"no approval within {input.ApprovalTimeoutHours} h"
                    : $"rejected by {decision.Actor}: {decision.Reason ?? "no reason given"}";
                await context.CallActivityAsync(nameof(DeclineModelActivity), new SlotInput(input.Model, version, decision?.Actor ?? actor, declined), Retry);
                return new PipelineResult(input.Model, Outcomes.Declined, version, declined, evaluation.Metric, evaluation.Value);
            }

            await context.CallActivityAsync(nameof(SetVersionStatusActivity),
                new StatusInput(input.Model, version, VersionStatus.Approved, $"approved by {decision.Actor}"), Retry);
            actor = decision.Actor;
        }

        run.Stage(Stages.Promoting);
        var promoted = await context.CallActivityAsync<PromoteOutcome>(nameof(PromoteModelActivity),
            new PromoteInput(input.Model, version, actor, $"promoted by run {input.RunId}", evaluation.Champion, input.RunId), Retry);
        if (promoted.SmokeFailed)
        {
            await context.CallActivityAsync(nameof(DeclineModelActivity),
                new SlotInput(input.Model, version, actor, promoted.Reason) { Status = VersionStatus.Failed }, Retry);
            return new PipelineResult(input.Model, Outcomes.Failed, version, promoted.Reason, evaluation.Metric, evaluation.Value);
        }

        if (!promoted.Promoted)
        {
            // Production moved (an operator swapped or rolled back) after the comparison: judge again, once.
            evaluation = await context.CallActivityAsync<EvaluationOutcome>(nameof(EvaluateModelActivity), new EvaluateInput(plan, chosen), Retry);
            if (!evaluation.Passed)
            {
                var stale = $"{promoted.Reason}; against the new production: {evaluation.Gates.FirstOrDefault(g => !g.Passed)?.Reason ?? evaluation.Decision}";
                await context.CallActivityAsync(nameof(DeclineModelActivity), new SlotInput(input.Model, version, actor, stale), Retry);
                return new PipelineResult(input.Model, Outcomes.GatesFailed, version, stale, evaluation.Metric, evaluation.Value);
            }

            promoted = await context.CallActivityAsync<PromoteOutcome>(nameof(PromoteModelActivity),
                new PromoteInput(input.Model, version, actor, $"promoted by run {input.RunId} after re-evaluation", evaluation.Champion, input.RunId), Retry);
            if (!promoted.Promoted)
            {
                await context.CallActivityAsync(nameof(DeclineModelActivity), new SlotInput(input.Model, version, actor, promoted.Reason), Retry);
                return new PipelineResult(input.Model, Outcomes.Declined, version, promoted.Reason, evaluation.Metric, evaluation.Value);
            }
        }

        LogPromoted(log, input.RunId, input.Model, version);
        return new PipelineResult(input.Model, Outcomes.Promoted, version, reason, evaluation.Metric, evaluation.Value);
    }

    /// <summary>Trains every candidate, at most <see cref="MaxParallelCandidates"/> at a time, publishing progress.</summary>
    private static async Task<List<CandidateOutcome>> TrainCandidatesAsync(TaskOrchestrationContext context, TrainingPlan plan, RunState run)
    {
        var total = plan.Candidates.Count;
        var outcomes = new List<CandidateOutcome>(total);
        var running = new Dictionary<Task<CandidateOutcome>, Training.Candidate>();
        var queue = new Queue<Training.Candidate>(plan.Candidates);
        run.Stage(Stages.Training, 0, total);
        while (queue.Count > 0 || running.Count > 0)
        {
            while (queue.Count > 0 && running.Count < MaxParallelCandidates)
            {
                var candidate = queue.Dequeue();
                running[context.CallActivityAsync<CandidateOutcome>(nameof(TrainCandidateActivity), new CandidateInput(plan, candidate), Retry)] = candidate;
            }

            var done = await Task.WhenAny(running.Keys);
            var trained = running[done];
            running.Remove(done);
            try
            {
                outcomes.Add(await done);
            }
            catch (TaskFailedException ex)
            {
                // Its retries are spent (e.g. the trainer process kept dying): this candidate failed, the run goes on.
                outcomes.Add(new CandidateOutcome(new CandidateResult(trained.Name, trained.Trainer, trained.Parameters, null, null, 0, 0, 0, 0,
                    ex.FailureDetails.ErrorMessage), null, null, null));
            }

            run.Stage(Stages.Training, outcomes.Count, total);
        }

        // Completion order varies; the catalog's order does not.
        return [.. plan.Candidates.Select(c => outcomes.First(o => o.Result.Name == c.Name))];
    }

    /// <summary>The best candidate on the validation rows by the primary metric; ties keep the catalog's order.</summary>
    internal static CandidateOutcome? Choose(IReadOnlyList<CandidateOutcome> candidates, TrainingPlan plan)
    {
        var metric = Evaluation.MetricCatalog.Primary(plan.Spec);
        var succeeded = candidates.Where(c => c.Succeeded).ToList();
        if (succeeded.Count == 0)
        {
            return null;
        }

        double Score(CandidateOutcome c) => c.Result.Value is { } v && double.IsFinite(v) ? (metric.HigherIsBetter ? v : -v) : double.NegativeInfinity;
        var best = succeeded[0];
        foreach (var candidate in succeeded.Skip(1))
        {
            if (Score(candidate) > Score(best))
            {
                best = candidate;
            }
        }

        return best;
    }

    private static string Undecided(EvaluationOutcome evaluation) => evaluation.Gates.First(g => g.Undecided).Reason;

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

    /// <summary>The run's version once reserved, and its stage published as the custom status.</summary>
    private sealed class RunState(TaskOrchestrationContext context, RunRequest input)
    {
        public int? Version { get; set; }

        public void Stage(string stage, int? done = null, int? total = null) =>
            context.SetCustomStatus(new RunStatus(stage, Version, input.RunId, done, total));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId}: data {Source} rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string runId, string source, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId}: {Model} v{Version} is in production")]
    private static partial void LogPromoted(ILogger logger, string runId, string model, int version);

    [LoggerMessage(Level = LogLevel.Error, Message = "Run {RunId} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string runId, string reason);
}
