using Microsoft.ML.Data;

namespace MlopsFunctions.Core.Serving;

/// <summary>ML.NET output row of a regression model.</summary>
public sealed class RegressionOutput
{
    public float Score { get; set; }
}

/// <summary>ML.NET output row of a binary model (LightGbm is calibrated, so it has a probability).</summary>
public sealed class BinaryOutput
{
    public bool PredictedLabel { get; set; }

    public float Probability { get; set; }

    public float Score { get; set; }
}

/// <summary>ML.NET output row of a multiclass model: the class name (mapped back from its key) and one score per class.</summary>
public sealed class MulticlassOutput
{
    [ColumnName(Training.FeaturePipeline.PredictedClass)]
    public string PredictedClass { get; set; } = string.Empty;

    public float[] Score { get; set; } = [];
}

/// <summary>The predict response of the HTTP contract.</summary>
public sealed record PredictResponse(string Model, string Version, string Slot, IReadOnlyList<object> Predictions);

/// <summary>Regression prediction.</summary>
public sealed record ScorePrediction(double Score);

/// <summary>Binary prediction, with the user's own label value.</summary>
public sealed record BinaryPrediction(string Label, double Probability, double Score);

/// <summary>Multiclass prediction, with a score per class.</summary>
public sealed record MulticlassPrediction(string Label, IReadOnlyDictionary<string, double> Scores);
