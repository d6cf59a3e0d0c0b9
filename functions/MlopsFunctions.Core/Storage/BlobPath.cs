namespace MlopsFunctions.Core.Storage;

/// <summary>A blob named as "container/name", the form durable payloads and lineage carry.</summary>
public readonly record struct BlobPath(string Container, string Name)
{
    public const string Incoming = "incoming";
    public const string Datasets = "datasets";
    public const string Rejected = "rejected";
    public const string Models = "models";
    public const string Captured = "captured";
    public const string Feedback = "feedback";

    public static readonly IReadOnlyList<string> Containers = [Incoming, Datasets, Rejected, Models, Captured, Feedback];

    public static BlobPath Parse(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == path.Length - 1)
        {
            throw new FormatException($"'{path}' is not a blob path of the form container/name.");
        }

        return new BlobPath(path[..slash], path[(slash + 1)..]);
    }

    /// <summary>Parses "container/name", or null when the text is not of that form.</summary>
    public static BlobPath? TryParse(string? path)
    {
        var slash = path?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        return slash <= 0 || slash == path!.Length - 1 || path.Contains("..", StringComparison.Ordinal) ? null : new BlobPath(path[..slash], path[(slash + 1)..]);
    }

    public static BlobPath Dataset(string model, string sha256) => new(Datasets, $"{model}/{sha256}.csv");

    public static BlobPath ModelFile(string model, int version, string file) => new(Models, $"{model}/{version}/{file}");

    public string FileName => Name[(Name.LastIndexOf('/') + 1)..];

    public override string ToString() => $"{Container}/{Name}";
}
