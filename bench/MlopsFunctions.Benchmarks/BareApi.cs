using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Benchmarks;

/// <summary>
/// The baseline: a bare ASP.NET Core minimal API serving one model version with pooled PredictionEngines, written the
/// idiomatic way (JsonElement body binding, typed results serialized by System.Text.Json), in its own process like
/// LocalHost. It loads the very model LocalHost serves, through the same hash-checked store.
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
        var schema = record.Schema!;
        var transformer = await store.LoadAsync(model, record);
        var ml = new MLContext();
        var definition = ModelRow.SchemaFor(schema);
        var pool = new DefaultObjectPool<PredictionEngine<ModelRow, MulticlassOutput>>(
            new EnginePolicy(() => ml.Model.CreatePredictionEngine<ModelRow, MulticlassOutput>(transformer, inputSchemaDefinition: definition)),
            Environment.ProcessorCount * 2);
        var classes = schema.Classes!;
        var versionText = version.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var builder = WebApplication.CreateBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        app.MapPost("/predict", (JsonElement body) =>
        {
            var items = body.ValueKind == JsonValueKind.Array ? body.EnumerateArray().ToList() : [body];
            var predictions = new List<object>(items.Count);
            foreach (var item in items)
            {
                var row = ModelRow.Create(schema, i => item.GetProperty(schema.NumericFeatures[i]).GetSingle(), i => item.GetProperty(schema.CategoricalFeatures[i]).GetString()!);
                var engine = pool.Get();
                try
                {
                    var output = engine.Predict(row);
                    predictions.Add(new
                    {
                        label = output.PredictedClass,
                        scores = classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => (double)output.Score[x.i]),
                    });
                }
                finally
                {
                    pool.Return(engine);
                }
            }

            return Results.Ok(new { model, version = versionText, slot = "production", predictions });
        });
        await app.RunAsync();
        return 0;
    }

    private sealed class EnginePolicy(Func<PredictionEngine<ModelRow, MulticlassOutput>> create) : PooledObjectPolicy<PredictionEngine<ModelRow, MulticlassOutput>>
    {
        public override PredictionEngine<ModelRow, MulticlassOutput> Create() => create();

        public override bool Return(PredictionEngine<ModelRow, MulticlassOutput> obj) => true;
    }
}
