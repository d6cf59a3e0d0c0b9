using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Serving;

namespace MlopsFunctions.Tests.Unit;

/// <summary>The request-path pieces of serving that need no storage: body limits, ids, canary buckets, instants, JSON, capture drops.</summary>
public sealed class ServingUnitTests
{
    [Fact]
    public async Task A_declared_length_over_the_limit_is_refused_without_reading()
    {
        var (body, problem) = await PredictBody.ReadAsync(new ThrowingStream(), contentLength: 2048, maxBytes: 1024, maxRows: 10, default);

        Assert.Null(body);
        Assert.Equal((413, "body-too-large"), (problem!.Status, problem.Error));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(64)]
    public async Task Rows_are_counted_while_reading_in_small_chunks(int? chunk)
    {
        var json = "[" + string.Join(',', Enumerable.Repeat("""{"a":1,"b":"x"}""", 40)) + "]";
        var stream = new ChunkedStream(Encoding.UTF8.GetBytes(json), chunk ?? 4096);

        var (_, problem) = await PredictBody.ReadAsync(stream, contentLength: null, maxBytes: 1 << 20, maxRows: 10, default);

        Assert.Equal((413, "too-many-rows"), (problem!.Status, problem.Error));
        Assert.True(chunk is null || stream.Position < json.Length, "reading stopped once the limit was passed");
    }

    [Fact]
    public async Task Row_ranges_point_at_each_object_as_sent()
    {
        var json = """[ {"a":1}, {"a":{"nested":[1,2]}} ,{"b" : "x"}]""";
        var (body, problem) = await PredictBody.ReadAsync(new ChunkedStream(Encoding.UTF8.GetBytes(json), 5), null, 1 << 20, 10, default);

        Assert.Null(problem);
        Assert.Equal(["""{"a":1}""", """{"a":{"nested":[1,2]}}""", """{"b" : "x"}"""], Enumerable.Range(0, 3).Select(i => Encoding.UTF8.GetString(body!.Row(i))));
        Assert.Single(PredictBody.FromBytes("""{"x":2}"""u8.ToArray()).Rows);
        Assert.Empty(PredictBody.FromBytes("""[{"x":2},"""u8.ToArray()).Rows);
    }

    [Fact]
    public void Prediction_ids_are_unique_sorted_by_time_and_carry_it()
    {
        var before = DateTimeOffset.UtcNow.AddMilliseconds(-1);
        var ids = Enumerable.Range(0, 10_000).Select(_ => PredictionIds.Next()).ToList();

        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(ids, ids.Order(StringComparer.Ordinal));
        Assert.All(ids, id => Assert.Matches("^[0-9A-HJKMNP-TV-Z]{26}$", id));
        Assert.InRange(PredictionIds.TimeOf(ids[0]), before, DateTimeOffset.UtcNow);
    }

    [Fact]
    public void Canary_buckets_are_stable_and_spread_evenly()
    {
        Assert.Equal(Canary.Bucket("m", "alice"), Canary.Bucket("m", "alice"));
        var share = Enumerable.Range(0, 20_000).Count(i => Canary.Routes("m", $"caller-{i}", 10)) / 20_000.0;
        Assert.InRange(share, 0.09, 0.11);
        Assert.False(Canary.Routes("m", "alice", 0));
        Assert.True(Canary.Routes("m", "alice", 100));
    }

