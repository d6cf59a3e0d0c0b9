using System.IO.Compression;

namespace MlopsFunctions.Core.Serving;

/// <summary>
/// Captured lines of one file (model, version, hour) waiting for their next append, gzip-compressed as they arrive.
/// Each append is one complete gzip member, so the blob is at every moment a valid multi-member gzip file (what gzip,
/// zcat, Python and .NET read as one stream) and a reader can start at any earlier length. Compressing is why capture
/// costs storage a ninth of the bytes: JSON lines of one model repeat their keys, slot and version on every line.
/// </summary>
internal sealed class CaptureFile(VersionCounters counters) : IDisposable
{
    private MemoryStream compressed = new(64 * 1024);
    private GZipStream? member;

    public VersionCounters Counters { get; } = counters;

    /// <summary>Rows in <see cref="Compressed"/> and in the member being written.</summary>
    public int Rows { get; private set; }

    /// <summary>Compressed bytes so far (the open member's last block is still in the compressor).</summary>
    public long Length => compressed.Length;

    public int Part { get; set; }

    public bool Created { get; set; }

    public int Idle { get; set; }

    public void Append(ReadOnlySpan<byte> lines, int rows)
    {
        // Fastest: 0.4 us per 300-byte line on this box, against 0.8 for the default level, for 9x against 15x.
        member ??= new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true);
        member.Write(lines);
        Rows += rows;
    }

    /// <summary>
    /// Ends the open member and returns what to append: complete members only. A failed append is retried with more
    /// members after it, which is still valid gzip.
    /// </summary>
    public ArraySegment<byte> Complete()
    {
        member?.Dispose();
        member = null;
        return new ArraySegment<byte>(compressed.GetBuffer(), 0, (int)compressed.Length);
    }

    /// <summary>After a successful append (or when the rows are given up).</summary>
    public void Clear()
    {
        member?.Dispose();
        member = null;
        if (compressed.Capacity > 8 << 20)
        {
            compressed = new MemoryStream(64 * 1024); // storage was failing for a while: do not keep its memory
        }

        compressed.SetLength(0);
        Rows = 0;
    }

    public void Dispose()
    {
        member?.Dispose();
        compressed.Dispose();
    }
}
