using System.Globalization;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Evaluation;

/// <summary>
/// Applies a spec's gates to a candidate: thresholds on the primary metric, and the improvement over production
/// on the same holdout rows, judged on its confidence interval when the spec asks. A champion that cannot be
/// compared never lets a candidate through silently: the decision is left undecided, and onIncomparable rules.
/// </summary>
public static class Gates
{
    /// <summary>Fewest holdout rows on which an improvement can be judged with a confidence interval.</summary>
    public const int MinRowsToDecide = 30;

    /// <summary>The interval reported when the spec does not ask for one.</summary>
    public const double DefaultConfidence = 0.95;

    public static List<GateDecision> Decide(ModelSpec spec, double value, Comparison? comparison)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var metric = MetricCatalog.Primary(spec);
        var decisions = new List<GateDecision>();
        if (double.IsNaN(value))
        {
            decisions.Add(new("metric", metric.Name, false, value, null, null, null, $"{metric.Name} could not be computed on the holdout rows."));
            return decisions;
        }

        if (spec.Gates?.MinMetric is { } min)
        {
            var passed = value >= min;
            decisions.Add(new("minMetric", metric.Name, passed, value, min, null, value - min,
                $"{metric.Name} {F(value)} {(passed ? ">=" : "<")} minimum {F(min)}."));
        }

        if (spec.Gates?.MaxMetric is { } max)
        {
            var passed = value <= max;
            decisions.Add(new("maxMetric", metric.Name, passed, value, max, null, max - value,
                $"{metric.Name} {F(value)} {(passed ? "<=" : ">")} maximum {F(max)}."));
        }

        decisions.Add(Improvement(spec, metric, value, comparison));
        return decisions;
    }

    private static GateDecision Improvement(ModelSpec spec, MetricInfo metric, double value, Comparison? c)
    {
        var required = spec.Gates?.MinImprovement ?? 0;
        var confidence = spec.Gates?.Confidence;
        if (c is null)
        {
            return new("minImprovement", metric.Name, true, value, required, null, null, "No production model yet: nothing to beat.");
        }

        var champion = $"production v{c.Champion.ToString(CultureInfo.InvariantCulture)}";
        if (c.Incomparable is { } why || c.ChampionValue is not { } baseline || double.IsNaN(baseline))
        {
            var action = (spec.OnIncomparable ?? "manual") switch
            {
                "reject" => "the candidate is rejected (onIncomparable: reject)",
                "promote" => "the candidate goes ahead without a comparison (onIncomparable: promote)",
                _ => "an operator must approve or reject it (onIncomparable: manual)",
            };
            return new("minImprovement", metric.Name, false, value, required, null, null,
                $"{champion} cannot be scored on these rows ({c.Incomparable ?? "its metric is undefined"}): not compared, so {action}.")
            {
                Undecided = true,
            };
        }

        var delta = metric.HigherIsBetter ? value - baseline : baseline - value;
        var level = confidence ?? DefaultConfidence;
        var interval = c.Lower is { } lo && c.Upper is { } hi
            ? $"; {F(level * 100)}% interval of the improvement [{F(lo)}, {F(hi)}]"
            : string.Empty;
        var unknown = c.UnknownClassRows > 0
            ? $" ({c.UnknownClassRows.ToString(CultureInfo.InvariantCulture)} of them in classes production never saw, scored as its errors)"
            : string.Empty;
        var basis = $"{metric.Name} {F(value)} vs {champion} {F(baseline)} on the same {c.Rows.ToString(CultureInfo.InvariantCulture)} holdout rows{unknown}";
        GateDecision Result(bool passed, string reason) => new("minImprovement", metric.Name, passed, value, required, baseline, delta, reason)
        {
            Lower = c.Lower,
            Upper = c.Upper,
            Confidence = level,
            Rows = c.Rows,
        };

        if (confidence is null)
        {
            var passed = delta >= required;
            return Result(passed, $"{basis}: improvement {F(delta)} {(passed ? ">=" : "<")} required {F(required)}{interval}.");
        }

        if (c.Rows < MinRowsToDecide)
        {
            return Result(false,
                $"{basis}: {c.Rows.ToString(CultureInfo.InvariantCulture)} rows are too few to decide with {F(level * 100)}% confidence (at least {MinRowsToDecide.ToString(CultureInfo.InvariantCulture)} are needed), so the candidate is not promoted.");
        }

        if (c.Lower is not { } lower)
        {
            // Enough rows, but most bootstrap samples left the metric undefined (e.g. too few rows of one class).
            return Result(false,
                $"{basis}: no {F(level * 100)}% interval could be computed ({metric.Name} is undefined on most resamples of these rows), so the candidate is not promoted.");
        }

        var clears = lower >= required;
        return Result(clears,
            $"{basis}: improvement {F(delta)}{interval}; its lower bound {F(lower)} {(clears ? ">=" : "<")} required {F(required)}.");
    }

    private static string F(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);
}

/// <summary>How the champion fared on the candidate's holdout rows, or why it could not be scored there.</summary>
public sealed record Comparison(
    int Champion,
    double? ChampionValue,
    string? Incomparable,
    int Rows,
    int UnknownClassRows = 0,
    double? Lower = null,
    double? Upper = null);
