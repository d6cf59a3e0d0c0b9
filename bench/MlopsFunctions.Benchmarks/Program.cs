using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Core.Training;
using MlopsFunctions.Tests.Infrastructure;

// Other modes: "wrk" (HTTP load vs a bare minimal API, see WrkBench and bench/wrk-predict.sh) and "serve-bare" (that API).
if (args.FirstOrDefault() == "wrk")
{
    return await MlopsFunctions.Benchmarks.WrkBench.RunAsync(args[1..]);
}

if (args.FirstOrDefault() == "serve-bare")
{
    return await MlopsFunctions.Benchmarks.BareApi.RunAsync(args[1..]);
}

if (args.FirstOrDefault() is "data" or "data-sizes" or "pipeline" or "candidates" or "prepare" or "download" or "recovery" or "idle" or "window" or "window-compare" or "training-load")
{
    return await MlopsFunctions.Benchmarks.ScaleBench.RunAsync(args[0],
        args.Skip(1).Select(a => a.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]));
}

// Measures, in one run on this machine: (1) time from a CSV upload to the model serving in production, through
// LocalHost on Azurite; (2) prediction cost over HTTP against the same model called in-process through ML.NET.
//   dotnet run -c Release --project bench/MlopsFunctions.Benchmarks [-- uploads=5 predictions=2000]
var settings = args.Select(a => a.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => int.Parse(p[1], CultureInfo.InvariantCulture));
var uploads = settings.GetValueOrDefault("uploads", 5);
var predictions = settings.GetValueOrDefault("predictions", 2000);

await using var env = await MlopsFunctions.Benchmarks.BenchEnvironment.StartAsync();
var connection = env.Connection;
var (host, http) = await env.StartLocalHostAsync("BenchHub");

var blobs = new BlobServiceClient(connection).GetBlobContainerClient("incoming");
await blobs.CreateIfNotExistsAsync();
var iris = File.ReadAllText(Path.Combine(RepoPaths.Root, "samples", "data", "iris.csv"));
var spec = File.ReadAllText(Path.Combine(RepoPaths.Root, "samples", "iris.json"));

Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {RuntimeInformationText()}");
Console.WriteLine($"1) upload -> production, iris (150 rows), {uploads} models, each a first version");
var latencies = new List<double>();
for (var i = 0; i < uploads; i++)
{
    var model = $"bench-iris-{i}";
    (await http.PutAsync($"api/models/{model}", new StringContent(spec))).EnsureSuccessStatusCode();
    var clock = Stopwatch.StartNew();
    await blobs.GetBlobClient($"{model}/iris.csv").UploadAsync(BinaryData.FromString(iris));
    while (!(await InProduction(http, model)))
    {
        await Task.Delay(50);
    }

    latencies.Add(clock.Elapsed.TotalSeconds);
    Console.WriteLine($"   {model}: {clock.Elapsed.TotalSeconds:F2} s");
}

Console.WriteLine($"   median {Median(latencies):F2} s, min {latencies.Min():F2} s, max {latencies.Max():F2} s (poll step 50 ms; blob poll 0.25 s; queue polling cap 0.5 s)");

// The in-process baseline loads the very model production serves, through the same hash-checked store.
var registry = new ModelRegistry(new TableServiceClient(connection));
var store = new ModelStore(new BlobStore(new BlobServiceClient(connection)));
var record = (await registry.GetVersionAsync("bench-iris-0", 1))!;
var (transformer, schema) = await store.LoadAsync("bench-iris-0", record);
var loaded = new LoadedModel(1, schema, transformer);
var row = loaded.Featurizer.CreateRow();
float[] features = [5.1f, 3.5f, 1.4f, 0.2f];
for (var i = 0; i < features.Length; i++)
{
    loaded.Featurizer.SetNumber(row, i, features[i]);
}

var body = """{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}""";
var batch = "[" + string.Join(',', Enumerable.Repeat(body, 100)) + "]";

for (var i = 0; i < 200; i++)
{
    loaded.Predict(row);
    await Post(http, body);
}

Console.WriteLine($"2) predictions, iris model, {predictions} calls each, one client");
var inProcess = Time(predictions, () => loaded.Predict(row));
var single = await TimeAsync(predictions, () => Post(http, body));
var batched = await TimeAsync(predictions / 100, () => Post(http, batch));
Console.WriteLine($"   in-process ML.NET (pooled PredictionEngine): {inProcess * 1e6:F1} us/prediction");
Console.WriteLine($"   HTTP, 1 row per request:                     {single * 1e6:F1} us/prediction ({single / inProcess:F1}x in-process)");
Console.WriteLine($"   HTTP, 100 rows per request:                  {batched / 100 * 1e6:F1} us/prediction ({batched / 100 / inProcess:F1}x in-process)");
await host.StopAsync();
return 0;

static async Task<bool> InProduction(HttpClient http, string model)
{
    var json = await http.GetFromJsonAsync<JsonElement>(new Uri($"api/models/{model}", UriKind.Relative));
    return json.GetProperty("slots").TryGetProperty("production", out _);
}

static async Task Post(HttpClient http, string body)
{
    using var response = await http.PostAsync(new Uri("api/models/bench-iris-0/predict", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
    response.EnsureSuccessStatusCode();
    await response.Content.ReadAsByteArrayAsync();
}

static double Time(int n, Action action)
{
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < n; i++)
    {
        action();
    }

    return clock.Elapsed.TotalSeconds / n;
}

static async Task<double> TimeAsync(int n, Func<Task> action)
{
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < n; i++)
    {
        await action();
    }

    return clock.Elapsed.TotalSeconds / n;
}

static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

static string RuntimeInformationText() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;
