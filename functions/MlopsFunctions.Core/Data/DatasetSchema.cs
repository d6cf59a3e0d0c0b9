using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Data;

/// <summary>
/// The columns a model reads and how (numeric or categorical), and the label's values; decided by validation,
/// stored with every version, and used to turn prediction requests into model input.
/// </summary>
public sealed record DatasetSchema
{
    public required MlTask Task { get; init; }

    public required string Label { get; init; }

    public required IReadOnlyList<string> NumericFeatures { get; init; }

    public required IReadOnlyList<string> CategoricalFeatures { get; init; }

    /// <summary>Binary: the label value predicted as true (the user's spelling).</summary>
    public string? PositiveLabel { get; init; }

    /// <summary>Binary: the other label value.</summary>
    public string? NegativeLabel { get; init; }

    /// <summary>Multiclass: class names, in the order of the model's score vector (set by training).</summary>
    public IReadOnlyList<string>? Classes { get; init; }

    public IEnumerable<string> Features => NumericFeatures.Concat(CategoricalFeatures);
}
