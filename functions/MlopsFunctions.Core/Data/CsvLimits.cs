namespace MlopsFunctions.Core.Data;

/// <summary>
/// What a user-supplied CSV may make the pipeline hold: a file size, a header width, a line length and a number of
/// categories per column. Each comes from a setting, which the rejection message names so the limit can be raised.
/// </summary>
public sealed record CsvLimits(long MaxFileBytes, int MaxColumns, int MaxLineBytes, int MaxCategories)
{
    public static CsvLimits From(MlopsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new(options.MaxFileMegabytes * 1024L * 1024L, options.MaxColumns, options.MaxLineKilobytes * 1024, options.MaxCategories);
    }
}

/// <summary>A file broke one of the <see cref="CsvLimits"/> or is not UTF-8 text; reading stops at once.</summary>
public sealed class CsvRejectedException(string code, string message, long line) : Exception(message)
{
    public string Code { get; } = code;

    /// <summary>The 1-based line where reading stopped (0 when it does not apply).</summary>
    public long Line { get; } = line;
}
