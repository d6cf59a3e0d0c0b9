using System.Globalization;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;
using Xunit.Sdk;

namespace MlopsFunctions.Tests.Infrastructure;

/// <summary>
/// Serving tests need several versions of a model fast: one is trained through the real pipeline, the others are
/// registered copies of it (same model file and hash under their own blob), staged through the registry.
/// </summary>
public sealed class ServingSeed(LocalHostFixture host)
{
    private readonly ModelRegistry registry = new(new TableServiceClient(host.ConnectionString));

    public ModelRegistry Registry => registry;

    /// <summary>Defines the model and trains its first version through the pipeline (auto promotion): v1 in production.</summary>
    public async Task TrainFirstAsync(string model, string? extraSpec = null)
    {
        await host.PutSpecAsync(model, "{\"task\":\"multiclass\",\"label\":\"species\"" + extraSpec + "}");
        await host.UploadAsync("incoming", $"{model}/iris.csv", LocalHostFixture.ReadSample("iris"));
        await host.WaitForProductionAsync(model);
    }

    /// <summary>Registers a copy of <paramref name="from"/> as the next version and returns its number.</summary>
    public async Task<int> CloneAsync(string model, int from = 1)
    {
        var source = await registry.GetVersionAsync(model, from) ?? throw new XunitException($"{model} has no v{from}");
        var run = $"clone-{Guid.NewGuid():N}";
        var version = await registry.ReserveVersionAsync(model, v => source with { Version = v, RunId = run, Status = VersionStatus.Passed }, run);
        var path = BlobPath.ModelFile(model, version, ModelStore.ModelFile);
        var blobs = new BlobServiceClient(host.ConnectionString);
        var bytes = (await blobs.GetBlobContainerClient(BlobPath.Models).GetBlobClient(BlobPath.Parse(source.ModelBlob!).Name).DownloadContentAsync()).Value.Content;
        await blobs.GetBlobContainerClient(BlobPath.Models).GetBlobClient(path.Name).UploadAsync(bytes, overwrite: true);
        var record = (await registry.GetVersionAsync(model, version))!;
        await registry.UpdateVersionAsync(model, record with { ModelBlob = path.ToString() });
        return version;
    }

    public async Task<int> StageCloneAsync(string model, int from = 1)
    {
        var version = await CloneAsync(model, from);
        await registry.StageAsync(model, version, "test", "staged by the test");
        return version;
    }

    /// <summary>Posts one iris row and returns the status and the version that answered.</summary>
    public async Task<(int Status, string? Version, JsonElement Body)> PredictAsync(string model, string? caller = null, string? body = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/models/{model}/predict")
        {
            Content = new StringContent(body ?? """{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"""),
        };
        if (caller is not null)
        {
            request.Headers.Add("x-caller-id", caller);
        }

        using var response = await host.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        var status = (int)response.StatusCode;
        return (status, status == 200 ? json.GetProperty("version").GetString() : null, json);
    }

    public static string V(int version) => version.ToString(CultureInfo.InvariantCulture);
}