    [Theory]
    [InlineData("2026-01-31T12:00:00Z", "2026-01-31T12:00:00+00:00")]
    [InlineData("2026-01-31T13:00:00.5+01:00", "2026-01-31T12:00:00.5+00:00")]
    [InlineData("2026-01-31T13:00:00 01:00", "2026-01-31T12:00:00+00:00")]
    [InlineData("2026-01-31", "2026-01-31T00:00:00+00:00")]
    [InlineData("2026-01-31T12:00", "2026-01-31T12:00:00+00:00")]
    public void Instants_read_as_iso_8601_in_utc(string text, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), SlotHistory.ParseInstant(text));

    [Theory]
    [InlineData("yesterday")]
    [InlineData("31/01/2026")]
    [InlineData("2026-13-01")]
    [InlineData("")]
    public void Other_times_are_refused(string text) => Assert.Null(SlotHistory.ParseInstant(text));

    [Fact]
    public void Responses_write_the_contract_fields_and_non_finite_numbers_as_strings()
    {
        var response = new PredictResponse("m", "3", "production", ["A", "B"],
            [new ScorePrediction(double.NaN), new MulticlassPrediction("x", ["x", "y"], [0.75f, 0.25f])]);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, PredictResponse.WriterOptions))
        {
            response.WriteTo(writer);
        }

        var json = JsonDocument.Parse(buffer.WrittenMemory).RootElement;
        Assert.Equal("3", json.GetProperty("version").GetString());
        var entries = json.GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal(("A", "3", "NaN"), (entries[0].GetProperty("id").GetString(), entries[0].GetProperty("version").GetString(), entries[0].GetProperty("score").GetString()));
        Assert.Equal(0.75, entries[1].GetProperty("scores").GetProperty("x").GetDouble());
    }

    [Fact]
    public void Capture_finds_each_rows_output_fields_in_the_serialized_response()
    {
        var response = new PredictResponse("m", "12", "staging", ["A", "B", "C"],
            [new ScorePrediction(21.5), new BinaryPrediction("yes", 0.9, 2.25), new MulticlassPrediction("x", ["x", "y"], [0.75f, 0.25f])]);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, PredictResponse.WriterOptions))
        {
            response.WriteTo(writer);
        }

        Assert.Equal(buffer.WrittenSpan.ToArray(), response.Utf8.ToArray());
        string Fields(int row) => "{" + Encoding.UTF8.GetString(response.OutputFields(row)) + "}";
        Assert.Equal(21.5, JsonDocument.Parse(Fields(0)).RootElement.GetProperty("score").GetDouble());
        var binary = JsonDocument.Parse(Fields(1)).RootElement;
        Assert.Equal(("yes", 0.9, 3), (binary.GetProperty("label").GetString(), binary.GetProperty("probability").GetDouble(), binary.EnumerateObject().Count()));
        Assert.Equal("""{"label":"x","scores":{"x":0.75,"y":0.25}}""", Fields(2));
    }

    [Fact]
    public void A_full_capture_queue_drops_and_counts_rows_instead_of_blocking()
    {
        var options = Options.Create(new MlopsOptions { CaptureQueueRows = 10 });
        var capture = new RequestCapture(new BlobServiceClient("UseDevelopmentStorage=true"), options, NullLogger<RequestCapture>.Instance);
        var monitor = new ServingMonitor(new Azure.Data.Tables.TableServiceClient("UseDevelopmentStorage=true"), NullLogger<ServingMonitor>.Instance);
        var counters = monitor.For("m").Version(1);
        var body = PredictBody.FromBytes("""[{"a":1},{"a":2},{"a":3},{"a":4}]"""u8.ToArray());
        Prediction[] outputs = [new ScorePrediction(1), new ScorePrediction(2), new ScorePrediction(3), new ScorePrediction(4)];

        for (var i = 0; i < 5; i++)
        {
            var response = new PredictResponse("m", "1", "production", ["a", "b", "c", "d"], outputs);
            capture.Capture(response, 1, DateTimeOffset.UtcNow, body, 1.0, counters); // nothing drains: the service is not started
        }

        Assert.Equal(8, capture.PendingRows);
        Assert.Equal(12, counters.DroppedRows);
    }

    private sealed class ThrowingStream : MemoryStream
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => throw new InvalidOperationException("read");
    }

    private sealed class ChunkedStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    }

    [Fact]
    public async Task Shadow_requests_never_wait_for_the_scorer_even_when_it_stands_still()
    {
        // The scorer is never started: nothing consumes its queue, as when the staged model is slow or stuck.
        var shadow = new ShadowScorer(null!, NullLogger<ShadowScorer>.Instance);
        var monitor = new ServingMonitor(new Azure.Data.Tables.TableServiceClient("UseDevelopmentStorage=true"), NullLogger<ServingMonitor>.Instance);
        var counters = monitor.For("m").Version(2);
        var body = PredictBody.FromBytes(Encoding.UTF8.GetBytes("""{"x":1}"""));
        IReadOnlyList<Prediction> answered = [new ScorePrediction(1)];

        // Every call returns (a blocking write would never finish); past the queue's capacity, rows are dropped and counted.
        var enqueue = Task.Run(() =>
        {
            for (var i = 0; i < ShadowScorer.QueueCapacity + 10; i++)
            {
                shadow.Enqueue("m", 1, 2, body, answered, counters);
            }
        });
        Assert.Same(enqueue, await Task.WhenAny(enqueue, Task.Delay(TimeSpan.FromSeconds(30))));

        Assert.Equal(ShadowScorer.QueueCapacity, shadow.Pending);
        Assert.Equal(10, monitor.For("m").Snapshot().Versions.Single(v => v.Version == 2).ShadowDropped);
    }
}
