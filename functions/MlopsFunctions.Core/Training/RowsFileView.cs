using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Training;

/// <summary>
/// A file of <see cref="RowsFileWriter"/> as an ML.NET data view with <see cref="ModelRow"/>'s columns: every cursor
/// streams the records from disk in blocks, so a trainer's passes cost a read of a few floats per row and memory stays
/// at one block per cursor. Shuffling cursors (SDCA asks for them) visit the blocks in a random order and the rows of
/// each block in a random order, reproducibly for the trainer's random source.
/// </summary>
internal sealed class RowsFileView : IDataView
{
    /// <summary>Rows per block: 4,096, fewer for wide rows so a cursor's buffer stays near 1 MiB.</summary>
    private readonly int blockRows;

    private readonly string path;
    private readonly long rows;
    private readonly int numeric;
    private readonly int categorical;
    private readonly MlTask task;
    private readonly int recordBytes;
    private readonly ReadOnlyMemory<char>[] strings;

    private RowsFileView(string path, long rows, int numeric, int categorical, MlTask task, ReadOnlyMemory<char>[] strings)
    {
        this.path = path;
        this.rows = rows;
        this.numeric = numeric;
        this.categorical = categorical;
        this.task = task;
        this.strings = strings;
        recordBytes = RowsFileWriter.RecordBytes(numeric, categorical);
        blockRows = Math.Clamp((1 << 20) / recordBytes, 1, 4096);
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(nameof(ModelRow.Numeric), new VectorDataViewType(NumberDataViewType.Single, numeric));
        builder.AddColumn(nameof(ModelRow.Categorical), new VectorDataViewType(TextDataViewType.Instance, categorical));
        builder.AddColumn(ModelRow.RegressionLabel, NumberDataViewType.Single);
        builder.AddColumn(ModelRow.BinaryLabel, BooleanDataViewType.Instance);
        builder.AddColumn(ModelRow.ClassLabel, TextDataViewType.Instance);
        Schema = builder.ToSchema();
    }

    public bool CanShuffle => true;

    public DataViewSchema Schema { get; }

    /// <summary>Opens a complete file, checking its footer against its length and the featurizer that will read it.</summary>
    public static RowsFileView Open(string path, Featurizer featurizer)
    {
        ArgumentNullException.ThrowIfNull(featurizer);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Prepared rows are little-endian records.");
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> footer = stackalloc byte[RowsFileWriter.FooterBytes];
        if (stream.Length < footer.Length)
        {
            throw Corrupt(path, "it is shorter than its footer");
        }

        stream.Seek(-footer.Length, SeekOrigin.End);
        stream.ReadExactly(footer);
        var rows = BinaryPrimitives.ReadInt64LittleEndian(footer);
        var tableOffset = BinaryPrimitives.ReadInt64LittleEndian(footer[8..]);
        var numeric = BinaryPrimitives.ReadInt32LittleEndian(footer[16..]);
        var categorical = BinaryPrimitives.ReadInt32LittleEndian(footer[20..]);
        var task = (MlTask)BinaryPrimitives.ReadInt32LittleEndian(footer[24..]);
        if (BinaryPrimitives.ReadInt64LittleEndian(footer[32..]) != RowsFileWriter.Magic ||
            BinaryPrimitives.ReadInt32LittleEndian(footer[28..]) != RowsFileWriter.FormatVersion)
        {
            throw Corrupt(path, "its footer is not one this version writes");
        }

        if (numeric != featurizer.NumericSize || categorical != featurizer.CategoricalSize || task != featurizer.Schema.Task ||
            rows < 0 || tableOffset != rows * RowsFileWriter.RecordBytes(numeric, categorical))
        {
            throw Corrupt(path, "its shape does not match its schema");
        }

        stream.Seek(tableOffset, SeekOrigin.Begin);
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        var strings = new ReadOnlyMemory<char>[reader.ReadInt32()];
        for (var i = 0; i < strings.Length; i++)
        {
            strings[i] = Encoding.UTF8.GetString(reader.ReadBytes(reader.ReadInt32())).AsMemory();
        }

        return new RowsFileView(path, rows, numeric, categorical, task, strings);
    }

    public long? GetRowCount() => rows;

    /// <summary>The distinct strings the records' categorical and class slots index into, in the file's order.</summary>
    internal IReadOnlyList<ReadOnlyMemory<char>> Strings => strings;

