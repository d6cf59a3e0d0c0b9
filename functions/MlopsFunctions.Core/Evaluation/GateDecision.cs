namespace MlopsFunctions.Core.Evaluation;

/// <summary>
/// One gate's verdict with the numbers behind it and a line a person can read. For the improvement gate: the
/// champion's value, the delta, its confidence interval and the rows both models were scored on.
/// </summary>
public sealed record GateDecision(
    string Gate,
    string Metric,
    bool Passed,
    double Value,
    double? Threshold,
    double? Baseline,
    double? Delta,
    string Reason)
{
    public double? Lower { get; init; }

    public double? Upper { get; init; }

    public double? Confidence { get; init; }

    public int? Rows { get; init; }

    /// <summary>True when the gate could not decide (the champion could not be scored) and a person must.</summary>
    public bool Undecided { get; init; }
}
