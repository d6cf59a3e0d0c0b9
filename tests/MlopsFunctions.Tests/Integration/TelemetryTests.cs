using System.Diagnostics;
using System.Globalization;
using Azure.Storage.Blobs;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Core.Telemetry;
using MlopsFunctions.Tests.Infrastructure;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace MlopsFunctions.Tests.Integration;

/// <summary>
/// One real pipeline run (the product's services and durable tasks on Azurite, in the in-process durable test host)
/// and real predict requests, seen by in-memory OpenTelemetry exporters registered the way the hosts register theirs.
/// </summary>
public sealed class TelemetryTests(TelemetryTests.PipelineRun run) : IClassFixture<TelemetryTests.PipelineRun>
{
    /// <summary>The attribute names telemetry may carry: ours (TelemetryTags) and OpenTelemetry's error.type.</summary>
    private static readonly HashSet<string> AllowedTags = typeof(TelemetryTags).GetFields()
        .Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToHashSet(StringComparer.Ordinal);

    [Fact]
    public void A_run_is_one_trace_with_one_span_per_activity_under_its_root()
    {
        var spans = run.Spans.Where(s => Tag(s, TelemetryTags.Model) == run.Model && s.OperationName != PredictionTelemetry.SpanName).ToList();
        var runIds = spans.Select(s => Tag(s, TelemetryTags.RunId)).Distinct().ToList();
        var runId = Assert.Single(runIds);
        Assert.NotNull(runId);
        var (traceId, rootSpanId) = RunTrace.IdsOf(runId);

        Assert.All(spans, s => Assert.Equal(traceId, s.TraceId));
        var root = Assert.Single(spans, s => s.OperationName == PipelineTelemetry.RunSpanName);
        Assert.Equal(rootSpanId, root.SpanId);
        Assert.Equal(default, root.ParentSpanId);
        Assert.Equal(run.Result.Outcome, Tag(root, TelemetryTags.Outcome));
        Assert.Equal(Outcomes.Promoted, run.Result.Outcome);

        var activities = spans.Where(s => s != root).ToList();
        Assert.All(activities, s => Assert.Equal(rootSpanId, s.ParentSpanId));
        Assert.All(activities, s => Assert.True(root.StartTimeUtc <= s.StartTimeUtc, $"{s.OperationName} starts before its run"));

        // The auto-promoted path: each step once, and one span per trained candidate.
        var prepare = Assert.Single(activities, s => s.OperationName == nameof(PrepareTrainingActivity));
        var candidates = Convert.ToInt32(prepare.GetTagItem(TelemetryTags.Candidates), CultureInfo.InvariantCulture);
        Assert.True(candidates >= 1);
        var expected = new Dictionary<string, int>
        {
            [nameof(StartRunActivity)] = 1,
            [nameof(ValidateDataActivity)] = 1,
            [nameof(PrepareTrainingActivity)] = 1,
            [nameof(TrainCandidateActivity)] = candidates,
            [nameof(EvaluateModelActivity)] = 1,
            [nameof(RegisterModelActivity)] = 1,
            [nameof(StageModelActivity)] = 1,
            [nameof(PromoteModelActivity)] = 1,
            [nameof(FinishRunActivity)] = 1,
        };
        Assert.Equal(
            expected.OrderBy(p => p.Key, StringComparer.Ordinal),
            activities.GroupBy(s => s.OperationName).Select(g => KeyValuePair.Create(g.Key, g.Count())).OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(
            activities.Where(s => s.OperationName == nameof(TrainCandidateActivity)).Select(s => Tag(s, TelemetryTags.Candidate)).Distinct().Count(),
            candidates);

        // The run's outcome and its stages are measured too.
        var runs = run.Points("mlops.pipeline.runs").Where(p => Tag(p, TelemetryTags.Model) == run.Model).ToList();
        Assert.Equal(1, runs.Sum(p => p.Point.GetSumLong()));
        Assert.Equal(Outcomes.Promoted, Tag(Assert.Single(runs), TelemetryTags.Outcome));
        var stages = run.Points("mlops.pipeline.stage.duration").Where(p => Tag(p, TelemetryTags.Model) == run.Model).ToList();
        Assert.Equal(activities.Count, stages.Sum(p => p.Point.GetHistogramCount()));
    }

    [Fact]
    public async Task The_prediction_counter_matches_the_requests_sent()
    {
        var predictions = run.Services.GetRequiredService<PredictionService>();
        const int Ok = 7, Refused = 3;
        // Other tests of this class predict with the same model: count what this one adds.
        var before = Totals();
        for (var i = 0; i < Ok; i++)
        {
            var (response, problem) = await predictions.PredictAsync(run.Model, Slots.Production,
                $$"""{"sepal_length":{{5 + (i / 10.0)}},"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}""");
            Assert.Null(problem);
            Assert.NotNull(response);
        }

        for (var i = 0; i < Refused; i++)
        {
            var (_, problem) = await predictions.PredictAsync(run.Model, "no-such-slot", """{"sepal_length":5.1}""");
            Assert.NotNull(problem);
        }

        var after = Totals();
        Assert.Equal(Ok + Refused, after.Requests - before.Requests);
        Assert.Equal(Ok, after.Ok - before.Ok);
        Assert.Equal(Refused, after.InvalidSlot - before.InvalidSlot); // counted under "invalid", not under the caller's slot text
        Assert.Equal(Ok + Refused, after.Durations - before.Durations);
        Assert.Equal(Ok, after.Rows - before.Rows);
        Assert.Equal(Ok + Refused, after.Spans - before.Spans);

        var ok = Assert.Single(run.Points("mlops.predict.requests"), p => Tag(p, TelemetryTags.Model) == run.Model && Tag(p, TelemetryTags.Outcome) == PredictionTelemetry.Ok);
        Assert.Equal("1", Tag(ok, TelemetryTags.Version));
        Assert.Equal(Slots.Production, Tag(ok, TelemetryTags.Slot));
    }

    private (long Requests, long Ok, long InvalidSlot, long Durations, long Rows, int Spans) Totals()
    {
        var requests = run.Points("mlops.predict.requests").Where(p => Tag(p, TelemetryTags.Model) == run.Model).ToList();
        return (
            requests.Sum(p => p.Point.GetSumLong()),
            requests.Where(p => Tag(p, TelemetryTags.Outcome) == PredictionTelemetry.Ok).Sum(p => p.Point.GetSumLong()),
            requests.Where(p => Tag(p, TelemetryTags.Slot) == PredictionTelemetry.Invalid).Sum(p => p.Point.GetSumLong()),
            run.Points("mlops.predict.duration").Where(p => Tag(p, TelemetryTags.Model) == run.Model).Sum(p => p.Point.GetHistogramCount()),
            run.Points("mlops.predict.rows").Where(p => Tag(p, TelemetryTags.Model) == run.Model).Sum(p => p.Point.GetSumLong()),
            run.Spans.Count(s => s.OperationName == PredictionTelemetry.SpanName && Tag(s, TelemetryTags.Model) == run.Model));
    }

    [Fact]
    public async Task No_span_or_metric_carries_an_input_value_a_key_or_a_connection_string()
    {
        var predictions = run.Services.GetRequiredService<PredictionService>();
        // Values no tag could hold by chance, in known columns, in an unknown column and in a caller id.
        const string Marker = "Zq7SecretValue";
        await predictions.PredictAsync(run.Model, Slots.Production, PredictBody.FromBytes(System.Text.Encoding.UTF8.GetBytes(
            $$"""{"sepal_length":6.12345678,"sepal_width":"{{Marker}}1","petal_length":1.4,"petal_width":0.2,"{{Marker}}2":"{{Marker}}3"}""")),
            caller: Marker + "4");
        await predictions.PredictAsync(Marker + "5", Slots.Production, """{"sepal_length":7.87654321}""");
        run.Flush();

        var forbidden = new[] { Marker, "6.12345678", "7.87654321", "AccountKey", AzuriteKey(run.ConnectionString), run.ConnectionString, "5.1,3.5,1.4" };
        var tags = run.Spans.SelectMany(s => s.TagObjects.Select(t => (Where: $"span {s.OperationName}", t.Key, t.Value)))
            .Concat(run.Spans.Select(s => (Where: "span name", Key: TelemetryTags.Activity, Value: (object?)s.DisplayName)))
            .Concat(run.Spans.SelectMany(s => s.Events.SelectMany(e => e.Tags.Select(t => (Where: $"event {e.Name}", t.Key, t.Value)))))
            .Concat(run.Snapshots.SelectMany(m => m.MetricPoints.SelectMany(p => Pairs(p).Select(t => (Where: $"metric {m.Name}", t.Key, t.Value)))))
            .ToList();

        Assert.NotEmpty(tags);
        Assert.All(tags, t => Assert.True(AllowedTags.Contains(t.Key), $"{t.Where} has the tag {t.Key}, which is not a TelemetryTags name"));
        Assert.All(tags, t =>
        {
            var text = Convert.ToString(t.Value, CultureInfo.InvariantCulture) ?? string.Empty;
            Assert.DoesNotContain(forbidden, f => text.Contains(f, StringComparison.OrdinalIgnoreCase));
        });
        Assert.All(run.Spans, s => Assert.True(string.IsNullOrEmpty(s.StatusDescription), $"span {s.OperationName} has a status text"));
        Assert.All(run.Spans, s => Assert.Empty(s.Events)); // no exception events: their messages can quote values
    }

    private static string? Tag(Activity span, string key) => Convert.ToString(span.GetTagItem(key), CultureInfo.InvariantCulture);

    private static string? Tag((MetricSnapshot Metric, MetricPoint Point) point, string key) =>
        Convert.ToString(Pairs(point.Point).FirstOrDefault(t => t.Key == key).Value, CultureInfo.InvariantCulture);

    private static List<KeyValuePair<string, object?>> Pairs(MetricPoint point)
    {
        var pairs = new List<KeyValuePair<string, object?>>();
        foreach (var tag in point.Tags)
        {
            pairs.Add(tag);
        }

        return pairs;
    }

    private static string AzuriteKey(string connectionString) =>
        connectionString.Split(';').First(p => p.StartsWith("AccountKey=", StringComparison.Ordinal))["AccountKey=".Length..];

    /// <summary>Azurite, the durable test host with the product's services and tasks, in-memory exporters, and one finished run.</summary>
    public sealed class PipelineRun : IAsyncLifetime
    {
        private readonly AzuriteFixture azurite = new();
        private readonly Synchronized<Activity> spans = new();
        private readonly Synchronized<MetricSnapshot> snapshots = new();
        private DurableTaskTestHost? host;

        public string Model { get; } = "t" + Guid.NewGuid().ToString("N")[..12];

        public string ConnectionString => azurite.ConnectionString;

        public IServiceProvider Services => host?.Services ?? throw new InvalidOperationException("not started");

        public PipelineResult Result { get; private set; } = null!;

        public IReadOnlyList<Activity> Spans => spans.ToList();

        public IReadOnlyList<MetricSnapshot> Snapshots => snapshots.ToList();

        /// <summary>The points of the latest export of a metric (cumulative, so the latest holds every measurement).</summary>
        public IEnumerable<(MetricSnapshot Metric, MetricPoint Point)> Points(string name)
        {
            Flush();
            var latest = Snapshots.LastOrDefault(m => m.Name == name);
            return latest is null ? [] : latest.MetricPoints.Select(p => (latest, p));
        }

        public void Flush() => Services.GetRequiredService<MeterProvider>().ForceFlush();

        public async Task InitializeAsync()
        {
            await azurite.InitializeAsync();
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                [StorageConnection.Setting] = azurite.ConnectionString,
                ["Mlops:TrainerIsolation"] = "inprocess",
            }).Build();
            host = await DurableTaskTestHost.StartAsync(tasks => tasks.AddMlopsTasks(), new DurableTaskTestHostOptions
            {
                ConfigureServices = services =>
                {
                    services.AddSingleton<IConfiguration>(configuration);
                    services.AddLogging();
                    services.AddMlops(configuration);
                    // What AddMlopsTelemetry registers, with in-memory exporters in place of the configured ones.
                    services.AddMlopsOpenTelemetry(t => t.AddInMemoryExporter(spans), m => m.AddInMemoryExporter(snapshots));
                },
            });

            await Services.GetRequiredService<ModelRegistry>().PutSpecAsync(Model, new ModelSpec { Task = "multiclass", Label = "species" });
            var data = System.Text.Encoding.UTF8.GetBytes(LocalHostFixture.ReadSample("iris"));
            await new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(BlobPath.Incoming)
                .GetBlobClient($"{Model}/iris.csv").UploadAsync(new BinaryData(data));
            using var content = new MemoryStream(data);
            var started = await Services.GetRequiredService<PipelineStarter>().StartFromBlobAsync(host.Client, Model, "iris.csv", content);
            Assert.True(started.Started, started.Message);

            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            var instance = await host.Client.WaitForInstanceCompletionAsync(started.InstanceId!, getInputsAndOutputs: true, timeout.Token);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, instance.RuntimeStatus);
            Result = instance.ReadOutputAs<PipelineResult>()!;
        }

        public async Task DisposeAsync()
        {
            if (host is not null)
            {
                await host.DisposeAsync();
            }

            await azurite.DisposeAsync();
        }
    }

    /// <summary>A list the exporters add to from any thread and the tests read a copy of.</summary>
    private sealed class Synchronized<T> : ICollection<T>
    {
        private readonly List<T> items = [];

        public int Count
        {
            get
            {
                lock (items)
                {
                    return items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public void Add(T item)
        {
            lock (items)
            {
                items.Add(item);
            }
        }

        public List<T> ToList()
        {
            lock (items)
            {
                return [.. items];
            }
        }

        public void Clear()
        {
            lock (items)
            {
                items.Clear();
            }
        }

        public bool Contains(T item) => ToList().Contains(item);

        public void CopyTo(T[] array, int arrayIndex) => ToList().CopyTo(array, arrayIndex);

        public bool Remove(T item)
        {
            lock (items)
            {
                return items.Remove(item);
            }
        }

        public IEnumerator<T> GetEnumerator() => ToList().GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
