namespace MlopsFunctions.Cli;

/// <summary>A failure the CLI reports as one sentence and an exit code, never as a stack trace.</summary>
internal sealed class CliError(string message, int exitCode) : Exception(message)
{
    /// <summary>The server refused or failed the call (HTTP 4xx/5xx), or a run ended without a usable version.</summary>
    public const int Failed = 1;

    /// <summary>Bad local input: a missing or unreadable file, a malformed CSV or spec, a bad option.</summary>
    public const int BadInput = 2;

    /// <summary>The server or the storage account could not be reached.</summary>
    public const int Unreachable = 3;

    public int ExitCode { get; } = exitCode;

    public static CliError Input(string message) => new(message, BadInput);
}
