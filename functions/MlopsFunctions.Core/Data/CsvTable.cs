namespace MlopsFunctions.Core.Data;

/// <summary>A parsed CSV file: its header and its rows as strings, in file order.</summary>
public sealed class CsvTable(IReadOnlyList<string> columns, IReadOnlyList<string[]> rows)
{
    public IReadOnlyList<string> Columns { get; } = columns;

    public IReadOnlyList<string[]> Rows { get; } = rows;

    public int IndexOf(string column)
    {
        for (var i = 0; i < Columns.Count; i++)
        {
            if (string.Equals(Columns[i], column, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
