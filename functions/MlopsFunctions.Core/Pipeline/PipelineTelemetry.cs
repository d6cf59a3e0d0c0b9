using System.Diagnostics;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MlopsFunctions.Core.Telemetry;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// Traces and measures the pipeline from its activities, never from the orchestrator (whose code replays): each
/// activity runs inside a span of its run's trace (<see cref="RunTrace"/>), and the finishing activity records the
/// run's root span and outcome. Registered once, around every activity of <see cref="MlopsTasks"/>, so the activities
/// themselves carry no telemetry code.
/// </summary>
public static class PipelineTelemetry
{
    public const string RunSpanName = nameof(TrainingPipeline);

    /// <summary>Adds the orchestrators of <paramref name="tasks"/> as they are and its activities wrapped in <see cref="TracedActivity"/>.</summary>
    public static DurableTaskRegistry AddTraced(this DurableTaskRegistry registry, DurableTaskRegistry tasks)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(tasks);
        foreach (var (name, factory) in tasks.GetOrchestrators())
        {
            // Orchestrators are built without DI (DESIGN.md section 9); the registry has no public factory overload with one.
            registry.AddOrchestrator(name, () => factory(NoServices.Instance));
        }

        foreach (var (name, factory) in tasks.GetActivities())
        {
            registry.AddActivity(name, services => new TracedActivity(factory(services), services));
        }

        foreach (var (name, factory) in tasks.GetEntities())
        {
            registry.AddEntity(name, factory);
        }

        return registry;
    }

    /// <summary>What an activity's input says about its run; null fields are not known from it.</summary>
    internal readonly record struct RunScope(string? Model, string? RunId, int? Version, string? Candidate, string? Trigger);

    internal static RunScope ScopeOf(object? input) => input switch
    {
        StartRunInput i => new(i.Request.Model, i.Request.RunId, null, null, i.Request.Trigger),
        ValidateInput i => new(i.Model, i.RunId, null, null, null),
        PrepareInput i => new(i.Request.Model, i.Request.RunId, null, null, i.Request.Trigger),
        CandidateInput i => new(i.Plan.Model, i.Plan.RunId, i.Plan.Version, i.Candidate.Name, null),
        EvaluateInput i => new(i.Plan.Model, i.Plan.RunId, i.Plan.Version, i.Chosen.Result.Name, null),
        RegisterInput i => new(i.Plan.Model, i.Plan.RunId, i.Plan.Version, i.Chosen.Result.Name, null),
        SlotInput i => new(i.Model, i.RunId, i.Version, null, null),
        PromoteInput i => new(i.Model, i.RunId, i.Version, null, null),
        StatusInput i => new(i.Model, null, i.Version, null, null),
        FinishInput i => new(i.Model, i.RunId, i.Result.Version, null, null),
        _ => default,
    };

    /// <summary>The stage an activity belongs to (the run's custom status names), for the stage-duration metric.</summary>
    internal static string StageOf(string activity, object? input) => activity switch
    {
        nameof(StartRunActivity) or nameof(ValidateDataActivity) => Stages.Validating,
        nameof(PrepareTrainingActivity) => Stages.Preparing,
        nameof(TrainCandidateActivity) => Stages.Training,
        nameof(EvaluateModelActivity) => Stages.Evaluating,
        nameof(RegisterModelActivity) or nameof(SetVersionStatusActivity) => Stages.Registering,
        nameof(StageModelActivity) => input is SlotInput { Stage: { } stage } ? stage : Stages.Staging,
        nameof(PromoteModelActivity) or nameof(DeclineModelActivity) => Stages.Promoting,
        nameof(FinishRunActivity) => Stages.Done,
        _ => "other",
    };

    /// <summary>
    /// The key under which an activity's duration is added to its run's timings (RunRecord.Timings), or null for
    /// activities the run does not time (candidates keep their own times; bookkeeping steps are not stages).
    /// </summary>
    internal static string? TimingOf(string activity) => activity switch
    {
        nameof(ValidateDataActivity) => Stages.Validating,
        nameof(PrepareTrainingActivity) => Stages.Preparing,
        nameof(EvaluateModelActivity) => Stages.Evaluating,
        nameof(RegisterModelActivity) => Stages.Registering,
        nameof(StageModelActivity) => Stages.Staging,
        nameof(PromoteModelActivity) => Stages.Promoting,
        _ => null,
    };

    /// <summary>A short, bounded word for what an activity decided (never its reason text, which can quote data).</summary>
    internal static string OutcomeOf(object? input, object? output) => output switch
    {
        ValidationOutcome o => o.Accepted ? "accepted" : "rejected",
        TrainingPlan p => p.Version is null ? Outcomes.Skipped : "planned",
        CandidateOutcome c => c.Succeeded ? "trained" : Outcomes.Failed,
        EvaluationOutcome e => e.Decision,
        PromoteOutcome p => p.Promoted ? Outcomes.Promoted : p.SmokeFailed ? "smoke-failed" : "production-changed",
        _ when input is FinishInput f => f.Result.Outcome,
        _ => "ok",
    };

    /// <summary>An <see cref="IServiceProvider"/> with no services, for orchestrators (which take none).</summary>
    private sealed class NoServices : IServiceProvider
    {
        public static readonly NoServices Instance = new();

        public object? GetService(Type serviceType) => null;
    }
}

