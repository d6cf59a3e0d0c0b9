using System.IO.Hashing;
using System.Runtime.InteropServices;
using MlopsFunctions.Core.Data;

namespace MlopsFunctions.Core.Training;

/// <summary>Which part of the data a row belongs to.</summary>
public enum Split
{
    Train,
    Validation,
    Holdout,
}

/// <summary>
/// Assigns every row to train, validation or holdout by a seeded hash of its content (its cells by column name),
/// not by its position: the same row lands in the same split in whatever file it arrives, and appending rows never
/// moves old ones. A champion has therefore never trained on a candidate's holdout rows, whichever files each saw.
/// Every class gets each split's share in expectation; per-class counts are reported with the evaluation.
/// </summary>
public sealed record RowSplit(double HoldoutFraction, double ValidationFraction, int Seed)
{
    public Split Of(ulong rowHash)
    {
        var u = (rowHash >> 11) * (1.0 / (1UL << 53));
        return u < HoldoutFraction ? Split.Holdout : u < HoldoutFraction + ValidationFraction ? Split.Validation : Split.Train;
    }

    /// <summary>The column order a row is hashed in (by name, so column order in a file does not matter).</summary>
    public static int[] HashOrder(IReadOnlyList<string> header)
    {
        ArgumentNullException.ThrowIfNull(header);
        return Enumerable.Range(0, header.Count).OrderBy(i => header[i], StringComparer.Ordinal).ToArray();
    }
}

/// <summary>Hashes one row's cells: trimmed, every missing token as empty, a separator between cells.</summary>
internal sealed class RowHasher(int seed)
{
    private static readonly byte[] Separator = [0x1f, 0];
    private readonly XxHash3 hash = new(seed);

    public ulong Hash(nietras.SeparatedValues.SepReader.Row row, int[] order)
    {
        hash.Reset();
        foreach (var column in order)
        {
            var cell = row[column].Span;
            if (!Cells.IsMissing(cell))
            {
                hash.Append(MemoryMarshal.AsBytes(cell.Trim()));
            }

            hash.Append(Separator);
        }

        return hash.GetCurrentHashAsUInt64();
    }
}
