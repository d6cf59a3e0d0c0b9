using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Monitoring;
using MlopsFunctions.Core.Pipeline;

namespace MlopsFunctions.Tests.Unit;

/// <summary>
/// The monitoring loop's pure rules: PSI from the bin counts an hour adds up, when a live metric has decayed, and the
/// once-per-version-and-alarm rule that keeps repeated checks from starting more than one retrain.
/// </summary>
public sealed class MonitorRulesTests
{
    private static readonly DriftBaseline Quarters = new([1.0, 2.0, 3.0], null, [0.25, 0.25, 0.25, 0.25], 0);

    [Fact]
    public void Psi_of_counts_in_the_baseline_proportions_is_zero()
    {
        Assert.Equal(0, Psi.Compute(Quarters, [25, 25, 25, 25], 0), 12);
        Assert.Equal(0, Psi.Compute(Quarters, [250, 250, 250, 250], 0), 12);
    }

    [Fact]
    public void Psi_of_counts_is_the_sum_of_the_bin_terms()
    {
        // actual shares 0.1, 0.2, 0.3, 0.4 against 0.25 each
        double[] actual = [0.1, 0.2, 0.3, 0.4];
        var expected = actual.Sum(a => (a - 0.25) * Math.Log(a / 0.25));

        Assert.Equal(expected, Psi.Compute(Quarters, [10, 20, 30, 40], 0), 12);
        Assert.InRange(expected, 0.22, 0.24); // over the default threshold 0.2
    }

    [Fact]
    public void Psi_counts_missing_values_as_their_own_bin()
    {
        var baseline = Quarters with { MissingFraction = 0.2 };

        // 20% missing and the rest in quarters: exactly the baseline
        Assert.Equal(0, Psi.Compute(baseline, [20, 20, 20, 20], 20), 12);
        // nothing missing although the baseline had 20%: the missing bin alone contributes (0.0001 - 0.2) * ln(0.0001 / 0.2)
        var missingTerm = (1e-4 - 0.2) * Math.Log(1e-4 / 0.2);
        Assert.True(Psi.Compute(baseline, [25, 25, 25, 25], 0) > missingTerm);
    }

