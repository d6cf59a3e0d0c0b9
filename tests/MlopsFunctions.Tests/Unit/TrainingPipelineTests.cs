using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Evaluation;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Registry;
using Moq;
using Moq.Protected;

namespace MlopsFunctions.Tests.Unit;

/// <summary>The orchestrator's control flow, with every activity mocked: which steps run, in which order, and when it stops.</summary>
public sealed class TrainingPipelineTests
{
    private static readonly PipelineInput Input = new("iris", "incoming/iris/a.csv", "blob", "blob-trigger", 1);
    private static readonly DatasetSchema Schema = new() { Task = MlTask.Multiclass, Label = "species", NumericFeatures = ["x"], CategoricalFeatures = [] };

    private readonly Mock<TaskOrchestrationContext> context = new() { CallBase = true };
    private readonly List<string> calls = [];
    private readonly List<object?> statuses = [];

    public TrainingPipelineTests()
    {
        context.Setup(c => c.InstanceId).Returns("iris.data.abc");
        context.Setup(c => c.CurrentUtcDateTime).Returns(new DateTime(2026, 11, 27, 0, 0, 0, DateTimeKind.Utc));
        context.Protected().Setup<ILoggerFactory>("LoggerFactory").Returns(NullLoggerFactory.Instance);
        context.Setup(c => c.SetCustomStatus(It.IsAny<object?>())).Callback<object?>(statuses.Add);
        Returns<object>("RegisterModelActivity", null!);
        Returns<object>("StageModelActivity", null!);
        Returns<object>("PromoteModelActivity", null!);
        Returns<object>("DeclineModelActivity", null!);
        Returns<object>("SetVersionStatusActivity", null!);
        Returns("TrainModelActivity", new TrainOutcome(4, "models/iris/4/model.zip", "sha", "LightGbmMulticlass", 120, 30));
    }

