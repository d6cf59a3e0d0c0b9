using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Data;

/// <summary>
/// One streaming pass over a training window's files (oldest first) that counts the rows each file contributes once
/// rows already seen in an earlier file are dropped, and profiles exactly those rows: the version's training profile
/// and lineage for windows of several files. Memory: the columns' accumulators plus 16 bytes per distinct row hash.
/// </summary>
public static class WindowProfiler
{
    public static (IReadOnlyList<long> RowsPerFile, DataProfile Profile) Scan(IReadOnlyList<string> files, DatasetSchema schema, CsvLimits limits, int seed)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(limits);
        var classification = schema.Task != MlTask.Regression;
        var columns = new Dictionary<string, (ColumnAccumulator Accumulator, string Role, string Kind)>(StringComparer.Ordinal)
        {
            [schema.Label] = (new ColumnAccumulator(schema.Label, new ColumnChecks(limits.MaxCategories, classification, (ulong)seed)),
                "label", classification ? "categorical" : "numeric"),
        };
        foreach (var column in schema.Columns)
        {
            var kind = System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(column.Kind.ToString());
            columns[column.Name] = (new ColumnAccumulator(column.Name, new ColumnChecks(limits.MaxCategories, column.Kind == ColumnKind.Categorical, (ulong)seed)),
                "feature", kind);
        }

        var seen = new RowHashSet();
        var counts = new List<long>(files.Count);
        long rows = 0, usable = 0;
        foreach (var file in files)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            using var csv = CsvSource.Open(stream, limits);
            var header = csv.Header.ToList();
            var label = header.IndexOf(schema.Label);
            var indexes = columns.Keys.Select(name => (Name: name, Index: header.IndexOf(name))).Where(c => c.Index >= 0).ToArray();
            var order = RowSplit.HashOrder(header);
            var hasher = new RowHasher(seed);
            var thisFile = new List<ulong>();
            long contributed = 0;
            while (csv.MoveNext())
            {
                var row = csv.Current;
                if (row.ColCount != header.Count || CsvSource.IsBlank(row))
                {
                    continue;
                }

                rows++;
                if (label < 0 || Cells.IsMissing(row[label].Span))
                {
                    continue;
                }

                var hash = hasher.Hash(row, order);
                if (seen.Contains(hash))
                {
                    continue; // already in an earlier file of the window
                }

                thisFile.Add(hash);
                contributed++;
                usable++;
                foreach (var (name, index) in indexes)
                {
                    columns[name].Accumulator.Add(row[index].Span, csv.Line);
                }
            }

            foreach (var hash in thisFile)
            {
                seen.Add(hash);
            }

            counts.Add(contributed);
        }

        var profile = new DataProfile
        {
            Rows = rows,
            UsableRows = usable,
            Columns = columns.Values.Select(c => c.Accumulator.ToProfile(c.Role, c.Accumulator.Present == 0 ? "empty" : c.Kind)).ToList(),
        };
        return (counts, profile);
    }
}
