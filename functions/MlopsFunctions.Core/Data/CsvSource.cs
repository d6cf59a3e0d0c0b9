using System.Globalization;
using System.Text;
using nietras.SeparatedValues;

namespace MlopsFunctions.Core.Data;

/// <summary>
/// A CSV read as a stream, one record at a time (Sep: quoted fields with commas and newlines, escaped quotes, CRLF),
/// through <see cref="CsvGuardStream"/> (limits, UTF-8, hash, truncation). The BOM is dropped, cells are trimmed,
/// and rows whose width differs from the header are left to the caller to report: nothing is guessed.
/// </summary>
public sealed class CsvSource : IDisposable
{
    private readonly CsvGuardStream guard;
    private readonly SepReader reader;

    private CsvSource(CsvGuardStream guard, SepReader reader, string[] header)
    {
        this.guard = guard;
        this.reader = reader;
        Header = header;
    }

    /// <summary>Column names as written in the header (trimmed).</summary>
    public IReadOnlyList<string> Header { get; }

    /// <summary>The record just read by <see cref="MoveNext"/>.</summary>
    public SepReader.Row Current => reader.Current;

    /// <summary>1-based line where the current record starts.</summary>
    public long Line => reader.Current.LineNumberFrom;

    public bool EndsInsideQuotes => guard.EndsInsideQuotes;

    public long BytesRead => guard.BytesRead;

    /// <summary>SHA-256 of the bytes read; the whole content once <see cref="MoveNext"/> has returned false.</summary>
    public string Sha256() => guard.Sha256();

    /// <summary>Opens a stream and reads its header. Throws <see cref="CsvRejectedException"/> when there is none or it is too wide.</summary>
    public static CsvSource Open(Stream stream, CsvLimits limits)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(limits);
        var (guard, reader) = Read(stream, limits);
        try
        {
            if (!reader.MoveNext() || IsBlank(reader.Current))
            {
                throw new CsvRejectedException(AnomalyCodes.EmptyFile, "The file is empty: expected a header row followed by data rows.", 1);
            }

            var row = reader.Current;
            if (row.ColCount > limits.MaxColumns)
            {
                throw new CsvRejectedException(AnomalyCodes.TooManyColumns,
                    $"The header has {row.ColCount.ToString(CultureInfo.InvariantCulture)} columns, over the limit of {limits.MaxColumns.ToString(CultureInfo.InvariantCulture)}: " +
                    "drop columns the model does not need, or raise the setting Mlops__MaxColumns.", 1);
            }

            var header = new string[row.ColCount];
            for (var i = 0; i < header.Length; i++)
            {
                header[i] = row[i].ToString();
            }

            return new CsvSource(guard, reader, header);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>The header of a local CSV file, read through the same limits as its records.</summary>
    public static IReadOnlyList<string> HeaderOf(string path, CsvLimits limits)
    {
        using var stream = File.OpenRead(path);
        using var csv = Open(stream, limits);
        return csv.Header;
    }

    /// <summary>
    /// Reads the records of a part of a file that starts at a record boundary after the header (see
    /// <see cref="Training.RowRanges"/>), as columns of <paramref name="header"/>.
    /// </summary>
    public static CsvSource OpenBody(Stream stream, CsvLimits limits, IReadOnlyList<string> header)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(header);
        var (guard, reader) = Read(stream, limits);
        return new CsvSource(guard, reader, [.. header]);
    }

    private static (CsvGuardStream Guard, SepReader Reader) Read(Stream stream, CsvLimits limits)
    {
        var guard = new CsvGuardStream(stream, limits);
        var text = new StreamReader(guard, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        var reader = Sep.Reader(o => o with
        {
            HasHeader = false,
            DisableColCountCheck = true,
            Unescape = true,
            Trim = SepTrim.All,
            InitialBufferLength = 1 << 16,
        }).From(text);
        return (guard, reader);
    }

    /// <summary>Reads the next record; false at the end of the file.</summary>
    public bool MoveNext() => reader.MoveNext();

    /// <summary>A record with a single empty cell: an empty line, which CSV files often end with.</summary>
    public static bool IsBlank(SepReader.Row row) => row.ColCount == 1 && row[0].Span.IsEmpty;

    public void Dispose()
    {
        reader.Dispose();
        guard.Dispose();
    }
}
