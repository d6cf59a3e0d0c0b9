using System.Security.Cryptography;

namespace MlopsFunctions.Core.Serving;

/// <summary>
/// Prediction ids: 26 Crockford base-32 characters (ULID layout) made of 48 bits of Unix milliseconds, 32 random bits
/// drawn once per process and a 48-bit per-process counter. They sort by time, are unique across instances without
/// coordination, and cost one Interlocked increment instead of a random draw per id.
/// </summary>
public static class PredictionIds
{
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private static readonly uint Instance = BitConverter.ToUInt32(RandomNumberGenerator.GetBytes(4));
    private static long counter = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8)) & 0xFFFF_FFFF;

    public static string Next() => Create(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Instance, (ulong)Interlocked.Increment(ref counter));

    /// <summary>The time an id was made, to the millisecond (used to find its capture file and by tests).</summary>
    public static DateTimeOffset TimeOf(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        long ms = 0;
        for (var i = 0; i < 10; i++)
        {
            ms = (ms << 5) | (long)Alphabet.IndexOf(id[i], StringComparison.Ordinal);
        }

        return DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }

    /// <summary>Whether a text has the form of a prediction id (feedback refuses anything else before storing it).</summary>
    public static bool IsValid(string? id)
    {
        if (id is not { Length: 26 } || id[0] > '7')
        {
            return false; // 26 characters of 5 bits hold 130 bits: the first carries 3 at most
        }

        foreach (var c in id)
        {
            if (!Alphabet.Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    internal static string Create(long unixMs, uint instance, ulong count)
    {
        // 128 bits: time (48) | instance (32) | counter (48), written 5 bits at a time from the top.
        var hi = ((ulong)unixMs << 16) | (instance >> 16);
        var lo = ((ulong)(instance & 0xFFFF) << 48) | (count & 0xFFFF_FFFF_FFFF);
        return string.Create(26, (hi, lo), static (span, v) =>
        {
            // The first character carries the top 3 bits (26 * 5 = 130 bits, the top 2 are zero).
            var (h, l) = v;
            for (var i = 25; i >= 0; i--)
            {
                span[i] = Alphabet[(int)(l & 31)];
                l = (l >> 5) | ((h & 31) << 59);
                h >>= 5;
            }
        });
    }
}
