using System.Text.Json.Serialization;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Data;

/// <summary>
/// The columns a model reads, each with its type, nullability and (for categories) its domain, the columns it
/// ignores and why, and the label's values. Inferred by validation, stored with every version, the reference later
/// data is checked against, and the one definition of how training and serving turn cells into model input.
/// </summary>
public sealed record DatasetSchema
{
    /// <summary>The featurization this schema describes; see <see cref="FeaturizationVersions"/>.</summary>
    public const int CurrentFeaturization = FeaturizationVersions.Typed;

    public required MlTask Task { get; init; }

    public required string Label { get; init; }

    /// <summary>Absent in versions of the first release, which read numeric and raw categorical columns only.</summary>
    public int Featurization { get; init; } = FeaturizationVersions.Legacy;

    /// <summary>Feature columns, in model input order.</summary>
    public IReadOnlyList<FeatureColumn> Columns { get; init; } = [];

    /// <summary>Columns of the data the model does not read, with the reason.</summary>
    public IReadOnlyList<IgnoredColumn> Ignored { get; init; } = [];

    /// <summary>First-release schemas only.</summary>
    public IReadOnlyList<string> NumericFeatures { get; init; } = [];

    /// <summary>First-release schemas only.</summary>
    public IReadOnlyList<string> CategoricalFeatures { get; init; } = [];

    /// <summary>Binary: the label value predicted as true (the user's spelling).</summary>
    public string? PositiveLabel { get; init; }

    /// <summary>Binary: the other label value.</summary>
    public string? NegativeLabel { get; init; }

    /// <summary>Multiclass: class names, in the order of the model's score vector (set by training).</summary>
    public IReadOnlyList<string>? Classes { get; init; }

    /// <summary>Classification: every label value seen in the data, for checking later data.</summary>
    public IReadOnlyList<string>? LabelValues { get; init; }

    [JsonIgnore]
    public IEnumerable<string> Features => Featurization >= FeaturizationVersions.Typed
        ? Columns.Select(c => c.Name)
        : NumericFeatures.Concat(CategoricalFeatures);

    public FeatureColumn? Find(string name) => Columns.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.Ordinal));
}

/// <summary>Versions of the cell-to-model-input definition, so versions trained under an older one keep serving.</summary>
public static class FeaturizationVersions
{
    /// <summary>Numeric columns as numbers, other columns as raw categories.</summary>
    public const int Legacy = 1;

    /// <summary>Typed columns: missing indicators, category vocabularies with explicit unseen and missing buckets, date parts.</summary>
    public const int Typed = 2;
}

/// <summary>How a column's cells are read.</summary>
public enum ColumnKind
{
    Numeric,
    Boolean,
    Date,
    DateTime,
    Categorical,
}

/// <summary>
/// One feature column: its kind, whether it had missing values, every category seen (<see cref="Domain"/>, which
/// later data is checked against) and the categories the model learns one by one (<see cref="Vocabulary"/>; rarer
/// ones share the "other" bucket that unseen values also fall into).
/// </summary>
public sealed record FeatureColumn(
    string Name,
    ColumnKind Kind,
    bool Nullable,
    IReadOnlyList<string>? Domain = null,
    IReadOnlyList<string>? Vocabulary = null);

/// <summary>A column the model does not read, and why (ignored by the spec, identifier-like, ...).</summary>
public sealed record IgnoredColumn(string Name, string Reason);