/// <summary>
/// Runs a durable activity inside a span of its run's trace, records its stage duration (as a metric and in the run's
/// timings, so no activity times itself), and, around the run's
/// finishing activity, the run's root span and outcome. Telemetry never fails an activity: its own errors are logged.
/// </summary>
internal sealed partial class TracedActivity(ITaskActivity inner, IServiceProvider services) : ITaskActivity
{
    public Type InputType => inner.InputType;

    public Type OutputType => inner.OutputType;

    public async Task<object?> RunAsync(TaskActivityContext context, object? input)
    {
        ArgumentNullException.ThrowIfNull(context);
        var name = context.Name.Name;
        var scope = PipelineTelemetry.ScopeOf(input);
        var stage = PipelineTelemetry.StageOf(name, input);
        using var span = await StartSpanAsync(context, name, stage, scope).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        string outcome = "error";
        try
        {
            var output = await inner.RunAsync(context, input).ConfigureAwait(false);
            outcome = PipelineTelemetry.OutcomeOf(input, output);
            if (span is not null)
            {
                span.SetTag(TelemetryTags.Outcome, outcome);
                if (output is TrainingPlan { Version: { } version } plan)
                {
                    span.SetTag(TelemetryTags.Version, version);
                    span.SetTag(TelemetryTags.Candidates, plan.Candidates.Count);
                }
            }

            if (input is FinishInput finish)
            {
                await RecordRunAsync(finish).ConfigureAwait(false);
            }

            if (scope is { Model: { } model, RunId: { } runId } && PipelineTelemetry.TimingOf(name) is { } timing)
            {
                await RecordTimingAsync(model, runId, timing, Stopwatch.GetElapsedTime(started)).ConfigureAwait(false);
            }

            return output;
        }
        catch (Exception ex)
        {
            // The type only: an exception's message can quote the data (a value, a column, a path).
            span?.SetStatus(ActivityStatusCode.Error);
            span?.SetTag(TelemetryTags.ErrorType, ex.GetType().FullName);
            span?.SetTag(TelemetryTags.Outcome, outcome);
            throw;
        }
        finally
        {
            if (MlopsTelemetry.StageDuration.Enabled)
            {
                MlopsTelemetry.StageDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new TagList
                {
                    { TelemetryTags.Stage, stage },
                    { TelemetryTags.Activity, name },
                    { TelemetryTags.Model, scope.Model },
                    { TelemetryTags.Outcome, outcome },
                });
            }
        }
    }

    private async Task<Activity?> StartSpanAsync(TaskActivityContext context, string name, string stage, PipelineTelemetry.RunScope scope)
    {
        if (!MlopsTelemetry.Source.HasListeners())
        {
            return null;
        }

        // Decline and status changes carry no run id: the model's active run (single flight) is the one that asked.
        var runId = scope.RunId ?? await ActiveRunAsync(context, scope.Model).ConfigureAwait(false);
        ActivityLink[]? links = Activity.Current is { } current ? [new ActivityLink(current.Context)] : null;
        var span = MlopsTelemetry.Source.StartActivity(
            name, ActivityKind.Internal, runId is null ? default : RunTrace.ParentOf(runId), links: links);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(TelemetryTags.Model, scope.Model);
            span.SetTag(TelemetryTags.RunId, runId);
            span.SetTag(TelemetryTags.Stage, stage);
            span.SetTag(TelemetryTags.Activity, name);
            span.SetTag(TelemetryTags.Instance, context.InstanceId);
            if (scope.Version is { } version)
            {
                span.SetTag(TelemetryTags.Version, version);
            }

            if (scope.Candidate is { } candidate)
            {
                span.SetTag(TelemetryTags.Candidate, candidate);
            }

            if (scope.Trigger is { } trigger)
            {
                span.SetTag(TelemetryTags.Trigger, trigger);
            }
        }

        return span;
    }

    private async Task<string?> ActiveRunAsync(TaskActivityContext context, string? model)
    {
        if (model is null || services.GetService<SingleFlight>() is not { } queue)
        {
            return null;
        }

        try
        {
            var state = await queue.GetAsync(model).ConfigureAwait(false);
            return state.ActiveInstance == context.InstanceId ? state.Active : null;
        }
        catch (Exception ex) when (ex is Azure.RequestFailedException or InvalidOperationException or TimeoutException)
        {
            LogLookupFailed(Logger, ex.GetType().Name, model);
            return null;
        }
    }

    /// <summary>The run's outcome counter, its duration, and its root span from the times the runs table holds.</summary>
    private async Task RecordRunAsync(FinishInput finish)
    {
        var result = finish.Result;
        MlopsTelemetry.Runs.Add(1, new TagList { { TelemetryTags.Model, finish.Model }, { TelemetryTags.Outcome, result.Outcome } });
        if (!MlopsTelemetry.Source.HasListeners() && !MlopsTelemetry.RunDuration.Enabled)
        {
            return;
        }

        RunRecord? run;
        try
        {
            run = await services.GetRequiredService<RunStore>().GetAsync(finish.Model, finish.RunId).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is Azure.RequestFailedException or InvalidOperationException or TimeoutException)
        {
            LogLookupFailed(Logger, ex.GetType().Name, finish.Model);
            return;
        }

        if (run is null)
        {
            return;
        }

        var end = run.EndedAt ?? DateTimeOffset.UtcNow;
        // From creation, so queueing shows as the gap before the first activity and every activity span lies inside.
        var start = run.CreatedAt <= (run.StartedAt ?? end) ? run.CreatedAt : run.StartedAt ?? end;
        MlopsTelemetry.RunDuration.Record((end - start).TotalSeconds,
            new TagList { { TelemetryTags.Model, finish.Model }, { TelemetryTags.Outcome, result.Outcome } });
        RunTrace.RecordRoot(finish.RunId, PipelineTelemetry.RunSpanName, start, end,
        [
            new(TelemetryTags.Model, finish.Model),
            new(TelemetryTags.RunId, finish.RunId),
            new(TelemetryTags.Trigger, run.Trigger),
            new(TelemetryTags.Outcome, result.Outcome),
            new(TelemetryTags.Version, result.Version),
            new(TelemetryTags.Candidate, run.Chosen),
            new(TelemetryTags.Candidates, run.CandidatesTotal),
            new(TelemetryTags.Metric, result.Metric),
            new(TelemetryTags.MetricValue, result.Value),
            new(TelemetryTags.Instance, finish.InstanceId),
        ], failed: result.Outcome == Outcomes.Failed);
    }

    /// <summary>Adds the activity's duration to its run's timings; the work is done, so a failed write is only logged.</summary>
    private async Task RecordTimingAsync(string model, string runId, string timing, TimeSpan elapsed)
    {
        try
        {
            await services.GetRequiredService<RunStore>().RecordTimingAsync(model, runId, timing, elapsed).ConfigureAwait(false);
        }
        catch (Azure.RequestFailedException ex)
        {
            LogTimingFailed(Logger, ex.Status, runId, timing);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record the {Timing} time of run {RunId} (storage answered {Status})")]
    private static partial void LogTimingFailed(ILogger logger, int status, string runId, string timing);

    private ILogger Logger => services.GetService<ILogger<TracedActivity>>() ?? (ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telemetry: could not read the run of {Model} ({Error}); its span goes without it")]
    private static partial void LogLookupFailed(ILogger logger, string error, string model);
}
