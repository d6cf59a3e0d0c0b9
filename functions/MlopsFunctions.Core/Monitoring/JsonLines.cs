using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace MlopsFunctions.Core.Monitoring;

/// <summary>Called for each complete line of a JSON-lines blob; the span is only valid during the call.</summary>
internal delegate void LineHandler(ReadOnlySpan<byte> line);

/// <summary>
/// Reads JSON-lines blobs (captured predictions, feedback) line by line through a pipe, from a byte offset, so an hour
/// of a busy model's traffic streams through a small buffer instead of being loaded. Appends are whole lines, but only
/// bytes up to the last newline count as read: a partial line is read again next time. A blob named *.gz (captured
/// predictions) is a series of gzip members, one per append, so any length it had is a member boundary to read on from.
/// </summary>
internal static class JsonLines
{
    /// <summary>
    /// Streams <paramref name="blob"/> from <paramref name="offset"/> to <paramref name="end"/> (or to its end),
    /// calling <paramref name="onLine"/> per line and <paramref name="afterChunk"/> between buffers (for async writes);
    /// stops early once <paramref name="done"/> says so. Returns the offset after the last complete line read.
    /// </summary>
    public static async Task<long> ReadAsync(
        BlobClient blob, long offset, long? end, LineHandler onLine, Func<Task>? afterChunk, CancellationToken ct, Func<bool>? done = null)
    {
        Response<BlobDownloadStreamingResult> response;
        try
        {
            response = await blob.DownloadStreamingAsync(new BlobDownloadOptions
            {
                Range = new HttpRange(offset, end is { } stop ? stop - offset : null),
            }, ct).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 416)
        {
            return offset; // gone, or nothing past the offset yet
        }

        using var result = response.Value;
        var gzip = blob.Name.EndsWith(".gz", StringComparison.Ordinal);
        await using var content = gzip ? new GZipStream(result.Content, CompressionMode.Decompress, leaveOpen: true) : result.Content;
        var reader = PipeReader.Create(content, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
        var position = offset;
        var completed = false;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(ct).ConfigureAwait(false);
                var buffer = read.Buffer;
                position += Lines(ref buffer, onLine);
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (afterChunk is not null)
                {
                    await afterChunk().ConfigureAwait(false);
                }

                if (read.IsCompleted || done?.Invoke() == true)
                {
                    completed = read.IsCompleted;
                    break;
                }
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }

        // Compressed: offsets count compressed bytes, and only the whole range read is known to end on a member.
        return !gzip ? position : completed ? offset + result.Details.ContentLength : offset;
    }

    private static long Lines(ref ReadOnlySequence<byte> buffer, LineHandler onLine)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
        {
            if (line.IsSingleSegment)
            {
                Handle(line.FirstSpan, onLine);
            }
            else
            {
                var copy = ArrayPool<byte>.Shared.Rent((int)line.Length);
                line.CopyTo(copy);
                Handle(copy.AsSpan(0, (int)line.Length), onLine);
                ArrayPool<byte>.Shared.Return(copy);
            }
        }

        buffer = buffer.Slice(reader.Position);
        return reader.Consumed;
    }

    private static void Handle(ReadOnlySpan<byte> line, LineHandler onLine)
    {
        line = line.TrimEnd((byte)'\r');
        if (!line.IsEmpty)
        {
            onLine(line);
        }
    }

    /// <summary>The top-level string property of a JSON line, or null (ids, times and versions have no escapes to undo).</summary>
    public static string? String(ReadOnlySpan<byte> line, ReadOnlySpan<byte> property)
    {
        var reader = new Utf8JsonReader(line);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var match = reader.ValueTextEquals(property);
                reader.Read();
                if (match)
                {
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }
}

/// <summary>
/// One captured or joined line, its fields located without building a document: ids, version and times as text, the
/// inputs and output as the raw JSON they were written as (copied into training CSVs and joined lines unchanged).
/// </summary>
internal readonly ref struct PredictionLine
{
    public string? Id { get; init; }

    public string? Version { get; init; }

    public string? Slot { get; init; }

    public DateTimeOffset? Time { get; init; }

    /// <summary>When the label was received (joined lines only): the later of two labels for one id wins.</summary>
    public DateTimeOffset? At { get; init; }

    /// <summary>The label as text (joined lines only).</summary>
    public string? Label { get; init; }

    public ReadOnlySpan<byte> Inputs { get; init; }

    public ReadOnlySpan<byte> Output { get; init; }

    /// <summary>Parses a line; false for a line that is not a JSON object with an id.</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, out PredictionLine parsed)
    {
        parsed = default;
        string? id = null, version = null, slot = null, label = null;
        DateTimeOffset? time = null, at = null;
        ReadOnlySpan<byte> inputs = default, output = default;
        var reader = new Utf8JsonReader(line);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.ValueSpan;
                reader.Read();
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    var raw = line[start..(int)reader.BytesConsumed];
                    if (name.SequenceEqual("inputs"u8))
                    {
                        inputs = raw;
                    }
                    else if (name.SequenceEqual("output"u8))
                    {
                        output = raw;
                    }

                    continue;
                }

                if (reader.TokenType != JsonTokenType.String)
                {
                    continue;
                }

                if (name.SequenceEqual("id"u8))
                {
                    id = reader.GetString();
                }
                else if (name.SequenceEqual("version"u8))
                {
                    version = reader.GetString();
                }
                else if (name.SequenceEqual("slot"u8))
                {
                    slot = reader.GetString();
                }
                else if (name.SequenceEqual("label"u8))
                {
                    label = reader.GetString();
                }
                else if (name.SequenceEqual("time"u8) && reader.TryGetDateTimeOffset(out var t))
                {
                    time = t;
                }
                else if (name.SequenceEqual("at"u8) && reader.TryGetDateTimeOffset(out var a))
                {
                    at = a;
                }
            }
        }
        catch (JsonException)
        {
            return false;
        }

        if (id is null)
        {
            return false;
        }

        parsed = new PredictionLine { Id = id, Version = version, Slot = slot, Time = time, At = at, Label = label, Inputs = inputs, Output = output };
        return true;
    }
}
