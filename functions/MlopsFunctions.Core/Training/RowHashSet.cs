namespace MlopsFunctions.Core.Training;

/// <summary>
/// A set of 64-bit row hashes in one flat array (open addressing, linear probing): 16 bytes per row at most, a
/// quarter of a HashSet&lt;ulong&gt;'s, for de-duplicating the rows of a training window without holding the rows.
/// </summary>
internal sealed class RowHashSet
{
    private ulong[] slots = new ulong[1024];
    private int count;

    public int Count => count;

    public bool Contains(ulong hash)
    {
        hash = hash == 0 ? 1 : hash;
        var mask = slots.Length - 1;
        for (var i = (int)(hash & (ulong)mask); ; i = (i + 1) & mask)
        {
            if (slots[i] == hash)
            {
                return true;
            }

            if (slots[i] == 0)
            {
                return false;
            }
        }
    }

    /// <summary>Adds a hash; false when it was already there.</summary>
    public bool Add(ulong hash)
    {
        if (hash == 0)
        {
            hash = 1; // 0 marks an empty slot; a collision of two hashes in 2^64 is as likely as any other
        }

        if ((count + 1) * 2 > slots.Length)
        {
            Grow();
        }

        var mask = slots.Length - 1;
        for (var i = (int)(hash & (ulong)mask); ; i = (i + 1) & mask)
        {
            if (slots[i] == hash)
            {
                return false;
            }

            if (slots[i] == 0)
            {
                slots[i] = hash;
                count++;
                return true;
            }
        }
    }

    private void Grow()
    {
        var old = slots;
        slots = new ulong[old.Length * 2];
        count = 0;
        foreach (var hash in old)
        {
            if (hash != 0)
            {
                Add(hash);
            }
        }
    }
}
