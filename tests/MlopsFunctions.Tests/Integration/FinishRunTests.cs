using Azure.Data.Tables;
using Microsoft.DurableTask;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Tests.Infrastructure;
using Moq;

namespace MlopsFunctions.Tests.Integration;

/// <summary>The last activity of every run on a real Azurite: no version left in a transient status, the run recorded, the queue handed on.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class FinishRunTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly ModelRegistry registry = new(new TableServiceClient(azurite.ConnectionString));
    private readonly RunStore runs = new(new TableServiceClient(azurite.ConnectionString));
    private readonly SingleFlight queue = new(new TableServiceClient(azurite.ConnectionString));
    private readonly string model = "f" + Guid.NewGuid().ToString("N")[..12];

    private string RunId => $"{model}.data.a";

    public async Task InitializeAsync()
    {
        await registry.EnsureTableAsync();
        await runs.EnsureTableAsync();
        var request = new RunRequest(RunId, model, "blob", "blob-trigger", [$"incoming/{model}/a.csv"], DateTimeOffset.UtcNow, 72);
        await runs.TryCreateAsync(PipelineStarter.NewRecord(request) with { Status = RunStatuses.Running });
        await queue.EnqueueAsync(request, _ => Task.FromResult(false));
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<int> VersionAsync(string status) => await registry.ReserveVersionAsync(model, v => new ModelVersion
    {
        Version = v,
        Status = status,
        RunId = RunId,
        CreatedAt = DateTimeOffset.UtcNow,
        Lineage = new Lineage("incoming/x.csv", "datasets/x.csv", "x", "blob", new ModelSpec { Task = "binary", Label = "y" }, 42, 0.2),
    }, RunId);

    private Task<RunRequest?> FinishAsync(PipelineResult result) =>
        new FinishRunActivity(runs, queue, registry).RunAsync(new Mock<TaskActivityContext>().Object, new FinishInput(model, RunId, RunId, result));

    [Theory]
    [InlineData(VersionStatus.Training, Outcomes.Failed)]
    [InlineData(VersionStatus.Passed, Outcomes.Failed)]
    [InlineData(VersionStatus.AwaitingApproval, Outcomes.Declined)]
    [InlineData(VersionStatus.Approved, Outcomes.GatesFailed)]
    public async Task A_version_left_in_a_transient_status_is_marked_failed_with_the_runs_end(string status, string outcome)
    {
        var version = await VersionAsync(status);

        await FinishAsync(new PipelineResult(model, outcome, version, "PromoteModelActivity failed: storage unreachable"));

        var record = await registry.GetVersionAsync(model, version);
        Assert.Equal(VersionStatus.Failed, record!.Status);
        Assert.Equal($"the run ended ({outcome}: PromoteModelActivity failed: storage unreachable) before the version was settled", record.StatusReason);
    }

    [Theory]
    [InlineData(VersionStatus.Passed, Outcomes.Promoted)]
    [InlineData(VersionStatus.Rejected, Outcomes.GatesFailed)]
    [InlineData(VersionStatus.Declined, Outcomes.Declined)]
    public async Task A_settled_or_promoted_version_is_left_as_it_is(string status, string outcome)
    {
        var version = await VersionAsync(status);

        await FinishAsync(new PipelineResult(model, outcome, version, "done"));

        Assert.Equal(status, (await registry.GetVersionAsync(model, version))!.Status);
    }

    [Fact]
    public async Task The_run_records_how_it_ended_and_frees_the_queue()
    {
        var version = await VersionAsync(VersionStatus.Declined);

        var next = await FinishAsync(new PipelineResult(model, Outcomes.Failed, version, "EvaluateModelActivity failed: disk", "MacroAccuracy", 0.5));

        Assert.Null(next);
        var run = await runs.GetAsync(model, RunId);
        Assert.Equal((RunStatuses.Failed, Stages.Done, Outcomes.Failed, "EvaluateModelActivity failed: disk"), (run!.Status, run.Stage, run.Outcome, run.Reason));
        Assert.Equal((version, "MacroAccuracy", 0.5), (run.Version!.Value, run.Metric, run.Value!.Value));
        Assert.NotNull(run.EndedAt);
        Assert.True(run.IsFinished);
        Assert.Null((await queue.GetAsync(model)).Active);
    }

    [Theory]
    [InlineData(Outcomes.Skipped, RunStatuses.Skipped)]
    [InlineData(Outcomes.DataRejected, RunStatuses.Completed)]
    [InlineData(Outcomes.Promoted, RunStatuses.Completed)]
    public async Task The_run_status_follows_the_outcome(string outcome, string status)
    {
        await FinishAsync(new PipelineResult(model, outcome, null, "why"));

        Assert.Equal(status, (await runs.GetAsync(model, RunId))!.Status);
    }

    [Fact]
    public async Task A_pending_request_is_handed_over_once()
    {
        var pending = new RunRequest($"{model}.data.b", model, "blob", "blob-trigger", [$"incoming/{model}/b.csv"], DateTimeOffset.UtcNow, 72);
        await queue.EnqueueAsync(pending, _ => Task.FromResult(false));
        var result = new PipelineResult(model, Outcomes.Promoted, null, "done");

        var next = await FinishAsync(result);
        var retried = await FinishAsync(result); // the durable retry of the same activity

        Assert.Equal(pending.RunId, next!.RunId);
        Assert.Null(retried);
        var state = await queue.GetAsync(model);
        Assert.Equal((pending.RunId, RunId), (state.Active, state.ActiveInstance));
    }
}
