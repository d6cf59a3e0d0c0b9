using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Data;

/// <summary>
/// What validation found in one file: the verdict, every anomaly (error or warning, with counts and examples), the
/// schema decided for it and drift against production. The profile is stored beside it as its own document.
/// </summary>
public sealed record ValidationReport
{
    public required string Model { get; init; }

    public required string Source { get; init; }

    public required bool Accepted { get; init; }

    public IReadOnlyList<Anomaly> Anomalies { get; init; } = [];

    /// <summary>The error messages, for readers that only want the reasons.</summary>
    public IReadOnlyList<string> Errors => Anomalies.Where(a => a.Severity == Severity.Error).Select(a => a.Message).ToList();

    public IReadOnlyList<string> Warnings => Anomalies.Where(a => a.Severity == Severity.Warning).Select(a => a.Message).ToList();

    public long Bytes { get; init; }

    public long Rows { get; init; }

    /// <summary>Rows with a label, which training and evaluation use.</summary>
    public long UsableRows { get; init; }

    public DatasetSchema? Schema { get; init; }

    /// <summary>PSI per column against the reference version's training profile.</summary>
    public IReadOnlyList<ColumnDrift>? Drift { get; init; }

    /// <summary>The production version the file was checked against, if any.</summary>
    public int? ReferenceVersion { get; init; }

    public string? Sha256 { get; init; }

    public ModelSpec? Spec { get; init; }

    /// <summary>Where the profile of an accepted file is stored (not serialized into the report itself).</summary>
    public string? Profile { get; init; }
}

/// <summary>PSI of one column against the reference profile, and whether it crossed the spec's thresholds.</summary>
public sealed record ColumnDrift(string Column, double Psi, string Level);
