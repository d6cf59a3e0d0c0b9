using Azure.Data.Tables;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.Integration;

/// <summary>The runs table and the per-model single-flight queue on a real Azurite: create once, concurrent updates, hand-over.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class RunQueueTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly RunStore runs = new(new TableServiceClient(azurite.ConnectionString));
    private readonly SingleFlight queue = new(new TableServiceClient(azurite.ConnectionString));
    private readonly string model = "q" + Guid.NewGuid().ToString("N")[..12];

    public async Task InitializeAsync()
    {
        await runs.EnsureTableAsync();
        await new ModelRegistry(new TableServiceClient(azurite.ConnectionString)).EnsureTableAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private RunRequest Request(string name, int minutes, params string[] sources) =>
        new($"{model}.data.{name}", model, "blob", "blob-trigger", sources.Length > 0 ? sources : [$"incoming/{model}/{name}.csv"], T0.AddMinutes(minutes), 72);

    private static Func<QueueState, Task<bool>> Stale(bool stale) => _ => Task.FromResult(stale);

    [Fact]
    public async Task A_run_is_created_once_and_found_by_its_id_alone()
    {
        var record = PipelineStarter.NewRecord(Request("a", 0));

        Assert.True(await runs.TryCreateAsync(record));
        Assert.False(await runs.TryCreateAsync(record with { Trigger = "manual" }));

        var byModel = await runs.GetAsync(model, record.RunId);
        var byId = await runs.GetAsync(record.RunId);
        Assert.Equal(("blob", RunStatuses.Queued, Stages.Queued), (byModel!.Trigger, byModel.Status, byModel.Stage));
        Assert.Equal([$"incoming/{model}/a.csv"], byId!.Sources);
        Assert.Null(await runs.GetAsync("not a run id"));
        Assert.Null(await runs.UpdateAsync(model, $"{model}.data.missing", r => r with { Status = RunStatuses.Failed }));
    }

    [Fact]
    public async Task Parallel_updates_of_one_run_from_separate_clients_lose_nothing()
    {
        var record = PipelineStarter.NewRecord(Request("a", 0));
        await runs.TryCreateAsync(record);
        var writers = Enumerable.Range(0, 12).Select(_ => new RunStore(new TableServiceClient(azurite.ConnectionString))).ToList();

        await Task.WhenAll(writers.Select((store, i) => Task.Run(() => store.UpdateAsync(model, record.RunId, r =>
        {
            var candidates = (r.Candidates ?? []).Append(new CandidateResult($"c{i}", "FastTree", new Dictionary<string, double>(), null, i, 1, 1, 0, 0, null)).ToList();
            return r with { Candidates = candidates, CandidatesDone = candidates.Count };
        }))));

        var updated = await runs.GetAsync(model, record.RunId);
        Assert.Equal(12, updated!.CandidatesDone);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"c{i}").Order(), updated.Candidates!.Select(c => c.Name).Order());
        Assert.NotNull(updated.UpdatedAt);
    }

    [Fact]
    public async Task A_models_runs_are_listed_newest_first()
    {
        foreach (var (name, minutes) in new[] { ("b", 5), ("a", 1), ("c", 9) })
        {
            await runs.TryCreateAsync(PipelineStarter.NewRecord(Request(name, minutes)) with { CreatedAt = T0.AddMinutes(minutes) });
        }

        var listed = await runs.ListAsync(model);
        var top = await runs.ListAsync(model, max: 2);

        Assert.Equal(["c", "b", "a"], listed.Select(r => r.RunId[^1..]));
        Assert.Equal(["c", "b"], top.Select(r => r.RunId[^1..]));
    }

    [Fact]
    public async Task The_first_request_starts_and_a_second_one_waits()
    {
        var first = await queue.EnqueueAsync(Request("a", 0), Stale(false));
        var second = await queue.EnqueueAsync(Request("b", 1), Stale(false));

        Assert.Equal((true, (RunRequest?)null), (first.Start, first.Superseded));
        Assert.Equal((false, (RunRequest?)null, $"{model}.data.b"), (second.Start, second.Superseded, second.Kept!.RunId));
        var state = await queue.GetAsync(model);
        Assert.Equal(($"{model}.data.a", $"{model}.data.b"), (state.Active, state.Pending!.RunId));
    }

    [Fact]
    public async Task Enqueueing_the_same_run_again_changes_nothing()
    {
        await queue.EnqueueAsync(Request("a", 0), Stale(false));
        await queue.EnqueueAsync(Request("b", 1), Stale(false));

        var active = await queue.EnqueueAsync(Request("a", 0), Stale(true));
        var pending = await queue.EnqueueAsync(Request("b", 1), Stale(true));

        Assert.True(active.Start);
        Assert.Equal((false, $"{model}.data.b"), (pending.Start, pending.Kept!.RunId));
        Assert.Equal($"{model}.data.a", (await queue.GetAsync(model)).Active);
    }

    [Fact]
    public async Task Newer_data_supersedes_the_pending_request_and_inherits_its_files()
    {
        await queue.EnqueueAsync(Request("a", 0), Stale(false));
        await queue.EnqueueAsync(Request("b", 1), Stale(false));

        var newer = await queue.EnqueueAsync(Request("c", 2), Stale(false));

        Assert.False(newer.Start);
        Assert.Equal($"{model}.data.b", newer.Superseded!.RunId);
        Assert.Equal($"{model}.data.c", newer.Kept!.RunId);
        Assert.Equal([$"incoming/{model}/b.csv", $"incoming/{model}/c.csv"], newer.Kept.Sources);
        var pending = (await queue.GetAsync(model)).Pending!;
        Assert.Equal(newer.Kept.RunId, pending.RunId);
        Assert.Equal(newer.Kept.Sources, pending.Sources);
    }

    [Fact]
    public async Task Older_data_arriving_late_loses_to_the_pending_request_which_still_takes_its_files()
    {
        await queue.EnqueueAsync(Request("a", 0), Stale(false));
        await queue.EnqueueAsync(Request("c", 5), Stale(false));

        var late = await queue.EnqueueAsync(Request("b", 2), Stale(false));

        Assert.Equal(($"{model}.data.b", $"{model}.data.c"), (late.Superseded!.RunId, late.Kept!.RunId));
        Assert.Equal([$"incoming/{model}/b.csv", $"incoming/{model}/c.csv"], late.Kept.Sources);
        Assert.Equal(T0.AddMinutes(5), (await queue.GetAsync(model)).Pending!.DataTime);
    }

    [Fact]
    public async Task Finishing_hands_the_pending_request_over_in_the_same_instance()
    {
        await queue.EnqueueAsync(Request("a", 0), Stale(false));
        await queue.EnqueueAsync(Request("b", 1), Stale(false));

        var next = await queue.FinishAsync(model, $"{model}.data.a", "instance-1");
        var again = await queue.FinishAsync(model, $"{model}.data.a", "instance-1");
        var state = await queue.GetAsync(model);

        Assert.Equal($"{model}.data.b", next!.RunId);
        Assert.Null(again); // a retried FinishRun hands nothing over twice
        Assert.Equal(($"{model}.data.b", "instance-1", (RunRequest?)null), (state.Active, state.ActiveInstance, state.Pending));
        Assert.Null(await queue.FinishAsync(model, $"{model}.data.b", "instance-1"));
        Assert.Equal(QueueState.Empty, await queue.GetAsync(model) with { ActiveSince = null });
    }

    [Fact]
    public async Task A_stale_active_run_is_taken_over_and_keeps_the_pending_request()
    {
        await queue.EnqueueAsync(Request("a", 0), Stale(false));
        await queue.EnqueueAsync(Request("b", 1), Stale(false));
        QueueState? judged = null;

        var takeover = await queue.EnqueueAsync(Request("c", 2), s =>
        {
            judged = s;
            return Task.FromResult(true);
        });

        Assert.True(takeover.Start);
        Assert.Equal($"{model}.data.a", judged!.Active);
        var state = await queue.GetAsync(model);
        Assert.Equal(($"{model}.data.c", $"{model}.data.c", $"{model}.data.b"), (state.Active, state.ActiveInstance, state.Pending!.RunId));
        Assert.Null(await queue.FinishAsync(model, $"{model}.data.a", "old-instance")); // the dead run cannot hand over any more
    }

    [Fact]
    public async Task Of_many_concurrent_first_requests_exactly_one_starts()
    {
        var queues = Enumerable.Range(0, 10).Select(_ => new SingleFlight(new TableServiceClient(azurite.ConnectionString))).ToList();

        var results = await Task.WhenAll(queues.Select((q, i) => Task.Run(() => q.EnqueueAsync(Request($"r{i}", i), Stale(false)))));

        var started = Assert.Single(results, r => r.Start);
        var state = await queue.GetAsync(model);
        Assert.Equal(started.Kept!.RunId, state.Active);
        // The newest data of those that did not start waits, with every other waiting file.
        var waiting = Enumerable.Range(0, 10).Select(i => $"{model}.data.r{i}").Where(id => id != state.Active).ToList();
        Assert.Equal(waiting[^1], state.Pending!.RunId);
        Assert.Equal(waiting.Select(id => $"incoming/{model}/{id[(id.LastIndexOf('.') + 1)..]}.csv").Order(), state.Pending.Sources.Order());
    }

    [Fact]
    public async Task Release_gives_the_place_up_only_for_the_active_run()
    {
        await queue.EnqueueAsync(Request("a", 0), Stale(false));

        await queue.ReleaseAsync(model, $"{model}.data.other");
        Assert.Equal($"{model}.data.a", (await queue.GetAsync(model)).Active);
        await queue.ReleaseAsync(model, $"{model}.data.a");
        Assert.Null((await queue.GetAsync(model)).Active);
    }
}
