using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;

namespace MlopsFunctions.Core.Data;

/// <summary>
/// Reads a CSV's bytes once and, on the way, enforces the size and line-length limits, refuses binary data and
/// invalid UTF-8 with the line where they occur, tracks whether the file ends inside a quoted field (a truncated
/// file), and hashes the content, so validation needs no second pass and never buffers more than a line.
/// </summary>
internal sealed class CsvGuardStream(Stream inner, CsvLimits limits) : ReadOnlyStream
{
    private static readonly SearchValues<byte> Special = SearchValues.Create("\"\n\0"u8);

    private readonly IncrementalHash sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] carry = new byte[4];
    private char[] scratch = [];
    private int carried;
    private long total;
    private long recordBytes;
    private bool inQuotes;

    /// <summary>1-based physical line the reader has reached.</summary>
    public long Line { get; private set; } = 1;

    public long BytesRead => total;

    public bool EndsInsideQuotes => inQuotes;

    public override long Position { get => total; set => throw new NotSupportedException(); }

    /// <summary>The SHA-256 of every byte read; call after the stream has been read to its end.</summary>
    public string Sha256() => Convert.ToHexStringLower(sha.GetCurrentHash());

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        Inspect(buffer[..read], final: read == 0);
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Inspect(buffer.Span[..read], final: read == 0);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Inspect(ReadOnlySpan<byte> chunk, bool final)
    {
        total += chunk.Length;
        if (total > limits.MaxFileBytes)
        {
            throw new CsvRejectedException(AnomalyCodes.FileTooLarge,
                $"The file is larger than the limit of {limits.MaxFileBytes / (1024 * 1024)} MiB: split it, or raise the setting Mlops__MaxFileMegabytes.", Line);
        }

        sha.AppendData(chunk);
        CheckUtf8(chunk, final);
        var rest = chunk;
        while (!rest.IsEmpty)
        {
            var at = rest.IndexOfAny(Special);
            var plain = at < 0 ? rest.Length : at;
            recordBytes += plain;
            if (recordBytes > limits.MaxLineBytes)
            {
                throw new CsvRejectedException(AnomalyCodes.LineTooLong,
                    $"Line {Line.ToString(CultureInfo.InvariantCulture)} is longer than the limit of {limits.MaxLineBytes / 1024} KiB " +
                    "(or a quote opened there is never closed): fix the line, or raise the setting Mlops__MaxLineKilobytes.", Line);
            }

            if (at < 0)
            {
                break;
            }

            switch (rest[at])
            {
                case (byte)'"':
                    inQuotes = !inQuotes;
                    recordBytes++;
                    break;
                case (byte)'\n':
                    Line++;
                    if (!inQuotes)
                    {
                        recordBytes = 0;
                    }

                    break;
                default:
                    throw new CsvRejectedException(AnomalyCodes.Binary,
                        $"Line {Line.ToString(CultureInfo.InvariantCulture)} has a NUL byte: the file is binary or not UTF-8 (UTF-16 files have them). Save it as UTF-8 CSV.", Line);
            }

            rest = rest[(at + 1)..];
        }
    }

    /// <summary>Validates UTF-8 across chunk boundaries; ASCII chunks (the usual case) cost one vectorized scan.</summary>
    private void CheckUtf8(ReadOnlySpan<byte> chunk, bool final)
    {
        if (carried == 0 && Ascii.IsValid(chunk))
        {
            return;
        }

        var bytes = ArrayPool<byte>.Shared.Rent(carried + chunk.Length);
        try
        {
            carry.AsSpan(0, carried).CopyTo(bytes);
            chunk.CopyTo(bytes.AsSpan(carried));
            var data = bytes.AsSpan(0, carried + chunk.Length);
            if (scratch.Length < data.Length)
            {
                scratch = new char[Math.Max(data.Length, 4096)];
            }

            var status = Utf8.ToUtf16(data, scratch, out var consumed, out _, replaceInvalidSequences: false, isFinalBlock: final);
            if (status == OperationStatus.InvalidData || (final && status == OperationStatus.NeedMoreData))
            {
                // Line counts only reach the start of this chunk here; add the newlines before the bad byte.
                var line = Line + data[..consumed].Count((byte)'\n');
                throw new CsvRejectedException(AnomalyCodes.InvalidUtf8,
                    $"Line {line.ToString(CultureInfo.InvariantCulture)} is not valid UTF-8 (byte {(total - data.Length + consumed).ToString(CultureInfo.InvariantCulture)} of the file): save the file as UTF-8.",
                    line);
            }

            carried = data.Length - consumed;
            data[consumed..].CopyTo(carry);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            sha.Dispose();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
