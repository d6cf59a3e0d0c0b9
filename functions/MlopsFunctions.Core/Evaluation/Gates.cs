using System.Globalization;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Evaluation;

/// <summary>Applies a spec's gates to a candidate's primary metric and, when there is one, the champion's on the same rows.</summary>
public static class Gates
{
    public static List<GateDecision> Decide(ModelSpec spec, double value, double? championValue, int? championVersion, string? incomparable)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var metric = MetricCatalog.Primary(spec);
        var decisions = new List<GateDecision>();
        if (double.IsNaN(value))
        {
            decisions.Add(new("metric", metric.Name, false, value, null, null, null,
                $"{metric.Name} could not be computed on the holdout rows."));
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

        var required = spec.Gates?.MinImprovement ?? 0;
        if (championVersion is null)
        {
            decisions.Add(new("minImprovement", metric.Name, true, value, required, null, null,
                "No production model yet: nothing to beat."));
        }
        else if (incomparable is not null || championValue is null || double.IsNaN(championValue.Value))
        {
            decisions.Add(new("minImprovement", metric.Name, true, value, required, championValue, null,
                $"Production v{championVersion} cannot be scored on these rows ({incomparable ?? "its metric is undefined"}): not compared."));
        }
        else
        {
            var delta = metric.HigherIsBetter ? value - championValue.Value : championValue.Value - value;
            var passed = delta >= required;
            decisions.Add(new("minImprovement", metric.Name, passed, value, required, championValue, delta,
                $"{metric.Name} {F(value)} vs production v{championVersion} {F(championValue.Value)} on the same holdout rows: " +
                $"improvement {F(delta)} {(passed ? ">=" : "<")} required {F(required)}."));
        }

        return decisions;
    }

    private static string F(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);
}
