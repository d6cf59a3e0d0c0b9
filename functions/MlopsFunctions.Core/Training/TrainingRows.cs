using System.Collections;
using MlopsFunctions.Core.Data;

namespace MlopsFunctions.Core.Training;

/// <summary>
/// The model rows of one split of some accepted CSV files (a training window, oldest first), read from local copies
/// every time they are enumerated: rows stream from disk. A row already seen in an earlier file of the window (same
/// content hash) is skipped, so an export dropped twice or repeating yesterday's rows counts each row once; rows
/// repeated within one file are kept, as the file has them. Rows without a label or with the wrong width are
/// skipped, as validation reported them.
/// </summary>
public sealed class TrainingRows(IReadOnlyList<string> files, Featurizer featurizer, RowSplit split, Split part, CsvLimits limits) : IEnumerable<ModelRow>
{
    /// <summary>Rows yielded by the last enumeration that ran to its end.</summary>
    public long Count { get; private set; }

    public IEnumerator<ModelRow> GetEnumerator()
    {
        long count = 0;
        foreach (var (_, row) in Read(files, featurizer, split, part, limits, reuseRow: false))
        {
            count++;
            yield return row;
        }

        Count = count;
    }

    /// <summary>
    /// Every usable row of the window with its split (only those of <paramref name="only"/> when given), in file order,
    /// parsing each file once. With <paramref name="reuseRow"/> every row is the same object, refilled: for a consumer
    /// that is done with a row before it asks for the next.
    /// </summary>
    internal static IEnumerable<(Split Part, ModelRow Row)> Read(
        IReadOnlyList<string> files, Featurizer featurizer, RowSplit split, Split? only, CsvLimits limits, bool reuseRow)
    {
        var earlier = files.Count > 1 ? new RowHashSet() : null;
        var reused = reuseRow ? featurizer.CreateRow() : null;
        foreach (var file in files)
        {
            var thisFile = earlier is null ? null : new List<ulong>();
            foreach (var (part, row, hash) in ReadRange(file, new RowRange(0, new FileInfo(file).Length), null, featurizer, split, only, limits, reused))
            {
                if (earlier is null || !earlier.Contains(hash))
                {
                    thisFile?.Add(hash);
                    yield return (part, row);
                }
            }

            foreach (var hash in thisFile ?? [])
            {
                earlier!.Add(hash);
            }
        }
    }

    /// <summary>
    /// The usable rows of one range of a file with their split and content hash; a range after the first is read as
    /// columns of <paramref name="header"/> (the file's). Thread-safe for distinct ranges: a featurizer only reads.
    /// </summary>
    internal static IEnumerable<(Split Part, ModelRow Row, ulong Hash)> ReadRange(
        string file, RowRange range, IReadOnlyList<string>? header, Featurizer featurizer, RowSplit split, Split? only, CsvLimits limits, ModelRow? reused)
    {
        using var stream = RowRanges.Open(file, range);
        using var csv = range.Start == 0 ? CsvSource.Open(stream, limits) : CsvSource.OpenBody(stream, limits, header!);
        var reader = new RowReader(csv, featurizer, split.Seed);
        while (csv.MoveNext())
        {
            if (reader.TryRead(split, only, reused, out var part, out var row, out var hash))
            {
                yield return (part, row, hash);
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Turns the current record of a CSV into a model row when it belongs to the wanted split.</summary>
    internal sealed class RowReader
    {
        private readonly CsvSource csv;
        private readonly Featurizer featurizer;
        private readonly int[] columns;
        private readonly int label;
        private readonly int[] hashOrder;
        private readonly RowHasher hasher;

        public RowReader(CsvSource csv, Featurizer featurizer, int seed)
        {
            this.csv = csv;
            this.featurizer = featurizer;
            var header = csv.Header.ToList();
            columns = featurizer.Columns.Select(c => header.IndexOf(c)).ToArray();
            label = header.IndexOf(featurizer.Schema.Label);
            hashOrder = RowSplit.HashOrder(header);
            hasher = new RowHasher(seed);
        }

        /// <summary>The hash of the current record, for splitting and de-duplication.</summary>
        public ulong Hash() => hasher.Hash(csv.Current, hashOrder);

        /// <summary>
        /// Featurizes the current record into <paramref name="reuse"/> (or a new row) when it is usable and in
        /// <paramref name="only"/> (any split when null); its split and content hash come out either way.
        /// </summary>
        public bool TryRead(RowSplit split, Split? only, ModelRow? reuse, out Split part, out ModelRow row, out ulong hash)
        {
            row = null!;
            hash = 0;
            part = default;
            var record = csv.Current;
            if (record.ColCount != csv.Header.Count || label < 0 || Cells.IsMissing(record[label].Span))
            {
                return false;
            }

            hash = hasher.Hash(record, hashOrder);
            part = split.Of(hash);
            if (only is { } wanted && part != wanted)
            {
                return false;
            }

            row = reuse is null ? featurizer.CreateRow() : featurizer.Clear(reuse);
            if (!featurizer.SetLabel(row, record[label].Span))
            {
                return false;
            }

            for (var c = 0; c < columns.Length; c++)
            {
                if (columns[c] >= 0)
                {
                    featurizer.SetCell(row, c, record[columns[c]].Span);
                }
            }

            return true;
        }
    }
}