    private void Returns<T>(string activity, T result) =>
        context.Setup(c => c.CallActivityAsync<T>(It.Is<TaskName>(n => n.Name == activity), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
            .Callback(() => calls.Add(activity))
            .ReturnsAsync(result);

    private void Accepts(bool manual = false) => Returns("ValidateDataActivity", new ValidationOutcome(
        true, [], "datasets/iris/sha.report.json", "datasets/iris/sha.csv", "sha", Schema,
        new ModelSpec { Task = "multiclass", Label = "species", Promotion = manual ? "manual" : null },
        new ValidationSummary(150, 150, [], "datasets/iris/sha.report.json")));

    private void Evaluates(bool passed) => Returns("EvaluateModelActivity", new EvaluationOutcome(
        "MacroAccuracy", passed ? 0.95 : 0.5, new Dictionary<string, double> { ["MacroAccuracy"] = passed ? 0.95 : 0.5 },
        [new GateDecision("minMetric", "MacroAccuracy", passed, 0.5, 0.8, null, -0.3, passed ? "ok" : "MacroAccuracy 0.5 < minimum 0.8.")],
        passed, null, null));

    private Task<PipelineResult> RunAsync() => new TrainingPipeline().RunAsync(context.Object, Input);

    [Fact]
    public async Task Rejected_data_stops_before_training()
    {
        Returns("ValidateDataActivity", new ValidationOutcome(false, ["no column 'species'"], "rejected/iris/a.csv.report.json"));

        var result = await RunAsync();

        Assert.Equal(Outcomes.DataRejected, result.Outcome);
        Assert.Equal("rejected/iris/a.csv.report.json", result.Report);
        Assert.Equal(["ValidateDataActivity"], calls);
    }

    [Fact]
    public async Task A_failed_gate_registers_the_version_but_stops_before_staging()
    {
        Accepts();
        Evaluates(passed: false);

        var result = await RunAsync();

        Assert.Equal(Outcomes.GatesFailed, result.Outcome);
        Assert.Equal(4, result.Version);
        Assert.Contains("< minimum 0.8", result.Reason, StringComparison.Ordinal);
        Assert.Equal(["ValidateDataActivity", "TrainModelActivity", "EvaluateModelActivity", "RegisterModelActivity"], calls);
    }

    [Fact]
    public async Task Passing_gates_with_auto_promotion_stage_then_promote()
    {
        Accepts();
        Evaluates(passed: true);

        var result = await RunAsync();

        Assert.Equal(Outcomes.Promoted, result.Outcome);
        Assert.Equal(["ValidateDataActivity", "TrainModelActivity", "EvaluateModelActivity", "RegisterModelActivity", "StageModelActivity", "PromoteModelActivity"], calls);
        Assert.Equal(["validating", "training", "evaluating", "registering", "staging", "promoting", "done"],
            statuses.Cast<RunStatus>().Select(s => s.Stage));
    }

    [Fact]
    public async Task Manual_promotion_waits_for_approval_then_promotes()
    {
        Accepts(manual: true);
        Evaluates(passed: true);
        context.Setup(c => c.WaitForExternalEvent<ApprovalDecision>(RunIds.ApprovalEvent, It.IsAny<CancellationToken>()))
            .ReturnsAsync(new ApprovalDecision(true, "alice", null));
        context.Setup(c => c.CreateTimer(It.IsAny<DateTime>(), It.IsAny<CancellationToken>())).Returns(new TaskCompletionSource().Task);

        var result = await RunAsync();

        Assert.Equal(Outcomes.Promoted, result.Outcome);
        Assert.Equal(["StageModelActivity", "SetVersionStatusActivity", "PromoteModelActivity"], calls.Skip(4));
        Assert.Contains(statuses.Cast<RunStatus>(), s => s.Stage == "awaiting-approval");
    }

    [Fact]
    public async Task Manual_promotion_without_an_answer_in_time_declines_and_never_promotes()
    {
        Accepts(manual: true);
        Evaluates(passed: true);
        context.Setup(c => c.WaitForExternalEvent<ApprovalDecision>(RunIds.ApprovalEvent, It.IsAny<CancellationToken>()))
            .Returns<string, CancellationToken>((_, token) => Task.Delay(Timeout.Infinite, token).ContinueWith<ApprovalDecision>(
                _ => throw new TaskCanceledException(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default));
        context.Setup(c => c.CreateTimer(new DateTime(2026, 11, 27, 1, 0, 0, DateTimeKind.Utc), It.IsAny<CancellationToken>()))
            .Returns(Task.CompletedTask);

        var result = await RunAsync();

        Assert.Equal(Outcomes.Declined, result.Outcome);
        Assert.Contains("no approval within 1 h", result.Reason, StringComparison.Ordinal);
        Assert.Equal(["StageModelActivity", "DeclineModelActivity"], calls.Skip(4));
    }

    [Fact]
    public async Task A_failing_evaluation_marks_the_version_failed_and_fails_the_run()
    {
        Accepts();
        context.Setup(c => c.CallActivityAsync<EvaluationOutcome>(It.Is<TaskName>(n => n.Name == "EvaluateModelActivity"), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
            .ThrowsAsync(new TaskFailedException("EvaluateModelActivity", 3, new TaskFailureDetails("IOException", "disk gone", null, null, null)));
        StatusInput? status = null;
        context.Setup(c => c.CallActivityAsync<object>(It.Is<TaskName>(n => n.Name == "SetVersionStatusActivity"), It.IsAny<object?>(), It.IsAny<TaskOptions?>()))
            .Callback<TaskName, object?, TaskOptions?>((_, input, _) => status = (StatusInput)input!)
            .ReturnsAsync((object)null!);

        await Assert.ThrowsAsync<TaskFailedException>(RunAsync);

        Assert.Equal(new StatusInput("iris", 4, VersionStatus.Failed, "disk gone"), status);
        Assert.DoesNotContain("StageModelActivity", calls);
    }
}
