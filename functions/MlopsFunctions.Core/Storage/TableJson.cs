using Azure.Data.Tables;

namespace MlopsFunctions.Core.Storage;

/// <summary>
/// JSON documents in table entities, split across properties Data, Data1, Data2... so no property passes Azure's
/// 64 KiB limit (32K UTF-16 characters); an entity stays under 1 MiB because large documents (schemas, profiles,
/// reports) live in blobs and only their names and hashes are kept here.
/// </summary>
public static class TableJson
{
    public const string Column = "Data";

    /// <summary>Characters per property: under the 32K-character limit with room for the rest of the entity.</summary>
    private const int ChunkChars = 30_000;

    /// <summary>Most chunks an entity may carry (about 900 KB of JSON).</summary>
    private const int MaxChunks = 15;

    public static void Write<T>(TableEntity entity, T value)
    {
        ArgumentNullException.ThrowIfNull(entity);
        var json = Json.Serialize(value);
        var chunks = (json.Length + ChunkChars - 1) / ChunkChars;
        if (chunks > MaxChunks)
        {
            throw new InvalidOperationException(
                $"A {typeof(T).Name} of {json.Length} characters does not fit in a table entity; large documents belong in blobs.");
        }

        for (var i = 0; i < Math.Max(1, chunks); i++)
        {
            entity[Name(i)] = json.Substring(i * ChunkChars, Math.Min(ChunkChars, json.Length - (i * ChunkChars)));
        }
    }

    public static T Read<T>(TableEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        var first = entity.GetString(Column);
        if (!entity.ContainsKey(Name(1)))
        {
            return Json.Deserialize<T>(first);
        }

        var json = new System.Text.StringBuilder(first);
        for (var i = 1; entity.GetString(Name(i)) is { } chunk; i++)
        {
            json.Append(chunk);
        }

        return Json.Deserialize<T>(json.ToString());
    }

    private static string Name(int chunk) => chunk == 0 ? Column : Column + chunk.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
