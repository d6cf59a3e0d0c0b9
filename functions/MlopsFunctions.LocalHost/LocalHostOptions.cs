namespace MlopsFunctions.LocalHost;

/// <summary>LocalHost-only settings ("LocalHost" section): how often the blob trigger polls, and the keys it enforces.</summary>
public sealed class LocalHostOptions
{
    public const string Section = "LocalHost";

    public double BlobPollSeconds { get; set; } = 1;

    /// <summary>The admin key (LocalHost__MasterKey): opens every route, like the Functions host's master key.</summary>
    public string? MasterKey { get; set; }

    /// <summary>Named function keys (LocalHost__FunctionKeys__{name}): open Function-level routes only.</summary>
    public Dictionary<string, string> FunctionKeys { get; } = new(StringComparer.Ordinal);
}
