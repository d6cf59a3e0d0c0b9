using System.Threading.Channels;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MlopsFunctions.Core.Evaluation;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;
using Moq;
using Moq.Protected;

namespace MlopsFunctions.Tests.Unit;

/// <summary>
/// The training orchestrator's control flow with every activity mocked: the order of the steps, where it stops, the
/// bounded fan-out of candidates, approvals, and that every failure after the version is reserved marks it failed.
/// </summary>
public sealed class TrainingPipelineTests
{
    private const int Version = 4;
    private static readonly DateTime Now = new(2026, 11, 27, 0, 0, 0, DateTimeKind.Utc);
    private static readonly RunRequest Request = new("iris.data.abc-def", "iris", "blob", "blob-trigger", ["incoming/iris/a.csv"], Now, 72);

    private readonly Mock<TaskOrchestrationContext> context = new() { CallBase = true };
    private readonly List<(string Name, object? Input)> calls = [];
    private readonly List<RunStatus> statuses = [];
    private readonly Dictionary<string, double?> candidateValues = new() { ["A"] = 0.80, ["B"] = 0.92, ["C"] = 0.85 };
    private ModelSpec spec = new() { Task = "multiclass", Label = "species" };

    public TrainingPipelineTests()
    {
        context.Setup(c => c.InstanceId).Returns(Request.RunId);
        context.Setup(c => c.CurrentUtcDateTime).Returns(Now);
        context.Protected().Setup<ILoggerFactory>("LoggerFactory").Returns(NullLoggerFactory.Instance);
        context.Setup(c => c.SetCustomStatus(It.IsAny<object?>())).Callback<object?>(s => statuses.Add((RunStatus)s!));
        foreach (var name in new[] { "StartRunActivity", "RegisterModelActivity", "StageModelActivity", "SetVersionStatusActivity", "DeclineModelActivity" })
        {
            On<object>(name, _ => null!);
        }

        On("ValidateDataActivity", input => Accepted(((ValidateInput)input!).Source));
        On("PrepareTrainingActivity", _ => Plan());
        On("TrainCandidateActivity", input => Trained(((CandidateInput)input!).Candidate.Name));
        On("EvaluateModelActivity", _ => Evaluation(EvaluationOutcome.Pass));
        On("PromoteModelActivity", _ => new PromoteOutcome(true, Version, "swapped"));
        On<RunRequest>("FinishRunActivity", _ => null!);
    }

    private IEnumerable<string> Names => calls.Select(c => c.Name);

    private T Input<T>(string activity, int index = 0) => (T)calls.Where(c => c.Name == activity).ElementAt(index).Input!;

    private void On<T>(string activity, Func<object?, T> result) => OnAsync(activity, input => Task.FromResult(result(input)));

