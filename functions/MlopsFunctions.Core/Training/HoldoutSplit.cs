using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Training;

/// <summary>
/// A seeded split of a file's labelled rows into training and holdout rows, stratified by label for classification.
/// Being a pure function of (rows, seed) is what lets evaluation score candidate and champion on the same rows.
/// </summary>
public sealed record HoldoutSplit(IReadOnlyList<int> Train, IReadOnlyList<int> Holdout)
{
    public static HoldoutSplit Create(CsvTable table, DatasetSchema schema, double fraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(schema);
        var labelIndex = table.IndexOf(schema.Label);
        var labelled = Enumerable.Range(0, table.Rows.Count).Where(r => !Cells.IsMissing(table.Rows[r][labelIndex]));
        var strata = schema.Task == MlTask.Regression
            ? [labelled.ToList()]
            : labelled.GroupBy(r => table.Rows[r][labelIndex].Trim(), StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => g.ToList())
                .ToList();

        var random = new Random(seed);
        var train = new List<int>();
        var holdout = new List<int>();
        foreach (var stratum in strata)
        {
            var shuffled = stratum.ToArray();
            random.Shuffle(shuffled);
            var take = stratum.Count < 2 ? 0 : Math.Clamp((int)Math.Round(stratum.Count * fraction), 1, stratum.Count - 1);
            holdout.AddRange(shuffled.Take(take));
            train.AddRange(shuffled.Skip(take));
        }

        train.Sort();
        holdout.Sort();
        return new HoldoutSplit(train, holdout);
    }
}
