using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Benchmarks;

/// <summary>
/// Costs measured in this process as CPU time of the measuring thread (CLOCK_THREAD_CPUTIME_ID), which other load on a
/// shared machine disturbs far less than wall time: a 1,000-row batch through the predict core, ML.NET's own
/// Parallel.For against running it inline, and what capture adds on the request thread.
/// </summary>
internal static partial class InProcessCost
{
    public static async Task RunAsync(string connection, string model)
    {
        var registry = new ModelRegistry(new TableServiceClient(connection));
        var store = new ModelStore(new BlobStore(new BlobServiceClient(connection)));
        var version = (await registry.GetSlotsAsync(model)).Production!.Value;
        var record = (await registry.GetVersionAsync(model, version))!;
        var (transformer, schema) = await store.LoadAsync(model, record);
        var loaded = new LoadedModel(version, schema, transformer);
        loaded.Warm(2);
        var row = """{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}""";
        var batch = Encoding.UTF8.GetBytes("[" + string.Join(',', Enumerable.Repeat(row, 1000)) + "]");
        var single = Encoding.UTF8.GetBytes(row);
        var engine = new MLContext().Model.CreatePredictionEngine<ModelRow, MulticlassOutput>(transformer, inputSchemaDefinition: ModelRow.SchemaFor(loaded.Featurizer));

        Console.WriteLine("in-process CPU time of one thread (median of repeats):");
        var parseAndPredict = Median(30, () => loaded.PredictAll(PredictionService.ParseRows(PredictBody.FromBytes(batch).Utf8, loaded.Featurizer).Rows!));
        var rows = PredictionService.ParseRows(batch, loaded.Featurizer).Rows!;
        var mlnet = Median(30, () => rows.ForEach(r => engine.Predict(r)));
        var inline = Median(30, () => loaded.PredictAll(rows));
        Console.WriteLine($"   1,000-row batch: parse + predict {parseAndPredict:F2} ms CPU; predict only: {inline:F2} ms with the Parallel.For inline, {mlnet:F2} ms as ML.NET runs it (its thread-pool work not counted)");

        var capture = new RequestCapture(new BlobServiceClient(connection), Options.Create(new MlopsOptions { CaptureQueueRows = 10_000_000 }), NullLogger<RequestCapture>.Instance);
        var counters = new ServingMonitor(new TableServiceClient(connection), NullLogger<ServingMonitor>.Instance).For(model).Version(version);
        var body = PredictBody.FromBytes(single);
        var prediction = loaded.PredictAll(PredictionService.ParseRows(body.Utf8, loaded.Featurizer).Rows!);
        string[] ids = [PredictionIds.Next()];
        var response = new PredictResponse(model, version.ToString(System.Globalization.CultureInfo.InvariantCulture), "production", ids, prediction);
        _ = response.Utf8; // serialized for the HTTP answer whether or not capture is on
        var request = Median(30, () =>
        {
            for (var i = 0; i < 1000; i++)
            {
                var b = PredictBody.FromBytes(single);
                loaded.PredictAll(PredictionService.ParseRows(b.Utf8, loaded.Featurizer).Rows!);
            }
        }) / 1000;
        // With the writer running, as in a server: its drain every 100 ms keeps the stripes' buffers small and reused
        // (never drained, they grow by copying, which once made this look 5x dearer). 3,000 rows per 100 ms is
        // 30,000 req/s, the rate of the HTTP runs.
        await capture.StartAsync(CancellationToken.None);
        var captured = Median(30, () =>
        {
            Thread.Sleep(100);
            var start = ThreadCpuMs();
            for (var i = 0; i < 3000; i++)
            {
                capture.Capture(response, version, DateTimeOffset.UtcNow, body, 1.0, counters);
            }

            return ThreadCpuMs() - start;
        }) / 3000;
        await capture.StopAsync(CancellationToken.None);
        Console.WriteLine($"   one row: parse + predict {request * 1000:F1} us CPU; capture adds {captured * 1000:F2} us on the request thread ({captured / request:P0} of parse + predict, before HTTP)");
    }

    private static double Median(int repeats, Func<double> measure)
    {
        measure();
        var times = Enumerable.Range(0, repeats).Select(_ => measure()).Order().ToList();
        return times[times.Count / 2];
    }

    private static double Median(int repeats, Action action)
    {
        action();
        var times = new List<double>();
        for (var i = 0; i < repeats; i++)
        {
            var start = ThreadCpuMs();
            action();
            times.Add(ThreadCpuMs() - start);
        }

        times.Sort();
        return times[times.Count / 2];
    }

    private static double ThreadCpuMs()
    {
        if (clock_gettime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var t) != 0)
        {
            return Stopwatch.GetTimestamp() * 1000.0 / Stopwatch.Frequency;
        }

        return (t.Seconds * 1000.0) + (t.Nanoseconds / 1e6);
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int clock_gettime(int clock, out TimeSpec value);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
