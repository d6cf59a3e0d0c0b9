namespace MlopsFunctions.Core.Evaluation;

/// <summary>One gate's verdict, with the numbers behind it and a line a person can read.</summary>
public sealed record GateDecision(
    string Gate,
    string Metric,
    bool Passed,
    double Value,
    double? Threshold,
    double? Baseline,
    double? Delta,
    string Reason);
