using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Training;

/// <summary>
/// Writes featurized rows as fixed-size records (the label, the numeric vector, the categorical vector as indexes into
/// a table of distinct strings), then the string table and a footer. Writing a row is a copy of a few floats, so the
/// three splits of a window are written in the one pass that parses the CSV; <see cref="RowsFileView"/> reads them.
/// </summary>
/// <remarks>
/// Layout: records of <c>4 * (1 + numeric + categorical)</c> bytes, little-endian; then the string table (count, then
/// each string as a UTF-8 length and bytes); then the footer (<see cref="FooterBytes"/>): rows, table offset, numeric
/// size, categorical size, task, format version, magic. The label slot holds a float (regression), 0 or 1 (binary) or
/// a string index (multiclass class name).
/// </remarks>
internal sealed class RowsFileWriter : IDisposable
{
    public const int FooterBytes = 8 + 8 + 4 + 4 + 4 + 4 + 8;
    public const int FormatVersion = 1;
    public const long Magic = 0x31_53_57_4F_52_53_50_4D; // "MPSROWS1"

    private readonly FileStream stream;
    private readonly byte[] record;
    private readonly int[] categoricalIndexes;
    private readonly MlTask task;
    private readonly int numeric;
    private readonly int categorical;
    private readonly Dictionary<string, int> strings = new(StringComparer.Ordinal);
    private readonly List<string> table = [];
    private long rows;

    public RowsFileWriter(string path, Featurizer featurizer)
    {
        ArgumentNullException.ThrowIfNull(featurizer);
        numeric = featurizer.NumericSize;
        categorical = featurizer.CategoricalSize;
        task = featurizer.Schema.Task;
        record = new byte[RecordBytes(numeric, categorical)];
        categoricalIndexes = new int[categorical];
        stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
    }

    public static int RecordBytes(int numeric, int categorical) => 4 * (1 + numeric + categorical);

    public void Write(ModelRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var span = record.AsSpan();
        switch (task)
        {
            case MlTask.Regression:
                BinaryPrimitives.WriteSingleLittleEndian(span, row.Target);
                break;
            case MlTask.Binary:
                BinaryPrimitives.WriteInt32LittleEndian(span, row.Flag ? 1 : 0);
                break;
            default:
                BinaryPrimitives.WriteInt32LittleEndian(span, Intern(row.Class));
                break;
        }

        for (var i = 0; i < categorical; i++)
        {
            categoricalIndexes[i] = Intern(row.Categorical[i]);
        }

        // Records are little-endian; so is every platform .NET 10 runs on (checked when the file is opened).
        MemoryMarshal.AsBytes(row.Numeric.AsSpan(0, numeric)).CopyTo(span[4..]);
        MemoryMarshal.AsBytes(categoricalIndexes.AsSpan()).CopyTo(span[(4 + (4 * numeric))..]);
        stream.Write(record);
        rows++;
    }

    /// <summary>
    /// Appends the rows of a complete file written with the same featurizer, in order, with their string indexes
    /// mapped into this file's table: the result is byte for byte what writing those rows here would have made.
    /// </summary>
    public void Append(string path, Featurizer featurizer)
    {
        var part = RowsFileView.Open(path, featurizer);
        var map = part.Strings.Select(s => Intern(s.ToString())).ToArray();
        var remap = task == MlTask.Multiclass || categorical > 0;
        using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var count = part.GetRowCount()!.Value;
        var buffer = new byte[record.Length * Math.Clamp((1 << 20) / record.Length, 1, 4096)];
        for (var left = count; left > 0;)
        {
            var take = (int)Math.Min(left, buffer.Length / record.Length);
            var bytes = buffer.AsSpan(0, take * record.Length);
            source.ReadExactly(bytes);
            if (remap)
            {
                var slots = MemoryMarshal.Cast<byte, int>(bytes);
                var width = record.Length / 4;
                for (var r = 0; r < take; r++)
                {
                    var row = slots.Slice(r * width, width);
                    if (task == MlTask.Multiclass)
                    {
                        row[0] = map[row[0]];
                    }

                    for (var c = 1 + numeric; c < width; c++)
                    {
                        row[c] = map[row[c]];
                    }
                }
            }

            stream.Write(bytes);
            left -= take;
        }

        rows += count;
    }

    /// <summary>Writes the string table and the footer; a file without them is never read (it is renamed into place after).</summary>
    public void Complete()
    {
        var tableOffset = stream.Position;
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(number, table.Count);
        stream.Write(number[..4]);
        foreach (var text in table)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            BinaryPrimitives.WriteInt32LittleEndian(number, bytes.Length);
            stream.Write(number[..4]);
            stream.Write(bytes);
        }

        Span<byte> footer = stackalloc byte[FooterBytes];
        BinaryPrimitives.WriteInt64LittleEndian(footer, rows);
        BinaryPrimitives.WriteInt64LittleEndian(footer[8..], tableOffset);
        BinaryPrimitives.WriteInt32LittleEndian(footer[16..], numeric);
        BinaryPrimitives.WriteInt32LittleEndian(footer[20..], categorical);
        BinaryPrimitives.WriteInt32LittleEndian(footer[24..], (int)task);
        BinaryPrimitives.WriteInt32LittleEndian(footer[28..], FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(footer[32..], Magic);
        stream.Write(footer);
        stream.Flush();
    }

    public void Dispose() => stream.Dispose();

    private int Intern(string? text)
    {
        text ??= string.Empty;
        if (!strings.TryGetValue(text, out var index))
        {
            index = table.Count;
            strings.Add(text, index);
            table.Add(text);
        }

        return index;
    }
}
