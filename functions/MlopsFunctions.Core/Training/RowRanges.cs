namespace MlopsFunctions.Core.Training;

/// <summary>A part of a CSV file, in bytes: it starts at the file's start or just after a record's line break.</summary>
public readonly record struct RowRange(long Start, long Length);

/// <summary>
/// Cuts a CSV file into ranges of whole records so that several threads can parse one file. A line break ends a
/// record only outside quotes, and a quote toggles "inside quotes" wherever it is (the rule Sep and
/// <see cref="Data.CsvGuardStream"/> read by), so counting quotes from the start of the file finds every cut exactly;
/// a quoted field with line breaks is never split. Counting is a vectorized scan of the bytes, far cheaper than parsing.
/// </summary>
public static class RowRanges
{
    private const int Chunk = 1 << 20;

    /// <summary>
    /// At most <paramref name="parts"/> ranges of about equal size, none under <paramref name="minBytes"/>, covering
    /// the file in order; one range (the whole file) when it is small.
    /// </summary>
    public static IReadOnlyList<RowRange> Of(string path, int parts, long minBytes)
    {
        var length = new FileInfo(path).Length;
        parts = (int)Math.Clamp(Math.Min(parts, length / Math.Max(minBytes, 1)), 1, int.MaxValue);
        if (parts == 1)
        {
            return [new RowRange(0, length)];
        }

        var cuts = new List<long>();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var buffer = new byte[Chunk];
        var (position, inQuotes, target) = (0L, false, length / parts);
        int read;
        while (cuts.Count < parts - 1 && (read = stream.Read(buffer)) > 0)
        {
            var span = buffer.AsSpan(0, read);
            var offset = 0;
            while (offset < span.Length && cuts.Count < parts - 1)
            {
                if (position + offset < target)
                {
                    // Before the next target only the parity matters: count the quotes in one vectorized pass.
                    var upTo = (int)Math.Min(span.Length, target - position);
                    inQuotes ^= (span[offset..upTo].Count((byte)'"') & 1) == 1;
                    offset = upTo;
                    continue;
                }

                var at = span[offset..].IndexOfAny((byte)'"', (byte)'\n');
                if (at < 0)
                {
                    offset = span.Length;
                    break;
                }

                offset += at + 1;
                if (span[offset - 1] == (byte)'"')
                {
                    inQuotes = !inQuotes;
                }
                else if (!inQuotes)
                {
                    cuts.Add(position + offset);
                    target = Math.Max(length * (cuts.Count + 1) / parts, position + offset);
                }
            }

            position += read;
        }

        var ranges = new List<RowRange>(cuts.Count + 1);
        var start = 0L;
        foreach (var cut in cuts.Where(c => c < length))
        {
            ranges.Add(new RowRange(start, cut - start));
            start = cut;
        }

        ranges.Add(new RowRange(start, length - start));
        return ranges;
    }

    /// <summary>The bytes of one range as a stream of its own.</summary>
    public static Stream Open(string path, RowRange range)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        file.Seek(range.Start, SeekOrigin.Begin);
        return new Window(file, range.Length);
    }

    /// <summary>A read-only view of the next <c>length</c> bytes of a stream, which it owns.</summary>
    private sealed class Window(Stream inner, long size) : Data.ReadOnlyStream
    {
        private readonly long length = size;
        private long left = size;

        public override long Length => length;

        public override long Position { get => length - left; set => throw new NotSupportedException(); }

        public override int Read(Span<byte> buffer)
        {
            if (left <= 0)
            {
                return 0;
            }

            var read = inner.Read(buffer[..(int)Math.Min(buffer.Length, left)]);
            left -= read;
            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
