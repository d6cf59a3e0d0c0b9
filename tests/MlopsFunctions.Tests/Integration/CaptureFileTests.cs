using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Monitoring;
using MlopsFunctions.Core.Serving;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.Integration;

/// <summary>Captured predictions as they land in a real Azurite: gzip members, one per append, read on from any earlier length.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class CaptureFileTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Each_append_is_a_gzip_member_so_the_file_reads_whole_and_from_where_a_reader_stopped()
    {
        var model = "cap" + Guid.NewGuid().ToString("N")[..10];
        var service = new BlobServiceClient(azurite.ConnectionString);
        await new BlobStore(service).EnsureContainersAsync();
        var capture = new RequestCapture(service, Options.Create(new MlopsOptions { CaptureFlushSeconds = 0.1 }), NullLogger<RequestCapture>.Instance);
        var counters = new ServingMonitor(new Azure.Data.Tables.TableServiceClient(azurite.ConnectionString), NullLogger<ServingMonitor>.Instance).For(model).Version(1);
        var container = service.GetBlobContainerClient(BlobPath.Captured);
        await capture.StartAsync(CancellationToken.None);
        try
        {
            var time = DateTimeOffset.UtcNow;
            var first = Capture(capture, model, time, counters, 0, 30);
            var blob = await WaitForLengthAsync(container, model, previous: 0);
            var firstLength = (long)blob.Properties.ContentLength!;
            var second = Capture(capture, model, time, counters, 30, 5);
            blob = await WaitForLengthAsync(container, model, previous: firstLength);

            Assert.EndsWith(".jsonl.gz", blob.Name, StringComparison.Ordinal);
            var whole = new List<string>();
            await using (var gzip = new GZipStream((await container.GetBlobClient(blob.Name).DownloadStreamingAsync()).Value.Content, CompressionMode.Decompress))
            using (var reader = new StreamReader(gzip, Encoding.UTF8))
            {
                while (await reader.ReadLineAsync() is { } line)
                {
                    whole.Add(line);
                }
            }

            Assert.Equal([.. first, .. second], whole.Select(Id).Order(StringComparer.Ordinal));
            var row = JsonDocument.Parse(whole[0]).RootElement;
            Assert.Equal(("production", "1", 2.5), (row.GetProperty("slot").GetString(), row.GetProperty("version").GetString(), row.GetProperty("inputs").GetProperty("a").GetDouble()));

            // What the drift monitor does: read to the length it listed, later on from there.
            var file = container.GetBlobClient(blob.Name);
            var early = new List<string>();
            Assert.Equal(firstLength, await JsonLines.ReadAsync(file, 0, firstLength, line => early.Add(Id(Encoding.UTF8.GetString(line))), null, CancellationToken.None));
            var later = new List<string>();
            Assert.Equal(blob.Properties.ContentLength, await JsonLines.ReadAsync(file, firstLength, blob.Properties.ContentLength, line => later.Add(Id(Encoding.UTF8.GetString(line))), null, CancellationToken.None));
            Assert.Equal(first, early.Order(StringComparer.Ordinal));
            Assert.Equal(second, later.Order(StringComparer.Ordinal));
            Assert.Equal(35, counters.CapturedRows);
        }
        finally
        {
            await capture.StopAsync(CancellationToken.None);
        }
    }

    private static string Id(string line) => JsonDocument.Parse(line).RootElement.GetProperty("id").GetString()!;

    private static List<string> Capture(RequestCapture capture, string model, DateTimeOffset time, VersionCounters counters, int from, int count)
    {
        var ids = Enumerable.Range(from, count).Select(i => $"id{i:D4}").ToList();
        var body = PredictBody.FromBytes(Encoding.UTF8.GetBytes("[" + string.Join(',', ids.Select(_ => """{"a":2.5}""")) + "]"));
        var response = new PredictResponse(model, "1", "production", [.. ids], [.. ids.Select(_ => (Prediction)new ScorePrediction(1))]);
        capture.Capture(response, 1, time, body, 1.0, counters);
        return ids;
    }

    private static async Task<BlobItem> WaitForLengthAsync(BlobContainerClient container, string model, long previous)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            await foreach (var blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, $"{model}/", CancellationToken.None))
            {
                if (blob.Properties.ContentLength > previous)
                {
                    return blob;
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"nothing captured for {model} past {previous} bytes");
    }
}
