using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Benchmarks;

/// <summary>
/// The baseline: a bare ASP.NET Core minimal API serving one model version with pooled PredictionEngines (Core's
/// LoadedModel), written the idiomatic way (JsonElement body binding, anonymous results serialized by System.Text.Json),
/// in its own process like LocalHost. It loads the very model LocalHost serves, through the same hash-checked store.
/// </summary>
internal static class BareApi
{
    public static async Task<int> RunAsync(string[] args)
    {
        var (port, connection, model) = (int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture), args[1], args[2]);
        var registry = new ModelRegistry(new TableServiceClient(connection));
        var store = new ModelStore(new BlobStore(new BlobServiceClient(connection)));
        var version = (await registry.GetSlotsAsync(model)).Production!.Value;
        var record = (await registry.GetVersionAsync(model, version))!;
        var (transformer, schema) = await store.LoadAsync(model, record);
        // The same prediction core as LocalHost (pooled engines, ML.NET's per-class Parallel.For kept on the calling
        // thread), so the comparison measures what the host adds around it.
        var loaded = new LoadedModel(version, schema, transformer);
        var featurizer = loaded.Featurizer;
        loaded.Warm(Environment.ProcessorCount);
        var classes = schema.Classes!;
        var versionText = version.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var builder = WebApplication.CreateBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        app.MapPost("/predict", (JsonElement body) =>
        {
            var items = body.ValueKind == JsonValueKind.Array ? body.EnumerateArray().ToList() : [body];
            var rows = items.Select(item =>
            {
                // A bare endpoint: numeric features only (the iris model), set straight from the JSON numbers.
                var row = featurizer.CreateRow();
                for (var c = 0; c < featurizer.Columns.Count; c++)
                {
                    featurizer.SetNumber(row, c, item.GetProperty(featurizer.Columns[c]).GetDouble());
                }

                return row;
            }).ToList();
            var predictions = loaded.PredictAll(rows).Cast<MulticlassPrediction>().Select(p => new
            {
                label = p.PredictedLabel,
                scores = classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => (double)p.ClassScores[x.i]),
            }).ToList();

            return Results.Ok(new { model, version = versionText, slot = "production", predictions });
        });
        await app.RunAsync();
        return 0;
    }
}