    private void OnAsync<T>(string activity, Func<object?, Task<T>> result) =>
        context.Setup(c => c.CallActivityAsync<T>(It.Is<TaskName>(n => n.Name == activity), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
            .Returns<TaskName, object?, TaskOptions?>((_, input, _) =>
            {
                calls.Add((activity, input));
                return result(input);
            });

    private static TaskFailedException Failure(string activity) =>
        new(activity, 7, new TaskFailureDetails("IOException", $"{activity} lost its disk", null, null, null));

    private void Fails<T>(string activity, Func<object?, bool>? when = null) =>
        OnAsync<T>(activity, input => when is null || when(input) ? Task.FromException<T>(Failure(activity)) : Task.FromResult<T>(default!));

    private static ValidationOutcome Accepted(string source) => new(true, [], $"{source}.report.json",
        new DatasetRef($"datasets/iris/{source.Length}.csv", "sha", 150, "schema.json", "profile.json", "report.json"));

    private TrainingPlan Plan(int? version = Version, string? skipped = null) => new(
        "iris", Request.RunId, version, version is null ? [] : [new DatasetRef("datasets/iris/sha.csv", "sha", 150, "s", "p", "r")],
        version is null ? null : "models/iris/4/data-schema.json", spec, 42, 0.2, 0.1, 105,
        version is null ? [] : candidateValues.Keys.Select(k => new Candidate(k, new Dictionary<string, double>())).ToList(), skipped);

    private CandidateOutcome Trained(string name) => candidateValues[name] is { } value
        ? new CandidateOutcome(Result(name, value, null), $"models/iris/4/candidates/{name}.zip", "sha-" + name, $"models/iris/4/candidates/{name}.schema.json")
        : new CandidateOutcome(Result(name, null, $"InvalidOperationException: {name} diverged"), null, null, null);

    private static CandidateResult Result(string name, double? value, string? error) =>
        new(name, name, new Dictionary<string, double>(), value is null ? null : new Dictionary<string, double> { ["m"] = value.Value }, value, 100, 15, 0.1, 0.2, error);

    private static EvaluationOutcome Evaluation(string decision, int? champion = 2) => new(
        "MacroAccuracy", 0.9, new Dictionary<string, double> { ["MacroAccuracy"] = 0.9 },
        decision switch
        {
            EvaluationOutcome.Pass => [new GateDecision("minImprovement", "MacroAccuracy", true, 0.9, 0, 0.8, 0.1, "better")],
            EvaluationOutcome.Undecided => [new GateDecision("minImprovement", "MacroAccuracy", false, 0.9, 0, null, null, "production v2 cannot be scored") { Undecided = true }],
            _ => [new GateDecision("minImprovement", "MacroAccuracy", false, 0.7, 0, 0.8, -0.1, "MacroAccuracy 0.7 vs production v2 0.8: worse")],
        },
        decision, champion, null, 30);

    private void Approval(ApprovalDecision? decision)
    {
        if (decision is null)
        {
            // No answer: the event never comes (its wait ends when cancelled) and the timeout timer fires.
            context.Setup(c => c.WaitForExternalEvent<ApprovalDecision>(RunIds.ApprovalEvent, It.IsAny<CancellationToken>()))
                .Returns<string, CancellationToken>((_, token) =>
                {
                    var never = new TaskCompletionSource<ApprovalDecision>();
                    token.Register(() => never.TrySetCanceled(token));
                    return never.Task;
                });
            context.Setup(c => c.CreateTimer(Now.AddHours(Request.ApprovalTimeoutHours), It.IsAny<CancellationToken>())).Returns(Task.CompletedTask);
        }
        else
        {
            context.Setup(c => c.WaitForExternalEvent<ApprovalDecision>(RunIds.ApprovalEvent, It.IsAny<CancellationToken>())).ReturnsAsync(decision);
            context.Setup(c => c.CreateTimer(It.IsAny<DateTime>(), It.IsAny<CancellationToken>())).Returns(new TaskCompletionSource().Task);
        }
    }

    private Task<PipelineResult> RunAsync(RunRequest? request = null) => new TrainingPipeline().RunAsync(context.Object, request ?? Request);

    [Fact]
    public async Task Accepted_data_runs_every_step_in_order_and_promotes()
    {
        var result = await RunAsync();

        Assert.Equal((Outcomes.Promoted, (int?)Version), (result.Outcome, result.Version));
        Assert.Equal(
            ["StartRunActivity", "ValidateDataActivity", "PrepareTrainingActivity", "TrainCandidateActivity", "TrainCandidateActivity", "TrainCandidateActivity",
             "EvaluateModelActivity", "RegisterModelActivity", "StageModelActivity", "PromoteModelActivity", "FinishRunActivity"],
            Names);
        Assert.Equal(["A", "B", "C"], calls.Where(c => c.Name == "TrainCandidateActivity").Select(c => ((CandidateInput)c.Input!).Candidate.Name));
        Assert.Equal(new StartRunInput(Request, Request.RunId), Input<StartRunInput>("StartRunActivity"));
        Assert.Equal(new ValidateInput("iris", "incoming/iris/a.csv", Request.RunId), Input<ValidateInput>("ValidateDataActivity"));
        var register = Input<RegisterInput>("RegisterModelActivity");
        Assert.Equal((VersionStatus.Passed, "B"), (register.Status, register.Chosen.Result.Name));
        Assert.Equal(["A", "B", "C"], register.Candidates.Select(c => c.Result.Name));
        var promote = Input<PromoteInput>("PromoteModelActivity");
        Assert.Equal(("iris", Version, 2, $"pipeline:{Request.RunId}"), (promote.Model, promote.Version, promote.ExpectedProduction, promote.Actor));
        Assert.Equal(result, Input<FinishInput>("FinishRunActivity").Result);
        Assert.DoesNotContain("SetVersionStatusActivity", Names);
        context.Verify(c => c.ContinueAsNew(It.IsAny<object?>(), It.IsAny<bool>()), Times.Never);
    }

    [Fact]
    public async Task The_custom_status_follows_the_stages_and_counts_trained_candidates()
    {
        await RunAsync();

        Assert.Equal(
            ["validating", "preparing", "training", "training", "training", "training", "evaluating", "registering", "staging", "promoting", "done"],
            statuses.Select(s => s.Stage));
        Assert.Equal([0, 1, 2, 3], statuses.Where(s => s.Stage == "training").Select(s => s.CandidatesDone!.Value));
        Assert.All(statuses.Where(s => s.Stage == "training"), s => Assert.Equal((3, Version), (s.CandidatesTotal!.Value, s.Version!.Value)));
    }

    [Fact]
    public async Task Rejected_data_stops_after_validation_with_its_report()
    {
        On("ValidateDataActivity", _ => new ValidationOutcome(false, ["no column 'species'"], "rejected/iris/a.csv.report.json"));

        var result = await RunAsync();

        Assert.Equal((Outcomes.DataRejected, "no column 'species'", "rejected/iris/a.csv.report.json"), (result.Outcome, result.Reason, result.Report));
        Assert.Null(result.Version);
        Assert.Equal(["StartRunActivity", "ValidateDataActivity", "FinishRunActivity"], Names);
    }

    [Fact]
    public async Task With_several_files_the_rejected_ones_are_left_out_and_the_accepted_ones_trained()
    {
        On("ValidateDataActivity", input => ((ValidateInput)input!).Source.EndsWith("bad.csv", StringComparison.Ordinal)
            ? new ValidationOutcome(false, ["ragged"], "rejected/iris/bad.csv.report.json")
            : Accepted(((ValidateInput)input).Source));

        var result = await RunAsync(Request with { Sources = ["incoming/iris/bad.csv", "incoming/iris/good-one.csv"] });

        Assert.Equal(Outcomes.Promoted, result.Outcome);
        Assert.Equal(2, calls.Count(c => c.Name == "ValidateDataActivity"));
        Assert.Equal([Accepted("incoming/iris/good-one.csv").Dataset!], Input<PrepareInput>("PrepareTrainingActivity").Accepted);
    }

    [Fact]
    public async Task A_retrain_without_files_skips_validation()
    {
        var result = await RunAsync(Request with { Sources = [], Trigger = "schedule" });

        Assert.Equal(Outcomes.Promoted, result.Outcome);
        Assert.DoesNotContain("ValidateDataActivity", Names);
        Assert.Empty(Input<PrepareInput>("PrepareTrainingActivity").Accepted);
    }

    [Fact]
    public async Task A_skipped_plan_stops_before_training()
    {
        On("PrepareTrainingActivity", _ => Plan(version: null, skipped: "no new data since v3"));

        var result = await RunAsync();

        Assert.Equal((Outcomes.Skipped, "no new data since v3"), (result.Outcome, result.Reason));
        Assert.Equal(["StartRunActivity", "ValidateDataActivity", "PrepareTrainingActivity", "FinishRunActivity"], Names);
    }

    [Fact]
    public async Task Candidates_train_in_parallel_but_never_more_than_the_limit_at_once()
    {
        foreach (var name in new[] { "D", "E", "F" })
        {
            candidateValues[name] = 0.5;
        }

        var started = Channel.CreateUnbounded<(string Name, TaskCompletionSource<CandidateOutcome> Done)>();
        int running = 0, most = 0;
        OnAsync("TrainCandidateActivity", input =>
        {
            most = Math.Max(most, ++running);
            var done = new TaskCompletionSource<CandidateOutcome>();
            started.Writer.TryWrite((((CandidateInput)input!).Candidate.Name, done));
            return done.Task;
        });

        var run = RunAsync();
        var completionOrder = new List<string>();
        while (true)
        {
            var next = started.Reader.ReadAsync().AsTask();
            if (await Task.WhenAny(run, next) == run)
            {
                break;
            }

            var (name, done) = await next;
            running--;
            completionOrder.Add(name);
            done.SetResult(Trained(name));
        }

        var result = await run;
        Assert.Equal(Outcomes.Promoted, result.Outcome);
        Assert.Equal(TrainingPipeline.MaxParallelCandidates, most);
        Assert.Equal(6, completionOrder.Count);
        Assert.Equal("B", Input<EvaluateInput>("EvaluateModelActivity").Chosen.Result.Name);
        Assert.Equal(["A", "B", "C", "D", "E", "F"], Input<RegisterInput>("RegisterModelActivity").Candidates.Select(c => c.Result.Name));
    }

    [Fact]
    public async Task A_failing_candidate_is_reported_and_the_best_of_the_others_is_chosen()
    {
        candidateValues["B"] = null; // the best one on paper fails

        var result = await RunAsync();

        Assert.Equal(Outcomes.Promoted, result.Outcome);
        Assert.Equal("C", Input<EvaluateInput>("EvaluateModelActivity").Chosen.Result.Name);
        var register = Input<RegisterInput>("RegisterModelActivity");
        Assert.Equal("C", register.Chosen.Result.Name);
        var failed = Assert.Single(register.Candidates, c => !c.Succeeded);
        Assert.Equal(("B", "InvalidOperationException: B diverged"), (failed.Result.Name, failed.Result.Error));
    }

    [Fact]
    public async Task For_an_error_metric_the_lowest_validation_value_is_chosen()
    {
        spec = new ModelSpec { Task = "regression", Label = "y", Metric = "RootMeanSquaredError" };
        candidateValues["A"] = 3.0;
        candidateValues["B"] = 2.5;
        candidateValues["C"] = 2.0;

        await RunAsync();

        Assert.Equal("C", Input<EvaluateInput>("EvaluateModelActivity").Chosen.Result.Name);
    }

    [Fact]
    public async Task When_every_candidate_fails_the_version_is_failed_with_each_reason()
    {
        foreach (var name in candidateValues.Keys.ToList())
        {
            candidateValues[name] = null;
        }

        var result = await RunAsync();

        Assert.Equal((Outcomes.Failed, (int?)Version), (result.Outcome, result.Version));
        var status = Input<StatusInput>("SetVersionStatusActivity");
        Assert.Equal(("iris", Version, VersionStatus.Failed), (status.Model, status.Version, status.Status));
        foreach (var name in new[] { "A", "B", "C" })
        {
            Assert.Contains($"{name}: InvalidOperationException: {name} diverged", status.Reason, StringComparison.Ordinal);
        }

        Assert.Equal(status.Reason, result.Reason);
        Assert.DoesNotContain("EvaluateModelActivity", Names);
        Assert.Equal("FinishRunActivity", Names.Last());
    }

    [Fact]
    public async Task A_candidate_whose_activity_fails_for_good_is_reported_failed_and_the_others_go_on()
    {
        OnAsync("TrainCandidateActivity", input => ((CandidateInput)input!).Candidate.Name == "B"
            ? Task.FromException<CandidateOutcome>(Failure("TrainCandidateActivity"))
            : Task.FromResult(Trained(((CandidateInput)input).Candidate.Name)));

        var result = await RunAsync();

        Assert.Equal(Outcomes.Promoted, result.Outcome);
        var register = Input<RegisterInput>("RegisterModelActivity");
        Assert.Equal("C", register.Chosen.Result.Name);
        var failed = Assert.Single(register.Candidates, c => !c.Succeeded);
        Assert.Equal(("B", "TrainCandidateActivity lost its disk"), (failed.Result.Name, failed.Result.Error));
        Assert.Equal(["A", "B", "C"], register.Candidates.Select(c => c.Result.Name));
    }

    [Fact]
    public async Task When_every_candidate_activity_fails_the_version_is_failed_with_each_reason()
    {
        Fails<CandidateOutcome>("TrainCandidateActivity");

        var result = await RunAsync();

        Assert.Equal((Outcomes.Failed, (int?)Version), (result.Outcome, result.Version));
        var status = Input<StatusInput>("SetVersionStatusActivity");
        Assert.Equal((VersionStatus.Failed, result.Reason), (status.Status, status.Reason));
        Assert.Equal("Every candidate failed (A: TrainCandidateActivity lost its disk; B: TrainCandidateActivity lost its disk; C: TrainCandidateActivity lost its disk).", status.Reason);
        Assert.DoesNotContain("EvaluateModelActivity", Names);
        Assert.Equal("FinishRunActivity", Names.Last());
    }

    [Fact]
    public async Task A_staged_model_that_fails_its_smoke_test_is_declined_as_failed_and_not_judged_again()
    {
        On("PromoteModelActivity", _ => new PromoteOutcome(false, 2, "smoke test: v4 does not load") { SmokeFailed = true });

        var result = await RunAsync();

        Assert.Equal((Outcomes.Failed, "smoke test: v4 does not load"), (result.Outcome, result.Reason));
        var decline = Input<SlotInput>("DeclineModelActivity");
        Assert.Equal((Version, VersionStatus.Failed, "smoke test: v4 does not load"), (decline.Version, decline.Status, decline.Reason));
        Assert.Single(calls, c => c.Name == "EvaluateModelActivity");
        Assert.Single(calls, c => c.Name == "PromoteModelActivity");
    }

    public static TheoryData<string> FailingSteps() =>
        new(["EvaluateModelActivity", "RegisterModelActivity", "StageModelActivity", "PromoteModelActivity"]);

    [Theory]
    [MemberData(nameof(FailingSteps))]
    public async Task A_failing_step_after_prepare_marks_the_version_failed_and_still_finishes_the_run(string activity)
    {
        switch (activity)
        {
            case "EvaluateModelActivity":
                Fails<EvaluationOutcome>(activity);
                break;
            case "PromoteModelActivity":
                Fails<PromoteOutcome>(activity);
                break;
            default:
                Fails<object>(activity);
                break;
        }

        var result = await RunAsync();

        AssertFailedBy(activity, result);
    }

    [Fact]
    public async Task A_failure_to_record_the_approval_marks_the_version_failed()
    {
        spec = spec with { Promotion = "manual" };
        Approval(new ApprovalDecision(true, "alice", null));
        Fails<object>("SetVersionStatusActivity", input => ((StatusInput)input!).Status == VersionStatus.Approved);

        var result = await RunAsync();

        AssertFailedBy("SetVersionStatusActivity", result);
        Assert.DoesNotContain("PromoteModelActivity", Names);
    }

    [Fact]
    public async Task A_failure_to_decline_marks_the_version_failed()
    {
        spec = spec with { Promotion = "manual" };
        Approval(new ApprovalDecision(false, "bob", "not convinced"));
        Fails<object>("DeclineModelActivity");

        var result = await RunAsync();

        AssertFailedBy("DeclineModelActivity", result);
    }

    private void AssertFailedBy(string activity, PipelineResult result)
    {
        var reason = $"{activity} failed: {activity} lost its disk";
        Assert.Equal((Outcomes.Failed, (int?)Version, reason), (result.Outcome, result.Version, result.Reason));
        var failed = calls.Where(c => c.Name == "SetVersionStatusActivity").Select(c => (StatusInput)c.Input!).Last();
        Assert.Equal(new StatusInput("iris", Version, VersionStatus.Failed, reason), failed);
        Assert.Equal("FinishRunActivity", Names.Last());
        Assert.Equal(result, Input<FinishInput>("FinishRunActivity").Result);
        Assert.Equal("done", statuses[^1].Stage);
    }

    [Fact]
    public async Task A_failure_before_a_version_is_reserved_fails_the_run_without_touching_versions()
    {
        Fails<ValidationOutcome>("ValidateDataActivity");

        var result = await RunAsync();

        Assert.Equal((Outcomes.Failed, (int?)null), (result.Outcome, result.Version));
        Assert.DoesNotContain("SetVersionStatusActivity", Names);
        Assert.Equal(["StartRunActivity", "ValidateDataActivity", "FinishRunActivity"], Names);
    }

    [Fact]
    public async Task A_failed_gate_registers_the_version_rejected_and_stops_before_staging()
    {
        On("EvaluateModelActivity", _ => Evaluation(EvaluationOutcome.Fail));

        var result = await RunAsync();

        Assert.Equal((Outcomes.GatesFailed, "MacroAccuracy 0.7 vs production v2 0.8: worse"), (result.Outcome, result.Reason));
        Assert.Equal(VersionStatus.Rejected, Input<RegisterInput>("RegisterModelActivity").Status);
        Assert.DoesNotContain("StageModelActivity", Names);
    }

    [Fact]
    public async Task Manual_promotion_waits_and_promotes_on_approval_as_the_approver()
    {
        spec = spec with { Promotion = "manual" };
        Approval(new ApprovalDecision(true, "alice", "looks good"));

        var result = await RunAsync();

        Assert.Equal(Outcomes.Promoted, result.Outcome);
        Assert.Equal(["RegisterModelActivity", "StageModelActivity", "SetVersionStatusActivity", "PromoteModelActivity", "FinishRunActivity"], Names.Skip(7));
        Assert.Equal(VersionStatus.AwaitingApproval, Input<RegisterInput>("RegisterModelActivity").Status);
        Assert.Equal(Stages.AwaitingApproval, Input<SlotInput>("StageModelActivity").Stage);
        Assert.Equal(new StatusInput("iris", Version, VersionStatus.Approved, "approved by alice"), Input<StatusInput>("SetVersionStatusActivity"));
        Assert.Equal("alice", Input<PromoteInput>("PromoteModelActivity").Actor);
        Assert.Contains(statuses, s => s.Stage == Stages.AwaitingApproval);
    }

    [Fact]
    public async Task Manual_promotion_declines_on_reject()
    {
        spec = spec with { Promotion = "manual" };
        Approval(new ApprovalDecision(false, "bob", "not convinced"));

        var result = await RunAsync();

        Assert.Equal((Outcomes.Declined, "rejected by bob: not convinced"), (result.Outcome, result.Reason));
        Assert.Equal(new SlotInput("iris", Version, "bob", "rejected by bob: not convinced"), Input<SlotInput>("DeclineModelActivity"));
        Assert.DoesNotContain("PromoteModelActivity", Names);
    }

    [Fact]
    public async Task Manual_promotion_declines_when_no_answer_comes_in_time()
    {
        spec = spec with { Promotion = "manual" };
        Approval(null);

        var result = await RunAsync();

        Assert.Equal((Outcomes.Declined, "no approval within 72 h"), (result.Outcome, result.Reason));
        Assert.Equal($"pipeline:{Request.RunId}", Input<SlotInput>("DeclineModelActivity").Actor);
        Assert.DoesNotContain("PromoteModelActivity", Names);
    }

    [Fact]
    public async Task An_undecided_evaluation_waits_for_approval_by_default()
    {
        On("EvaluateModelActivity", _ => Evaluation(EvaluationOutcome.Undecided));
        Approval(new ApprovalDecision(true, "carol", null));

        var result = await RunAsync();

        Assert.Equal(Outcomes.Promoted, result.Outcome);
        var register = Input<RegisterInput>("RegisterModelActivity");
        Assert.Equal((VersionStatus.AwaitingApproval, "production v2 cannot be scored"), (register.Status, register.Reason));
        Assert.Equal("carol", Input<PromoteInput>("PromoteModelActivity").Actor);
    }

    [Fact]
    public async Task An_undecided_evaluation_never_promotes_without_an_answer()
    {
        On("EvaluateModelActivity", _ => Evaluation(EvaluationOutcome.Undecided));
        Approval(null);

        var result = await RunAsync();

        Assert.Equal(Outcomes.Declined, result.Outcome);
        Assert.DoesNotContain("PromoteModelActivity", Names);
    }

    [Fact]
    public async Task An_undecided_evaluation_with_onIncomparable_reject_is_rejected()
    {
        spec = spec with { OnIncomparable = "reject" };
        On("EvaluateModelActivity", _ => Evaluation(EvaluationOutcome.Undecided));

        var result = await RunAsync();

        Assert.Equal((Outcomes.GatesFailed, "production v2 cannot be scored"), (result.Outcome, result.Reason));
        Assert.Equal(VersionStatus.Rejected, Input<RegisterInput>("RegisterModelActivity").Status);
        Assert.DoesNotContain("StageModelActivity", Names);
    }

    [Fact]
    public async Task An_undecided_evaluation_with_onIncomparable_promote_goes_ahead()
    {
        spec = spec with { OnIncomparable = "promote" };
        On("EvaluateModelActivity", _ => Evaluation(EvaluationOutcome.Undecided));

        var result = await RunAsync();

        Assert.Equal(Outcomes.Promoted, result.Outcome);
        Assert.Equal(VersionStatus.Passed, Input<RegisterInput>("RegisterModelActivity").Status);
        context.Verify(c => c.WaitForExternalEvent<ApprovalDecision>(It.IsAny<string>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task When_production_moved_before_promotion_the_candidate_is_judged_again_once_and_promoted_if_it_still_passes()
    {
        var promotions = 0;
        On("PromoteModelActivity", _ => ++promotions == 1 ? new PromoteOutcome(false, 3, "production is v3, not v2") : new PromoteOutcome(true, Version, "swapped"));
        var evaluations = 0;
        On("EvaluateModelActivity", _ => Evaluation(EvaluationOutcome.Pass, champion: ++evaluations == 1 ? 2 : 3));

        var result = await RunAsync();

        Assert.Equal(Outcomes.Promoted, result.Outcome);
        Assert.Equal(2, calls.Count(c => c.Name == "EvaluateModelActivity"));
        Assert.Equal([2, 3], calls.Where(c => c.Name == "PromoteModelActivity").Select(c => ((PromoteInput)c.Input!).ExpectedProduction!.Value));
    }

    [Fact]
    public async Task When_production_moved_and_the_candidate_no_longer_passes_it_is_declined()
    {
        On("PromoteModelActivity", _ => new PromoteOutcome(false, 3, "production is v3, not v2"));
        var evaluations = 0;
        On("EvaluateModelActivity", _ => Evaluation(++evaluations == 1 ? EvaluationOutcome.Pass : EvaluationOutcome.Fail));

        var result = await RunAsync();

        Assert.Equal(Outcomes.GatesFailed, result.Outcome);
        Assert.Equal(1, calls.Count(c => c.Name == "PromoteModelActivity"));
        var decline = Input<SlotInput>("DeclineModelActivity");
        Assert.Contains("production is v3, not v2", decline.Reason, StringComparison.Ordinal);
        Assert.Contains("worse", decline.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task When_production_moves_twice_the_candidate_is_declined_after_one_retry()
    {
        On("PromoteModelActivity", _ => new PromoteOutcome(false, 3, "production changed again"));

        var result = await RunAsync();

        Assert.Equal((Outcomes.Declined, "production changed again"), (result.Outcome, result.Reason));
        Assert.Equal(2, calls.Count(c => c.Name == "PromoteModelActivity"));
        Assert.Equal(2, calls.Count(c => c.Name == "EvaluateModelActivity"));
        Assert.Single(calls, c => c.Name == "DeclineModelActivity");
    }

    [Fact]
    public async Task A_pending_request_returned_by_FinishRun_continues_the_instance_with_it()
    {
        var next = Request with { RunId = "iris.data.next-def", Sources = ["incoming/iris/b.csv"] };
        On("FinishRunActivity", _ => next);

        await RunAsync();

        context.Verify(c => c.ContinueAsNew(next, false), Times.Once);
        Assert.Equal(new FinishInput("iris", Request.RunId, Request.RunId, Input<FinishInput>("FinishRunActivity").Result), Input<FinishInput>("FinishRunActivity"));
    }

    [Fact]
    public async Task A_failed_run_also_hands_the_queue_on()
    {
        var next = Request with { RunId = "iris.data.next-def" };
        On("FinishRunActivity", _ => next);
        Fails<EvaluationOutcome>("EvaluateModelActivity");

        var result = await RunAsync();

        Assert.Equal(Outcomes.Failed, result.Outcome);
        context.Verify(c => c.ContinueAsNew(next, false), Times.Once);
    }
}
