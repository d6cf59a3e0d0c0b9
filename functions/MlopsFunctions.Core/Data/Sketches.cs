using System.Numerics;
using System.Runtime.InteropServices;
using System.IO.Hashing;

namespace MlopsFunctions.Core.Data;

/// <summary>
/// A uniform sample of at most <see cref="Capacity"/> values of a stream (algorithm R with a seeded generator, so the
/// same file gives the same sample): quantiles and drift bins come from it in bounded memory.
/// </summary>
internal sealed class Reservoir(int capacity, ulong seed)
{
    private readonly double[] values = new double[capacity];
    private ulong state = seed | 1;

    public int Capacity => values.Length;

    public long Seen { get; private set; }

    public ReadOnlySpan<double> Values => values.AsSpan(0, (int)Math.Min(Seen, values.Length));

    /// <summary>True when every value seen is in the sample, so statistics from it are exact.</summary>
    public bool IsExact => Seen <= values.Length;

    public void Add(double value)
    {
        if (Seen < values.Length)
        {
            values[Seen++] = value;
            return;
        }

        Seen++;
        var slot = Next() % (ulong)Seen;
        if (slot < (ulong)values.Length)
        {
            values[slot] = value;
        }
    }

    /// <summary>Sorted copy of the sample.</summary>
    public double[] Sorted()
    {
        var sorted = Values.ToArray();
        Array.Sort(sorted);
        return sorted;
    }

    private ulong Next()
    {
        // xorshift64*: fast, deterministic, good enough to pick sample slots.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return state * 2685821657736338717UL;
    }
}

/// <summary>
/// Exact counts in equal-width bins over whatever range the data turns out to have, in one pass: bins sit on a grid
/// of width 2^k aligned to its own width, and when a value falls outside the range the width doubles and pairs of
/// bins merge. Counts stay exact; only the bin width adapts.
/// </summary>
internal sealed class StreamingHistogram
{
    private const int Size = 256;
    private readonly long[] counts = new long[Size];
    private double width;
    private double origin;
    private bool started;

    public void Add(double value)
    {
        if (!started)
        {
            // Start fine (a millionth of the value's magnitude) and let doubling find the range.
            width = Math.Pow(2, Math.Floor(Math.Log2(Math.Max(Math.Abs(value), 1e-9) * 1e-6)));
            origin = Math.Floor(value / width) * width - (Size / 2) * width;
            started = true;
        }

        while (value < origin || value >= origin + (Size * width))
        {
            Grow(value);
        }

        var index = (int)((value - origin) / width);
        counts[Math.Clamp(index, 0, Size - 1)]++;
    }

    /// <summary>Bins with data, merged pairwise until at most <paramref name="maxBins"/> remain, as edges and counts.</summary>
    public (double[] Edges, long[] Counts) Bins(int maxBins)
    {
        if (!started)
        {
            return ([], []);
        }

        var first = Array.FindIndex(counts, c => c > 0);
        var last = Array.FindLastIndex(counts, c => c > 0);
        var w = width;
        var start = origin + (first * width);
        var bins = counts[first..(last + 1)].ToList();
        while (bins.Count > maxBins)
        {
            var merged = new List<long>((bins.Count + 1) / 2);
            for (var i = 0; i < bins.Count; i += 2)
            {
                merged.Add(bins[i] + (i + 1 < bins.Count ? bins[i + 1] : 0));
            }

            bins = merged;
            w *= 2;
        }

        var edges = new double[bins.Count + 1];
        for (var i = 0; i < edges.Length; i++)
        {
            edges[i] = start + (i * w);
        }

        return (edges, bins.ToArray());
    }

    private void Grow(double value)
    {
        var wider = width * 2;
        // Both choices keep the old range inside the new one: extend left by up to a full range, or right.
        var newOrigin = value < origin
            ? Math.Ceiling((origin - (Size * width)) / wider) * wider
            : Math.Floor(origin / wider) * wider;
        var merged = new long[Size];
        for (var i = 0; i < Size; i++)
        {
            if (counts[i] == 0)
            {
                continue;
            }

            var target = (int)Math.Floor((origin + (i * width) - newOrigin) / wider);
            merged[Math.Clamp(target, 0, Size - 1)] += counts[i];
        }

        merged.CopyTo(counts, 0);
        width = wider;
        origin = newOrigin;
    }
}

/// <summary>HyperLogLog (2^12 registers, about 1.6% error): how many distinct values a column has, in 4 KiB.</summary>
internal sealed class HyperLogLog
{
    private const int Bits = 12;
    private const int Registers = 1 << Bits;
    private readonly byte[] registers = new byte[Registers];

    public void Add(ReadOnlySpan<char> value)
    {
        var hash = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(value));
        var index = (int)(hash >> (64 - Bits));
        var rank = (byte)(BitOperations.LeadingZeroCount((hash << Bits) | (1UL << (Bits - 1))) + 1);
        if (rank > registers[index])
        {
            registers[index] = rank;
        }
    }

    public long Estimate()
    {
        double sum = 0;
        var zeros = 0;
        foreach (var r in registers)
        {
            sum += Math.Pow(2, -r);
            zeros += r == 0 ? 1 : 0;
        }

        var alpha = 0.7213 / (1 + (1.079 / Registers));
        var estimate = alpha * Registers * Registers / sum;
        if (estimate <= 2.5 * Registers && zeros > 0)
        {
            estimate = Registers * Math.Log((double)Registers / zeros); // linear counting for small sets
        }

        return (long)Math.Round(estimate);
    }
}
