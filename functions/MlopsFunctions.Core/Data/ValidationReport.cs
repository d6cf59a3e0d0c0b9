using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Data;

/// <summary>What validation found in one file: the verdict, every reason, and a profile of each column.</summary>
public sealed record ValidationReport
{
    public required string Model { get; init; }

    public required string Source { get; init; }

    public required bool Accepted { get; init; }

    public required IReadOnlyList<string> Errors { get; init; }

    public IReadOnlyList<string> Warnings { get; init; } = [];

    public int Rows { get; init; }

    /// <summary>Rows with a label, which training and evaluation use.</summary>
    public int UsableRows { get; init; }

    public DatasetSchema? Schema { get; init; }

    public IReadOnlyList<ColumnProfile> Columns { get; init; } = [];

    public string? Sha256 { get; init; }

    public ModelSpec? Spec { get; init; }
}

/// <summary>Counts and ranges of one column, kept for lineage and later drift checks.</summary>
public sealed record ColumnProfile(
    string Name,
    string Role,
    int Missing,
    int Distinct,
    double? Min = null,
    double? Max = null,
    double? Mean = null);
