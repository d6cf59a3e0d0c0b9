using System.Collections;
using MlopsFunctions.Core.Data;

namespace MlopsFunctions.Core.Training;

/// <summary>
/// The model rows of one split of some accepted CSV files, read from local copies every time they are enumerated:
/// ML.NET re-enumerates a view for each pass, so rows stream from disk and memory does not grow with the data.
/// Rows without a label or with the wrong width are skipped, as validation reported them.
/// </summary>
public sealed class TrainingRows(IReadOnlyList<string> files, Featurizer featurizer, RowSplit split, Split part, CsvLimits limits) : IEnumerable<ModelRow>
{
    /// <summary>Rows yielded by the last enumeration that ran to its end.</summary>
    public long Count { get; private set; }

    public IEnumerator<ModelRow> GetEnumerator()
    {
        long count = 0;
        foreach (var file in files)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            using var csv = CsvSource.Open(stream, limits);
            var reader = new RowReader(csv, featurizer, split.Seed);
            while (csv.MoveNext())
            {
                if (reader.TryRead(split, part, out var row))
                {
                    count++;
                    yield return row;
                }
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

        public bool TryRead(RowSplit split, Split part, out ModelRow row)
        {
            row = null!;
            var record = csv.Current;
            if (record.ColCount != csv.Header.Count || label < 0 || Cells.IsMissing(record[label].Span) ||
                split.Of(hasher.Hash(record, hashOrder)) != part)
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