    private int Blocks => (int)((rows + blockRows - 1) / blockRows);

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded, rand, 0, Blocks);

    /// <summary>
    /// Up to <paramref name="n"/> cursors over consecutive ranges of blocks, each block one batch: the rows in batch
    /// order are those of <see cref="GetRowCursor"/>. ML.NET otherwise splits one cursor by handing rows between threads,
    /// which cost scoring about as much CPU as the model did. A shuffling cursor is one cursor, so a seed shuffles alike.
    /// </summary>
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        var columns = columnsNeeded.ToList();
        var count = rand is null ? Math.Clamp(n, 1, Math.Max(1, Blocks)) : 1;
        return count == 1
            ? [GetRowCursor(columns, rand)]
            : [.. Enumerable.Range(0, count).Select(k => new Cursor(this, columns, null, (int)((long)Blocks * k / count), (int)((long)Blocks * (k + 1) / count)))];
    }

    private static InvalidDataException Corrupt(string path, string why) =>
        new($"The prepared rows file {path} cannot be read: {why}. Delete it and run again; it is rebuilt from the data.");

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly RowsFileView view;
        private readonly FileStream stream;
        private readonly bool[] active;
        private readonly Random? rand;
        private readonly int[]? blockOrder;
        private readonly int[] rowOrder;
        private readonly byte[] block;
        private readonly int endBlock;
        private int nextBlock;
        private int blockIndex;
        private int rowsInBlock;
        private int inBlock;
        private long blockStart;
        private int offset;
        private long position = -1;
        private long rowId;

        /// <summary>A cursor over blocks [<paramref name="firstBlock"/>, <paramref name="endBlock"/>), in a random order when <paramref name="rand"/> is given.</summary>
        public Cursor(RowsFileView view, IEnumerable<DataViewSchema.Column> columns, Random? rand, int firstBlock, int endBlock)
        {
            this.view = view;
            this.rand = rand;
            active = new bool[view.Schema.Count];
            foreach (var column in columns)
            {
                active[column.Index] = true;
            }

            nextBlock = firstBlock;
            this.endBlock = endBlock;
            rowOrder = new int[view.blockRows];
            if (rand is not null)
            {
                blockOrder = Enumerable.Range(0, endBlock).ToArray();
                rand.Shuffle(blockOrder);
            }

            block = new byte[view.blockRows * view.recordBytes];
            stream = new FileStream(view.path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        }

        public override long Position => position;

        /// <summary>The block being read, which only grows in a cursor that does not shuffle; a shuffling cursor is one batch.</summary>
        public override long Batch => rand is null ? blockIndex : 0;

        public override DataViewSchema Schema => view.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

        public override bool MoveNext()
        {
            if (inBlock >= rowsInBlock && !NextBlock())
            {
                return false;
            }

            var row = rand is null ? inBlock : rowOrder[inBlock];
            inBlock++;
            offset = row * view.recordBytes;
            rowId = blockStart + row;
            position++;
            return true;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId value) => value = new DataViewRowId((ulong)rowId, 0);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!active[column.Index])
            {
                throw new InvalidOperationException($"Column {column.Name} was not requested by this cursor.");
            }

            Delegate getter = column.Index switch
            {
                0 => (ValueGetter<VBuffer<float>>)GetNumeric,
                1 => (ValueGetter<VBuffer<ReadOnlyMemory<char>>>)GetCategorical,
                2 => (ValueGetter<float>)GetTarget,
                3 => (ValueGetter<bool>)GetFlag,
                _ => (ValueGetter<ReadOnlyMemory<char>>)GetClass,
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column {column.Name} is {column.Type}, not {typeof(TValue).Name}.");
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                stream.Dispose();
            }

            base.Dispose(disposing);
        }

        private bool NextBlock()
        {
            if (nextBlock >= endBlock)
            {
                return false;
            }

            var index = blockOrder?[nextBlock] ?? nextBlock;
            blockIndex = index;
            nextBlock++;
            blockStart = (long)index * view.blockRows;
            rowsInBlock = (int)Math.Min(view.blockRows, view.rows - blockStart);
            if (blockOrder is not null || stream.Position != blockStart * view.recordBytes)
            {
                stream.Seek(blockStart * view.recordBytes, SeekOrigin.Begin);
            }

            stream.ReadExactly(block, 0, rowsInBlock * view.recordBytes);
            if (rand is not null)
            {
                for (var i = 0; i < rowsInBlock; i++)
                {
                    rowOrder[i] = i;
                }

                rand.Shuffle(rowOrder.AsSpan(0, rowsInBlock));
            }

            inBlock = 0;
            return true;
        }

        private ReadOnlySpan<byte> Record => block.AsSpan(offset, view.recordBytes);

        private void GetNumeric(ref VBuffer<float> value)
        {
            var editor = VBufferEditor.Create(ref value, view.numeric);
            MemoryMarshal.Cast<byte, float>(Record.Slice(4, 4 * view.numeric)).CopyTo(editor.Values);
            value = editor.Commit();
        }

        private void GetCategorical(ref VBuffer<ReadOnlyMemory<char>> value)
        {
            var editor = VBufferEditor.Create(ref value, view.categorical);
            var indexes = MemoryMarshal.Cast<byte, int>(Record.Slice(4 + (4 * view.numeric), 4 * view.categorical));
            for (var i = 0; i < indexes.Length; i++)
            {
                editor.Values[i] = view.strings[indexes[i]];
            }

            value = editor.Commit();
        }

        private void GetTarget(ref float value) =>
            value = view.task == MlTask.Regression ? BinaryPrimitives.ReadSingleLittleEndian(Record) : 0;

        private void GetFlag(ref bool value) =>
            value = view.task == MlTask.Binary && BinaryPrimitives.ReadInt32LittleEndian(Record) != 0;

        private void GetClass(ref ReadOnlyMemory<char> value) =>
            value = view.task == MlTask.Multiclass ? view.strings[BinaryPrimitives.ReadInt32LittleEndian(Record)] : ReadOnlyMemory<char>.Empty;
    }
}
