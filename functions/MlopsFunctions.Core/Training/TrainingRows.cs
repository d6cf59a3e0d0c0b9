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
        var earlier = files.Count > 1 ? new RowHashSet() : null;
        foreach (var file in files)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            using var csv = CsvSource.Open(stream, limits);
            var reader = new RowReader(csv, featurizer, split.Seed);
            var thisFile = earlier is null ? null : new List<ulong>();
            while (csv.MoveNext())
            {
                if (reader.TryRead(split, part, out var row, out var hash) && (earlier is null || !earlier.Contains(hash)))
                {
                    thisFile?.Add(hash);
                    count++;
                    yield return row;
                }
            }

            foreach (var hash in thisFile ?? [])
            {
                earlier!.Add(hash);
            }
        }

        Count = count;
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

        public bool TryRead(RowSplit split, Split part, out ModelRow row, out ulong hash)
        {
            row = null!;
            hash = 0;
            var record = csv.Current;
            if (record.ColCount != csv.Header.Count || label < 0 || Cells.IsMissing(record[label].Span))
            {
                return false;
            }

            hash = hasher.Hash(record, hashOrder);
            if (split.Of(hash) != part)
            {
                return false;
            }

            row = featurizer.CreateRow();
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
