using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Tests.Infrastructure;
using Moq;

namespace MlopsFunctions.Tests.Integration;

/// <summary>
/// How runs get started, on a real registry, runs table and queue with a mocked durable client: exactly once per
/// content and spec, re-runs on purpose, queueing behind an active run, and the retrain timer.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class PipelineStarterTests : IAsyncLifetime
{
    private static readonly ModelSpec Spec = new() { Task = "multiclass", Label = "species" };

    private readonly ModelRegistry registry;
    private readonly RunStore runs;
    private readonly SingleFlight queue;
    private readonly BlobStore blobs;
    private static readonly DateTimeOffset Tick = new(2026, 3, 10, 5, 17, 30, TimeSpan.Zero);

    // The queue stamps runs with the system clock, so the test clock starts from it.
    private readonly ManualTime time = new(DateTimeOffset.UtcNow);
    private readonly PipelineStarter starter;
    private readonly Mock<DurableTaskClient> client = new("test") { CallBase = true };
    private readonly List<(string InstanceId, RunRequest Request)> scheduled = [];
    private readonly Dictionary<string, OrchestrationRuntimeStatus> instances = [];
    private readonly HashSet<string> unschedulable = [];
    private readonly string model = "s" + Guid.NewGuid().ToString("N")[..12];

    public PipelineStarterTests(AzuriteFixture azurite)
    {
        var tables = new TableServiceClient(azurite.ConnectionString);
        registry = new ModelRegistry(tables);
        runs = new RunStore(tables);
        queue = new SingleFlight(tables);
        blobs = new BlobStore(new BlobServiceClient(azurite.ConnectionString));
        starter = new PipelineStarter(blobs, registry, runs, queue, Options.Create(new MlopsOptions()), time, NullLogger<PipelineStarter>.Instance);
        client.Setup(c => c.ScheduleNewOrchestrationInstanceAsync(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<StartOrchestrationOptions?>(), It.IsAny<CancellationToken>()))
            .Returns<TaskName, object?, StartOrchestrationOptions?, CancellationToken>((name, input, options, _) =>
            {
                Assert.Equal(nameof(TrainingPipeline), name.Name);
                var request = (RunRequest)input!;
                Assert.Equal(request.RunId, options!.InstanceId);
                if (unschedulable.Contains(request.Model))
                {
                    return Task.FromException<string>(new InvalidOperationException("the task hub is unreachable"));
                }

                scheduled.Add((options.InstanceId!, request));
                instances[options.InstanceId!] = OrchestrationRuntimeStatus.Running;
                return Task.FromResult(options.InstanceId!);
            });
        client.Setup(c => c.GetInstanceAsync(It.IsAny<string>(), It.IsAny<bool>(), It.IsAny<CancellationToken>()))
            .Returns<string, bool, CancellationToken>((id, _, _) => Task.FromResult(instances.TryGetValue(id, out var status)
                ? new OrchestrationMetadata(nameof(TrainingPipeline), id) { RuntimeStatus = status }
                : null));
    }

    public async Task InitializeAsync()
    {
        await registry.EnsureTableAsync();
        await runs.EnsureTableAsync();
        await blobs.EnsureContainersAsync();
        await registry.PutSpecAsync(model, Spec);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<StartResult> DropAsync(string name, string content, string? forModel = null)
    {
        var m = forModel ?? model;
        var bytes = Encoding.UTF8.GetBytes(content);
        await blobs.UploadAsync(new BlobPath(BlobPath.Incoming, $"{m}/{name}"), BinaryData.FromBytes(bytes));
        return await starter.StartFromBlobAsync(client.Object, m, name, new MemoryStream(bytes));
    }

    private static string Csv(int rows) => "x,species\n" + string.Join('\n', Enumerable.Range(0, rows).Select(i => $"{i},c{i % 3}")) + "\n";

    private static string Sha(string content) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));

    /// <summary>What FinishRunActivity does when a run ends: record the outcome and free the model's queue.</summary>
    private async Task<RunRequest?> EndAsync(string runId, string status, string outcome)
    {
        await runs.UpdateAsync(model, runId, r => r with { Status = status, Outcome = outcome, Stage = Stages.Done });
        instances[runId] = OrchestrationRuntimeStatus.Completed;
        return await queue.FinishAsync(model, runId, runId);
    }

    [Fact]
    public async Task A_dropped_file_starts_a_run_whose_id_is_its_content_and_spec()
    {
        var csv = Csv(30);

        var result = await DropAsync("a.csv", csv);

        var expected = RunIds.ForData(model, Sha(csv), PrepareTrainingActivity.SpecSha256(Spec));
        Assert.Equal((expected, true), (result.InstanceId, result.Started));
        var (id, request) = Assert.Single(scheduled);
        Assert.Equal((expected, "blob"), (id, request.Trigger));
        Assert.Equal([$"incoming/{model}/a.csv"], request.Sources);
        var run = await runs.GetAsync(model, expected);
        Assert.Equal((RunStatuses.Queued, "blob"), (run!.Status, run.Trigger));
        Assert.Equal(expected, (await queue.GetAsync(model)).Active);
    }

    [Fact]
    public async Task The_same_content_under_the_same_spec_twice_is_one_run()
    {
        var csv = Csv(30);

        var first = await DropAsync("a.csv", csv);
        var again = await DropAsync("copy-of-a.csv", csv);

        Assert.Equal(first.InstanceId, again.InstanceId);
        Assert.False(again.Started);
        Assert.Contains("already exists", again.Message, StringComparison.Ordinal);
        Assert.Single(scheduled);
        Assert.Single(await runs.ListAsync(model));
    }

    [Fact]
    public async Task The_same_content_under_a_changed_spec_is_a_new_run()
    {
        var csv = Csv(30);
        var first = await DropAsync("a.csv", csv);
        await EndAsync(first.InstanceId!, RunStatuses.Completed, Outcomes.GatesFailed);

        await registry.PutSpecAsync(model, Spec with { Gates = new GateSpec { MinMetric = 0.5 } });
        var second = await DropAsync("a.csv", csv);

        Assert.True(second.Started, second.Message);
        Assert.NotEqual(first.InstanceId, second.InstanceId);
        Assert.StartsWith(first.InstanceId![..^9], second.InstanceId!, StringComparison.Ordinal); // same content hash, another spec hash
        Assert.Equal([first.InstanceId, second.InstanceId], scheduled.Select(s => s.InstanceId));
    }

    [Theory]
    [InlineData(RunStatuses.Completed, Outcomes.DataRejected)]
    [InlineData(RunStatuses.Failed, Outcomes.Failed)]
    public async Task A_reupload_after_a_rejected_or_failed_run_starts_a_new_attempt(string status, string outcome)
    {
        var csv = Csv(30);
        var first = await DropAsync("a.csv", csv);
        await EndAsync(first.InstanceId!, status, outcome);

        var second = await DropAsync("a.csv", csv);
        await EndAsync(second.InstanceId!, status, outcome);
        var third = await DropAsync("a.csv", csv);

        Assert.True(second.Started && third.Started);
        Assert.Equal([first.InstanceId, $"{first.InstanceId}.r2", $"{first.InstanceId}.r3"], scheduled.Select(s => s.InstanceId));
    }

    [Fact]
    public async Task A_reupload_after_a_completed_run_that_trained_is_not_run_again()
    {
        var csv = Csv(30);
        var first = await DropAsync("a.csv", csv);
        await EndAsync(first.InstanceId!, RunStatuses.Completed, Outcomes.Promoted);

        var again = await DropAsync("a.csv", csv);

        Assert.False(again.Started);
        Assert.Single(scheduled);
    }

    [Fact]
    public async Task A_file_dropped_while_a_run_is_active_is_queued_and_not_scheduled_until_the_run_ends()
    {
        var active = await DropAsync("a.csv", Csv(30));

        var waiting = await DropAsync("b.csv", Csv(31));

        Assert.False(waiting.Started);
        Assert.Equal("queued behind the active run", waiting.Message);
        Assert.Equal([active.InstanceId], scheduled.Select(s => s.InstanceId));
        Assert.Equal(RunStatuses.Queued, (await runs.GetAsync(model, waiting.InstanceId!))!.Status);
        var next = await EndAsync(active.InstanceId!, RunStatuses.Completed, Outcomes.Promoted);
        Assert.Equal(waiting.InstanceId, next!.RunId); // handed to the ending run's instance, which continues as new with it
    }

    [Fact]
    public async Task Newer_files_supersede_the_queued_one_which_is_recorded_as_superseded()
    {
        await DropAsync("a.csv", Csv(30));
        var older = await DropAsync("b.csv", Csv(31));
        time.Advance(TimeSpan.FromSeconds(1));
        var newer = await DropAsync("c.csv", Csv(32));

        var superseded = await runs.GetAsync(model, older.InstanceId!);
        Assert.Equal((RunStatuses.Superseded, newer.InstanceId), (superseded!.Status, superseded.SupersededBy));
        var pending = (await queue.GetAsync(model)).Pending!;
        Assert.Equal(newer.InstanceId, pending.RunId);
        Assert.Equal([$"incoming/{model}/b.csv", $"incoming/{model}/c.csv"], pending.Sources);
        Assert.Single(scheduled);
    }

    [Fact]
    public async Task A_run_whose_instance_ended_without_finishing_is_taken_over_by_the_next_file()
    {
        var dead = await DropAsync("a.csv", Csv(30));
        instances[dead.InstanceId!] = OrchestrationRuntimeStatus.Terminated; // terminated by hand: FinishRun never ran

        var next = await DropAsync("b.csv", Csv(31));

        Assert.True(next.Started, next.Message);
        Assert.Equal(next.InstanceId, (await queue.GetAsync(model)).Active);
    }

    [Fact]
    public async Task A_run_that_never_got_an_instance_is_taken_over_only_after_the_grace_period()
    {
        var first = await DropAsync("a.csv", Csv(30));
        instances.Remove(first.InstanceId!); // its starter died between the queue and the task hub

        var early = await DropAsync("b.csv", Csv(31));
        time.Advance(TimeSpan.FromMinutes(2));
        var late = await DropAsync("c.csv", Csv(32));

        Assert.False(early.Started);
        Assert.True(late.Started, late.Message);
    }

    [Fact]
    public async Task A_run_whose_starter_died_before_scheduling_starts_when_its_file_is_delivered_again()
    {
        // The starter recorded the run and took the queue, then died before the task hub heard of it.
        var csv = Csv(30);
        var request = new RunRequest(RunIds.ForData(model, Sha(csv), PrepareTrainingActivity.SpecSha256(Spec)), model, "blob", "blob-trigger",
            [$"incoming/{model}/a.csv"], DateTimeOffset.UtcNow, 72);
        await runs.TryCreateAsync(PipelineStarter.NewRecord(request));
        Assert.True((await queue.EnqueueAsync(request, _ => Task.FromResult(false))).Start);

        var redelivered = await DropAsync("a.csv", csv);

        Assert.True(redelivered.Started, redelivered.Message);
        Assert.Equal([request.RunId], scheduled.Select(s => s.InstanceId));
    }

    [Fact]
    public async Task A_run_that_cannot_be_scheduled_is_failed_and_frees_the_queue()
    {
        unschedulable.Add(model);

        await Assert.ThrowsAsync<InvalidOperationException>(() => DropAsync("a.csv", Csv(30)));

        var run = Assert.Single(await runs.ListAsync(model));
        Assert.Equal(RunStatuses.Failed, run.Status);
        Assert.Contains("the task hub is unreachable", run.Reason, StringComparison.Ordinal);
        Assert.Null((await queue.GetAsync(model)).Active);
    }

    [Fact]
    public async Task Data_for_a_model_without_a_spec_reruns_once_the_spec_exists()
    {
        var other = "n" + Guid.NewGuid().ToString("N")[..12];
        var csv = Csv(30);
        var before = await DropAsync("a.csv", csv, other);
        await runs.UpdateAsync(other, before.InstanceId!, r => r with { Status = RunStatuses.Completed, Outcome = Outcomes.DataRejected });
        await queue.FinishAsync(other, before.InstanceId!, before.InstanceId!);

        await registry.PutSpecAsync(other, Spec);
        var after = await DropAsync("a.csv", csv, other);

        Assert.True(after.Started, after.Message);
        Assert.NotEqual(before.InstanceId, after.InstanceId);
    }

    [Fact]
    public async Task A_file_in_a_folder_that_is_not_a_model_name_is_refused_with_a_report()
    {
        var result = await starter.StartFromBlobAsync(client.Object, "Not_A_Model", "a.csv", new MemoryStream(Encoding.UTF8.GetBytes(Csv(30))));

        Assert.False(result.Started);
        Assert.Contains("invalid model name; report at rejected/_invalid-model-name/", result.Message, StringComparison.Ordinal);
        Assert.Empty(scheduled);
    }

    [Fact]
    public async Task A_manual_retrain_of_a_rejected_file_runs_that_file_and_bad_sources_are_refused()
    {
        var rejected = new BlobPath(BlobPath.Rejected, $"{model}/a.csv");
        await blobs.UploadAsync(rejected, BinaryData.FromString(Csv(30)));
        var runId = RunIds.ForManual(model, time.GetUtcNow());

        var (result, problem) = await starter.StartRetrainAsync(client.Object, model, "manual", runId, "master", rejected.ToString());
        var (_, elsewhere) = await starter.StartRetrainAsync(client.Object, model, "manual", runId + "x", "master", $"rejected/other-model/a.csv");
        var (_, report) = await starter.StartRetrainAsync(client.Object, model, "manual", runId + "y", "master", $"rejected/{model}/a.csv.report.json");
        var (_, absent) = await starter.StartRetrainAsync(client.Object, model, "manual", runId + "z", "master", $"rejected/{model}/nothing.csv");

        Assert.Null(problem);
        Assert.True(result!.Started, result.Message);
        var request = Assert.Single(scheduled).Request;
        Assert.Equal(("manual", "master", true), (request.Trigger, request.Actor, request.Force));
        Assert.Equal([rejected.ToString()], request.Sources);
        Assert.Equal((400, "invalid-source"), (elsewhere!.Status, elsewhere.Error));
        Assert.Equal((400, "invalid-source"), (report!.Status, report.Error));
        Assert.Equal((404, "source-not-found"), (absent!.Status, absent.Error));
    }

    [Fact]
    public async Task A_retrain_without_a_spec_or_without_data_says_what_to_do()
    {
        var (_, noSpec) = await starter.StartRetrainAsync(client.Object, "nospec" + Guid.NewGuid().ToString("N")[..8], "manual", "x.retrain.1", "master");
        var (_, noData) = await starter.StartRetrainAsync(client.Object, model, "manual", RunIds.ForManual(model, time.GetUtcNow()), "master");

        Assert.Equal((404, "model-not-found"), (noSpec!.Status, noSpec.Error));
        Assert.Equal((409, "no-data"), (noData!.Status, noData.Error));
        Assert.Contains($"rejected/{model}/", noData.Message, StringComparison.Ordinal);
        Assert.Empty(scheduled);
    }

    // ---- The retrain timer ----

    private RetrainScheduler Scheduler()
    {
        var options = Options.Create(new MlopsOptions());
        var windows = new TrainingWindows(registry, blobs, new DatasetFiles(blobs, NullLogger<DatasetFiles>.Instance), options, time);
        return new RetrainScheduler(registry, starter, new RetrainPolicy(registry, windows),
            new DatasetRetention(registry, blobs, queue, time, NullLogger<DatasetRetention>.Instance), options, NullLogger<RetrainScheduler>.Instance);
    }

    /// <summary>A model on a schedule no other test uses (05:17 daily), with an accepted iris dataset recorded as validation would.</summary>
    private async Task<(string Model, DatasetRecord Dataset)> ScheduledModelAsync(string prefix, bool withData = true)
    {
        var name = prefix + Guid.NewGuid().ToString("N")[..10];
        var spec = Spec with { RetrainSchedule = "0 17 5 * * *" };
        await registry.PutSpecAsync(name, spec);
        if (!withData)
        {
            return (name, null!);
        }

        var csv = File.ReadAllBytes(RepoPaths.SampleData("iris"));
        var (report, profile) = DatasetValidator.Validate(new MemoryStream(csv), new ValidationContext
        {
            Model = name, Source = $"incoming/{name}/iris.csv", Spec = spec, Limits = SampleSets.Limits,
        });
        var sha = report.Sha256!;
        var dataset = BlobPath.Dataset(name, sha);
        BlobPath Beside(string suffix) => dataset with { Name = $"{name}/{sha}.{suffix}" };
        await blobs.UploadAsync(dataset, BinaryData.FromBytes(csv));
        await blobs.UploadJsonAsync(Beside("schema.json"), report.Schema);
        await blobs.UploadJsonAsync(Beside("profile.json"), profile);
        await blobs.UploadJsonAsync(Beside("report.json"), report);
        var record = new DatasetRecord(dataset.ToString(), sha, $"incoming/{name}/iris.csv", Tick.AddDays(-3), report.Rows, report.UsableRows,
            report.Bytes, Beside("report.json").ToString(), Beside("profile.json").ToString(), Beside("schema.json").ToString(), "seed");
        await registry.AddDatasetAsync(name, record);
        return (name, record);
    }

    /// <summary>A version trained on exactly the model's dataset under its current spec, with the given outcome.</summary>
    private async Task TrainedAsync(string name, DatasetRecord dataset, string status)
    {
        var spec = (await registry.GetSpecAsync(name))!;
        await registry.ReserveVersionAsync(name, v => new ModelVersion
        {
            Version = v,
            Status = status,
            RunId = $"{name}.data.seed",
            CreatedAt = Tick,
            Lineage = new Lineage(dataset.Source, dataset.Dataset, dataset.Sha256, "blob", spec, 42, 0.2)
            {
                Datasets = [new DatasetUse(dataset.Dataset, dataset.Sha256, dataset.UsableRows)],
                SpecSha256 = PrepareTrainingActivity.SpecSha256(spec),
            },
        }, $"{name}.data.seed");
    }

    private static DateTimeOffset Occurrence(DateTimeOffset day) => new(day.Year, day.Month, day.Day, 5, 17, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_tick_with_no_new_data_records_a_skipped_run_with_the_reason()
    {
        var (name, dataset) = await ScheduledModelAsync("t");
        await TrainedAsync(name, dataset, VersionStatus.Passed);

        var started = await Scheduler().StartDueAsync(client.Object, Tick);

        Assert.DoesNotContain(started, s => s.InstanceId!.StartsWith(name, StringComparison.Ordinal));
        var run = Assert.Single(await runs.ListAsync(name));
        Assert.Equal(RunIds.ForSchedule(name, Occurrence(Tick)), run.RunId);
        Assert.Equal((RunStatuses.Skipped, Outcomes.Skipped, "schedule"), (run.Status, run.Outcome, run.Trigger));
        Assert.Equal("no new data since v1 (passed): the window and the spec are unchanged", run.Reason);
        Assert.DoesNotContain(scheduled, s => s.Request.Model == name);
    }

    [Fact]
    public async Task A_tick_for_a_model_without_data_records_why_it_skipped()
    {
        var (name, _) = await ScheduledModelAsync("t", withData: false);

        await Scheduler().StartDueAsync(client.Object, Tick);

        var run = Assert.Single(await runs.ListAsync(name));
        Assert.Equal(RunStatuses.Skipped, run.Status);
        Assert.Contains("no accepted data", run.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Data_that_already_failed_the_gates_is_not_retrained_but_a_failed_training_is_tried_again()
    {
        var (rejected, rejectedData) = await ScheduledModelAsync("t");
        await TrainedAsync(rejected, rejectedData, VersionStatus.Rejected);
        var (failed, failedData) = await ScheduledModelAsync("t");
        await TrainedAsync(failed, failedData, VersionStatus.Failed);

        await Scheduler().StartDueAsync(client.Object, Tick);

        Assert.Equal("no new data since v1 (rejected): the window and the spec are unchanged", Assert.Single(await runs.ListAsync(rejected)).Reason);
        Assert.DoesNotContain(scheduled, s => s.Request.Model == rejected);
        var (id, request) = Assert.Single(scheduled, s => s.Request.Model == failed);
        Assert.Equal(RunIds.ForSchedule(failed, Occurrence(Tick)), id);
        Assert.Equal(("schedule", "timer", false), (request.Trigger, request.Actor, request.Force));
        Assert.Empty(request.Sources);
    }

    [Fact]
    public async Task A_model_whose_retrain_throws_does_not_stop_the_others()
    {
        // Models tick in name order: the failing one comes first.
        var (broken, _) = await ScheduledModelAsync("a");
        var (healthy, _) = await ScheduledModelAsync("z");
        unschedulable.Add(broken);

        var started = await Scheduler().StartDueAsync(client.Object, Tick);

        Assert.Contains(started, s => s.InstanceId == RunIds.ForSchedule(healthy, Occurrence(Tick)) && s.Started);
        Assert.Single(scheduled, s => s.Request.Model == healthy);
        var failedRun = Assert.Single(await runs.ListAsync(broken));
        Assert.Equal(RunStatuses.Failed, failedRun.Status);
        Assert.Null((await queue.GetAsync(broken)).Active);
    }

    [Fact]
    public async Task Occurrences_missed_while_the_host_was_down_run_once_at_the_next_tick()
    {
        var (name, _) = await ScheduledModelAsync("t");
        var now = Tick;
        await registry.SetScheduleMarkAsync(name, Occurrence(now).AddDays(-3)); // last considered three days ago

        var first = await Scheduler().StartDueAsync(client.Object, now);
        var again = await Scheduler().StartDueAsync(client.Object, now.AddMinutes(1));

        var (id, _) = Assert.Single(scheduled, s => s.Request.Model == name);
        Assert.Equal(RunIds.ForSchedule(name, Occurrence(now)), id); // the latest occurrence, once
        Assert.Contains(first, s => s.InstanceId == id);
        Assert.DoesNotContain(again, s => s.InstanceId!.StartsWith(name, StringComparison.Ordinal));
        Assert.Equal(Occurrence(now), await registry.GetScheduleMarkAsync(name));
        Assert.Single(await runs.ListAsync(name));
    }

    [Fact]
    public async Task Nothing_runs_before_the_schedule_is_due()
    {
        var (name, _) = await ScheduledModelAsync("t");

        await Scheduler().StartDueAsync(client.Object, Occurrence(Tick).AddMinutes(-5));

        Assert.Empty(await runs.ListAsync(name));
        Assert.Null(await registry.GetScheduleMarkAsync(name));
    }

    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset now = now;

        public void Advance(TimeSpan by) => now += by;

        public override DateTimeOffset GetUtcNow() => now;
    }
}
