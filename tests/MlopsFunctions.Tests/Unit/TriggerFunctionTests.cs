using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Functions;
using Moq;

namespace MlopsFunctions.Tests.Unit;

/// <summary>The app's trigger functions against a mocked DurableTaskClient: what they schedule and what they answer.</summary>
public sealed class TriggerFunctionTests
{
    private readonly Mock<DurableTaskClient> client = new("test");
    private readonly Mock<BlobServiceClient> blobs = new();

    private IncomingDataFunction Incoming() => new(new PipelineStarter(
        new BlobStore(blobs.Object), new ModelRegistry(new Mock<TableServiceClient>().Object),
        Options.Create(new MlopsOptions { ApprovalTimeoutHours = 5 }), NullLogger<PipelineStarter>.Instance));

    [Fact]
    public async Task A_new_blob_schedules_the_pipeline_with_an_id_from_model_and_content()
    {
        var content = "a,b\n1,2\n"u8.ToArray();
        var sha = Convert.ToHexStringLower(SHA256.HashData(content));
        (TaskName Name, object? Input, StartOrchestrationOptions? Options)? scheduled = null;
        client.Setup(c => c.ScheduleNewOrchestrationInstanceAsync(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<StartOrchestrationOptions?>(), It.IsAny<CancellationToken>()))
            .Callback<TaskName, object?, StartOrchestrationOptions?, CancellationToken>((n, i, o, _) => scheduled = (n, i, o))
            .ReturnsAsync("id");

        await Incoming().Run(new MemoryStream(content), "iris", "day1/a.csv", client.Object, CancellationToken.None);

        Assert.NotNull(scheduled);
        Assert.Equal(nameof(TrainingPipeline), scheduled.Value.Name.Name);
        Assert.Equal($"iris.data.{sha[..32]}", scheduled.Value.Options!.InstanceId);
        Assert.Equal(new PipelineInput("iris", "incoming/iris/day1/a.csv", "blob", "blob-trigger", 5), scheduled.Value.Input);
    }

    [Fact]
    public async Task The_same_content_twice_is_one_run()
    {
        client.Setup(c => c.GetInstanceAsync(It.IsAny<string>(), false, It.IsAny<CancellationToken>()))
            .ReturnsAsync(new OrchestrationMetadata(nameof(TrainingPipeline), "iris.data.x"));

        await Incoming().Run(new MemoryStream("a\n1\n"u8.ToArray()), "iris", "again.csv", client.Object, CancellationToken.None);

        client.Verify(c => c.ScheduleNewOrchestrationInstanceAsync(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<StartOrchestrationOptions?>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task A_folder_that_is_not_a_model_name_gets_a_report_and_no_run()
    {
        var container = new Mock<BlobContainerClient>();
        var blob = new Mock<BlobClient>();
        string? reportName = null;
        BinaryData? report = null;
        blobs.Setup(b => b.GetBlobContainerClient(BlobPath.Rejected)).Returns(container.Object);
        container.Setup(c => c.GetBlobClient(It.IsAny<string>())).Callback<string>(n => reportName = n).Returns(blob.Object);
        blob.Setup(b => b.UploadAsync(It.IsAny<BinaryData>(), It.IsAny<BlobUploadOptions>(), It.IsAny<CancellationToken>()))
            .Callback<BinaryData, BlobUploadOptions, CancellationToken>((d, _, _) => report = d)
            .ReturnsAsync(Mock.Of<Response<BlobContentInfo>>());

        await Incoming().Run(new MemoryStream("a\n1\n"u8.ToArray()), "Iris_V2", "a.csv", client.Object, CancellationToken.None);

        Assert.StartsWith("_invalid-model-name/", reportName, StringComparison.Ordinal);
        Assert.Contains("'Iris_V2' is not a valid model name", report!.ToString(), StringComparison.Ordinal);
        client.Verify(c => c.ScheduleNewOrchestrationInstanceAsync(It.IsAny<TaskName>(), It.IsAny<object?>(), It.IsAny<StartOrchestrationOptions?>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task Get_run_reports_status_and_stage()
    {
        client.Setup(c => c.GetInstanceAsync("iris.data.x", true, It.IsAny<CancellationToken>()))
            .ReturnsAsync(new OrchestrationMetadata(nameof(TrainingPipeline), "iris.data.x")
            {
                RuntimeStatus = OrchestrationRuntimeStatus.Running,
                SerializedCustomStatus = Json.Serialize(new RunStatus("training", 3)),
                SerializedInput = Json.Serialize(new PipelineInput("iris", "incoming/iris/a.csv", "blob", "blob-trigger", 72)),
            });

        var result = (ContentResult)await RunFunctions.Get(new DefaultHttpContext().Request, "iris.data.x", client.Object, CancellationToken.None);

        Assert.Equal(200, result.StatusCode);
        var run = Json.Deserialize<RunView>(result.Content!);
        Assert.Equal("Running", run.RuntimeStatus);
        Assert.Equal("training", run.Stage);
        Assert.Equal("incoming/iris/a.csv", run.Input!.Source);
    }

    [Fact]
    public async Task Get_run_of_an_unknown_id_is_a_404_with_a_json_error()
    {
        var result = (ContentResult)await RunFunctions.Get(new DefaultHttpContext().Request, "nope", client.Object, CancellationToken.None);

        Assert.Equal(404, result.StatusCode);
        Assert.Contains("\"error\":\"run-not-found\"", result.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_with_a_bad_model_name_is_a_400_before_any_lookup()
    {
        var function = new PredictFunction(null!);
        var request = new DefaultHttpContext().Request;
        request.Body = new MemoryStream(Encoding.UTF8.GetBytes("{}"));

        var result = (ContentResult)await function.Predict(request, "../etc", CancellationToken.None);

        Assert.Equal(400, result.StatusCode);
        Assert.Contains("invalid-model-name", result.Content, StringComparison.Ordinal);
    }
}
