using MlopsFunctions.Core.Data;

namespace MlopsFunctions.Tests.Unit;

/// <summary>The bounded-memory sketches behind profiles: exact adaptive histograms, HyperLogLog distinct counts, seeded reservoirs.</summary>
public sealed class SketchTests
{
    /// <summary>Counts each value into the histogram's own bins by brute force: [edge i, edge i+1).</summary>
    private static long[] BruteForce(List<double> values, double[] edges)
    {
        var counts = new long[edges.Length - 1];
        foreach (var v in values)
        {
            var bin = Enumerable.Range(0, counts.Length).FirstOrDefault(i => v >= edges[i] && v < edges[i + 1], -1);
            Assert.True(bin >= 0, $"{v} lies outside the histogram's edges [{edges[0]}, {edges[^1]})");
            counts[bin]++;
        }

        return counts;
    }

    private static void AssertExact(List<double> values)
    {
        var histogram = new StreamingHistogram();
        foreach (var v in values)
        {
            histogram.Add(v);
        }

        foreach (var maxBins in new[] { 256, 64, 20, 7, 1 })
        {
            var (edges, counts) = histogram.Bins(maxBins);
            Assert.InRange(counts.Length, 1, maxBins);
            Assert.Equal(counts.Length + 1, edges.Length);
            Assert.Equal(values.Count, counts.Sum());
            Assert.Equal(BruteForce(values, edges), counts);
        }
    }

    [Fact]
    public void Histogram_counts_stay_exact_when_the_range_grows_by_many_orders_of_magnitude_both_ways()
    {
        var random = new Random(7);
        var values = new List<double> { 0.001, 1000, -5000 };
        for (var i = 0; i < 20_000; i++)
        {
            // Mostly small values, some huge ones of either sign: the bins double many times.
            var magnitude = Math.Pow(10, random.NextDouble() * 9 - 3);
            values.Add(random.Next(4) == 0 ? -magnitude : magnitude);
        }

        AssertExact(values);
    }

    [Fact]
    public void Histogram_counts_stay_exact_for_negative_values_starting_from_zero()
    {
        var random = new Random(11);
        var values = new List<double> { 0 };
        values.AddRange(Enumerable.Range(0, 5000).Select(_ => -random.NextDouble() * 1e6));
        values.AddRange(Enumerable.Range(0, 50).Select(i => (double)-i));

        AssertExact(values);
    }

    [Fact]
    public void Histogram_of_integers_puts_each_in_its_bin()
    {
        var values = Enumerable.Range(-300, 900).Select(i => (double)i).Concat(Enumerable.Repeat(42.0, 1000)).ToList();

        AssertExact(values);
    }

    [Fact]
    public void Histogram_of_one_repeated_value_has_one_bin_holding_it()
    {
        var histogram = new StreamingHistogram();
        for (var i = 0; i < 100; i++)
        {
            histogram.Add(-3.25);
        }

        var (edges, counts) = histogram.Bins(10);

        Assert.Equal([100L], counts);
        Assert.True(edges[0] <= -3.25 && -3.25 < edges[1]);
    }

    [Fact]
    public void An_empty_histogram_has_no_bins()
    {
        var (edges, counts) = new StreamingHistogram().Bins(10);

        Assert.Empty(edges);
        Assert.Empty(counts);
    }

    [Theory]
    [InlineData(100_000)]
    [InlineData(250_000)]
    public void HyperLogLog_estimates_many_distinct_values_within_5_percent(int distinct)
    {
        var sketch = new HyperLogLog();
        for (var repeat = 0; repeat < 2; repeat++)
        {
            for (var i = 0; i < distinct; i++)
            {
                sketch.Add($"value-{i}");
            }
        }

        Assert.InRange(sketch.Estimate(), distinct * 0.95, distinct * 1.05);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(1000)]
    public void HyperLogLog_counts_small_sets_almost_exactly(int distinct)
    {
        var sketch = new HyperLogLog();
        for (var i = 0; i < distinct * 3; i++)
        {
            sketch.Add($"c{i % distinct}");
        }

        Assert.InRange(sketch.Estimate(), distinct * 0.96, distinct * 1.04 + 0.5);
    }

    [Fact]
    public void Reservoir_below_capacity_holds_every_value_in_order()
    {
        var reservoir = new Reservoir(100, 42);
        var values = Enumerable.Range(0, 60).Select(i => i * 1.5).ToArray();
        foreach (var v in values)
        {
            reservoir.Add(v);
        }

        Assert.True(reservoir.IsExact);
        Assert.Equal(values, reservoir.Values.ToArray());
        Assert.Equal(values, reservoir.Sorted());
    }

    [Fact]
    public void Reservoir_at_capacity_is_still_exact_and_one_more_value_makes_it_a_sample()
    {
        var reservoir = new Reservoir(10, 1);
        for (var i = 0; i < 10; i++)
        {
            reservoir.Add(i);
        }

        Assert.True(reservoir.IsExact);
        reservoir.Add(10);
        Assert.False(reservoir.IsExact);
        Assert.Equal(10, reservoir.Values.Length);
        Assert.Equal(11, reservoir.Seen);
    }

    [Fact]
    public void Reservoir_is_deterministic_for_a_seed_and_a_fair_sample()
    {
        static double[] Sample(ulong seed)
        {
            var reservoir = new Reservoir(1000, seed);
            for (var i = 0; i < 100_000; i++)
            {
                reservoir.Add(i);
            }

            return reservoir.Values.ToArray();
        }

        var first = Sample(42);
        var again = Sample(42);
        var other = Sample(44); // seeds 42 and 43 start the same generator (state = seed | 1)

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.Equal(1000, first.Distinct().Count());
        // A uniform sample of 0..99,999: mean near 50,000 and every tenth of the range represented.
        Assert.InRange(first.Average(), 47_000, 53_000);
        Assert.All(Enumerable.Range(0, 10), d => Assert.InRange(first.Count(v => (int)(v / 10_000) == d), 60, 140));
    }
}