    [Fact]
    public void Psi_of_an_empty_bin_is_finite_and_large()
    {
        var psi = Psi.Compute(Quarters, [0, 0, 50, 50], 0);

        Assert.True(double.IsFinite(psi));
        Assert.True(psi > 1, psi.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Psi_of_no_rows_or_other_bins_is_zero()
    {
        Assert.Equal(0, Psi.Compute(Quarters, [0, 0, 0, 0], 0));
        Assert.Equal(0, Psi.Compute(Quarters, [10, 10, 10], 0));
    }

    [Fact]
    public void Psi_of_counts_added_up_over_checks_equals_psi_of_all_rows_at_once()
    {
        var checks = new ColumnChecks(100, false, 1) { DriftCuts = Quarters.Cuts };
        var first = new ColumnAccumulator("x", checks);
        var second = new ColumnAccumulator("x", checks);
        var all = new ColumnAccumulator("x", checks);
        string[] early = ["0.5", "0.5", "1.5", "3.5", ""];
        string[] late = ["3.5", "3.5", "3.5", "2.5", "0.5", ""];
        foreach (var cell in early)
        {
            first.Add(cell, 1);
            all.Add(cell, 1);
        }

        foreach (var cell in late)
        {
            second.Add(cell, 1);
            all.Add(cell, 1);
        }

        var a = Psi.Counts(Quarters, first)!.Value;
        var b = Psi.Counts(Quarters, second)!.Value;
        var summed = a.Counts.Zip(b.Counts, (x, y) => x + y).ToArray();
        var whole = Psi.Counts(Quarters, all)!.Value;

        Assert.Equal(whole.Counts, summed);
        Assert.Equal(new long[] { 3, 1, 1, 4 }, summed);
        Assert.Equal(2, a.Missing + b.Missing);
        Assert.Equal(Psi.Of(Quarters, all)!.Value, Psi.Compute(Quarters, summed, a.Missing + b.Missing), 12);
    }

    [Theory]
    [InlineData(0.7, true, 0.8, 40, 30, true)] // accuracy under its minimum
    [InlineData(0.85, true, 0.8, 40, 30, false)] // accuracy above it
    [InlineData(0.8, true, 0.8, 40, 30, false)] // at the threshold is not past it
    [InlineData(0.7, true, 0.8, 29, 30, false)] // too few labelled predictions to judge
    [InlineData(0.7, true, 0.8, 30, 30, true)] // exactly enough
    [InlineData(12.0, false, 10.0, 40, 30, true)] // an error metric over its maximum
    [InlineData(9.0, false, 10.0, 40, 30, false)] // an error metric under it
    public void A_live_metric_decays_past_its_threshold_with_enough_labels(double value, bool higherIsBetter, double min, int labelled, int minLabelled, bool decayed) =>
        Assert.Equal(decayed, MonitorRules.IsDecayed(value, higherIsBetter, min, labelled, minLabelled));

    [Fact]
    public void A_live_metric_without_a_threshold_or_a_value_never_decays()
    {
        Assert.False(MonitorRules.IsDecayed(0.1, true, null, 500, 30));
        Assert.False(MonitorRules.IsDecayed(null, true, 0.8, 500, 30));
        Assert.False(MonitorRules.IsDecayed(double.NaN, true, 0.8, 500, 30));
    }

    [Fact]
    public void An_open_alarm_on_a_version_is_raised_once_and_retrains_once()
    {
        var at = DateTimeOffset.UnixEpoch;
        Assert.True(MonitorRules.Raises(null, 3));
        var decay = new MonitorAlarm(3, at, "live MacroAccuracy 0.5");

        // The first check with the alarm asks for the version's decay retrain.
        Assert.Equal(("decay", RunIds.ForDecay("iris", 3)), MonitorRules.Retrain("iris", 3, null, decay));
        var (drift, started) = MonitorRules.Started(RunIds.ForDecay("iris", 3), null, decay);
        Assert.Null(drift);
        Assert.Equal(RunIds.ForDecay("iris", 3), started!.RunId);

        // Every later check on the same version: the alarm is kept, not raised again, and starts nothing.
        for (var check = 0; check < 5; check++)
        {
            var carried = MonitorRules.Carry(started, 3);
            Assert.Same(started, carried);
            Assert.False(MonitorRules.Raises(carried, 3));
            Assert.Null(MonitorRules.Retrain("iris", 3, null, carried));
        }
    }

    [Fact]
    public void A_new_production_version_starts_without_alarms_and_gets_its_own_run_id()
    {
        var answered = new MonitorAlarm(3, DateTimeOffset.UnixEpoch, "decay") { RunId = RunIds.ForDecay("iris", 3) };

        Assert.Null(MonitorRules.Carry(answered, 4));
        Assert.True(MonitorRules.Raises(answered, 4));
        var next = new MonitorAlarm(4, DateTimeOffset.UnixEpoch, "decay");
        Assert.Equal(("decay", "iris.decay.v4"), MonitorRules.Retrain("iris", 4, null, next));
        Assert.NotEqual(RunIds.ForDecay("iris", 3), RunIds.ForDecay("iris", 4));
    }

    [Fact]
    public void Drift_and_decay_together_start_one_retrain_that_answers_both()
    {
        var at = DateTimeOffset.UnixEpoch;
        var drift = new MonitorAlarm(2, at, "bmi PSI 1.2");
        var decay = new MonitorAlarm(2, at, "live RSquared 0.1");

        var start = MonitorRules.Retrain("diabetes", 2, drift, decay);
        Assert.Equal(("drift", "diabetes.drift.v2"), start);
        var (d, k) = MonitorRules.Started(start!.Value.RunId, drift, decay);

        Assert.Equal("diabetes.drift.v2", d!.RunId);
        Assert.Equal("diabetes.drift.v2", k!.RunId);
        Assert.Null(MonitorRules.Retrain("diabetes", 2, d, k));
    }

    [Fact]
    public void A_stale_alarm_of_an_older_version_starts_no_retrain_for_the_current_one()
    {
        var old = new MonitorAlarm(1, DateTimeOffset.UnixEpoch, "decay");

        Assert.Null(MonitorRules.Retrain("iris", 2, null, old));
        Assert.Null(MonitorRules.Retrain("iris", 2, old, null));
    }
}
