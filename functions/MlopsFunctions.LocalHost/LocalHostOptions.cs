namespace MlopsFunctions.LocalHost;

/// <summary>LocalHost-only settings ("LocalHost" section): how often the blob trigger polls.</summary>
public sealed class LocalHostOptions
{
    public const string Section = "LocalHost";

    public double BlobPollSeconds { get; set; } = 1;
}
