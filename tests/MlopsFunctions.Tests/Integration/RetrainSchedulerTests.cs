using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Functions;
using MlopsFunctions.Tests.Infrastructure;
using Moq;

namespace MlopsFunctions.Tests.Integration;

/// <summary>The timer function on a real registry with a mocked durable client: which retrains it starts.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class RetrainSchedulerTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task The_timer_starts_a_retrain_for_each_model_whose_schedule_came_due()
    {
        var registry = new ModelRegistry(new TableServiceClient(azurite.ConnectionString));
        await registry.EnsureTableAsync();
        var suffix = Guid.NewGuid().ToString("N")[..8];
        string due = "due" + suffix, later = "later" + suffix, noData = "nodata" + suffix, unscheduled = "plain" + suffix, current = "current" + suffix;
        // Every second is due within any window; 29 February at 03:00 is not due within the last minute.
        await registry.PutSpecAsync(due, new ModelSpec { Task = "regression", Label = "y", RetrainSchedule = "* * * * * *" });
        await registry.PutSpecAsync(later, new ModelSpec { Task = "regression", Label = "y", RetrainSchedule = "0 0 3 29 2 *" });
        await registry.PutSpecAsync(noData, new ModelSpec { Task = "regression", Label = "y", RetrainSchedule = "* * * * * *" });
        await registry.PutSpecAsync(unscheduled, new ModelSpec { Task = "regression", Label = "y" });
        foreach (var m in new[] { due, later, unscheduled })
        {
            await registry.SetLatestDatasetAsync(m, $"datasets/{m}/abc.csv");
        }

        // Production already learned from the latest data with this very spec: nothing to retrain.
        var currentSpec = new ModelSpec { Task = "regression", Label = "y", RetrainSchedule = "* * * * * *" };
        await registry.PutSpecAsync(current, currentSpec);
        await registry.SetLatestDatasetAsync(current, $"datasets/{current}/abc.csv");
        await registry.ReserveVersionAsync(current, v => new ModelVersion
        {
            Version = v, Status = VersionStatus.Passed, RunId = "r", CreatedAt = DateTimeOffset.UtcNow,
            Lineage = new Lineage("incoming/x.csv", $"datasets/{current}/abc.csv", "abc", "blob", currentSpec, 42, 0.2),
        }, "r");
        await registry.StageAsync(current, 1, "test", "seed");
        await registry.SwapAsync(current, "test", "seed");

        var client = new Mock<DurableTaskClient>("test");
        var scheduled = new List<(string Id, PipelineInput Input)>();
        client.Setup(c => c.ScheduleNewOrchestrationInstanceAsync(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<StartOrchestrationOptions?>(), It.IsAny<CancellationToken>()))
            .Callback<TaskName, object?, StartOrchestrationOptions?, CancellationToken>((_, i, o, _) => scheduled.Add((o!.InstanceId!, (PipelineInput)i!)))
            .ReturnsAsync("id");
        var options = Options.Create(new MlopsOptions());
        var starter = new PipelineStarter(new BlobStore(new BlobServiceClient(azurite.ConnectionString)), registry, options, NullLogger<PipelineStarter>.Instance);
        var function = new RetrainTimerFunction(new RetrainScheduler(registry, starter, NullLogger<RetrainScheduler>.Instance));

        await function.Run(new TimerInfo { ScheduleStatus = new ScheduleStatus { Last = DateTime.UtcNow.AddMinutes(-1) } }, client.Object, CancellationToken.None);

        var (id, input) = Assert.Single(scheduled, s => s.Input.Model.EndsWith(suffix, StringComparison.Ordinal));
        Assert.StartsWith($"{due}.schedule.", id, StringComparison.Ordinal);
        Assert.Equal(($"datasets/{due}/abc.csv", "schedule"), (input.Source, input.Trigger));
    }
}
