using System.Buffers;
using System.Text.Json;

namespace MlopsFunctions.Core.Serving;

/// <summary>
/// A predict request body read under the size and row limits: Content-Length is checked before reading, then bytes and
/// top-level rows are counted while the body streams in, so an oversized request is refused (413) without being
/// buffered or parsed whole. The byte range of each row object is kept: capture stores the row exactly as sent.
/// </summary>
public sealed class PredictBody
{
    private PredictBody(byte[] buffer, int length, List<(int Start, int Length)> rows)
    {
        Buffer = buffer;
        Length = length;
        Rows = rows;
    }

    /// <summary>The body; owned by this request (not pooled), so background capture and shadow scoring may keep it.</summary>
    public byte[] Buffer { get; }

    public int Length { get; }

    public ReadOnlyMemory<byte> Utf8 => Buffer.AsMemory(0, Length);

    /// <summary>Byte ranges of the top-level row objects, in order (empty when the JSON is malformed: parsing reports that).</summary>
    public IReadOnlyList<(int Start, int Length)> Rows { get; }

    public ReadOnlySpan<byte> Row(int index) => Buffer.AsSpan(Rows[index].Start, Rows[index].Length);

    public static PredictBody FromBytes(byte[] utf8)
    {
        ArgumentNullException.ThrowIfNull(utf8);
        var counter = new RowCounter(int.MaxValue);
        counter.Feed(utf8, utf8.Length, isFinal: true);
        return new PredictBody(utf8, utf8.Length, counter.Ranges);
    }

    public static async Task<(PredictBody? Body, ApiProblem? Problem)> ReadAsync(
        Stream stream, long? contentLength, long maxBytes, int maxRows, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (contentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes, $"it declares {contentLength} bytes"));
        }

        var buffer = new byte[contentLength is { } known ? (int)known : 4096];
        var length = 0;
        var counter = new RowCounter(maxRows);
        while (true)
        {
            if (length == buffer.Length)
            {
                if (contentLength is not null)
                {
                    // Content-Length reached: anything further would be a protocol error the server already refuses.
                    break;
                }

                Array.Resize(ref buffer, (int)Math.Min(Math.Max(buffer.Length * 2L, 4096), maxBytes + 1));
            }

            var read = await stream.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            length += read;
            if (length > maxBytes)
            {
                return (null, TooLarge(maxBytes, "more was sent"));
            }

            counter.Feed(buffer, length, isFinal: false);
            if (counter.Count > maxRows)
            {
                return (null, TooManyRows(maxRows));
            }
        }

        counter.Feed(buffer, length, isFinal: true);
        if (counter.Count > maxRows)
        {
            return (null, TooManyRows(maxRows));
        }

        return (new PredictBody(buffer, length, counter.Ranges), null);
    }

    private static ApiProblem TooLarge(long maxBytes, string why) => new(413, "body-too-large",
        $"The request body is over the limit of {maxBytes} bytes ({why}): send fewer rows per request, or raise Mlops__MaxPredictBodyBytes.");

    private static ApiProblem TooManyRows(int maxRows) => new(413, "too-many-rows",
        $"The request has more than {maxRows} rows: split it into requests of at most {maxRows} rows, or raise Mlops__MaxPredictRows.");

    /// <summary>Counts top-level rows across chunks with a resumable Utf8JsonReader; stops at the first malformed token.</summary>
    private sealed class RowCounter(int maxRows)
    {
        private JsonReaderState state;
        private int consumed;
        private bool broken;
        private bool isArray;
        private int rowStart = -1;

        public int Count { get; private set; }

        public List<(int Start, int Length)> Ranges { get; } = [];

        public void Feed(byte[] buffer, int length, bool isFinal)
        {
            if (broken || Count > maxRows)
            {
                return;
            }

            var reader = new Utf8JsonReader(buffer.AsSpan(consumed, length - consumed), isFinal, state);
            try
            {
                while (reader.Read())
                {
                    var depth = reader.CurrentDepth;
                    var at = consumed + (int)reader.TokenStartIndex;
                    switch (reader.TokenType)
                    {
                        case JsonTokenType.StartArray when depth == 0:
                            isArray = true;
                            break;
                        case JsonTokenType.StartObject when depth == (isArray ? 1 : 0):
                            rowStart = at;
                            Count++;
                            break;
                        case JsonTokenType.EndObject when depth == (isArray ? 1 : 0) && rowStart >= 0:
                            Ranges.Add((rowStart, consumed + (int)reader.BytesConsumed - rowStart));
                            rowStart = -1;
                            break;
                        case JsonTokenType.StartArray or JsonTokenType.String or JsonTokenType.Number or JsonTokenType.True
                            or JsonTokenType.False or JsonTokenType.Null when depth == 1 && isArray:
                            Count++; // not an object: parsing will say so, but it still counts against the limit
                            break;
                    }

                    if (Count > maxRows)
                    {
                        return;
                    }
                }
            }
            catch (JsonException)
            {
                broken = true; // the parser reports malformed JSON with its position; counting just stops
                Ranges.Clear();
                return;
            }

            consumed += (int)reader.BytesConsumed;
            state = reader.CurrentState;
        }
    }
}
