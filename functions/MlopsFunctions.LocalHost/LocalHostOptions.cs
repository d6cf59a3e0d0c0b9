namespace MlopsFunctions.LocalHost;

/// <summary>LocalHost-only settings ("LocalHost" section): how often the blob trigger polls, and the keys it enforces.</summary>
public sealed class LocalHostOptions
{
    public const string Section = "LocalHost";

    public double BlobPollSeconds { get; set; } = 1;

    /// <summary>
    /// Visibility timeout of the durable queues: after a crash, a run resumes at most this long after the restart.
    /// Running activities renew their lock, so a long training run is never taken twice.
    /// </summary>
    public double RecoverySeconds { get; set; } = 20;

    /// <summary>The admin key (LocalHost__MasterKey): opens every route, like the Functions host's master key.</summary>
    public string? MasterKey { get; set; }

    /// <summary>Named function keys (LocalHost__FunctionKeys__{name}): open Function-level routes only.</summary>
    public Dictionary<string, string> FunctionKeys { get; } = new(StringComparer.Ordinal);
}
