using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace MlopsFunctions.Core.Registry;

/// <summary>The model-name rule of the storage contract; names that break it never reach a path or a table key.</summary>
public static partial class ModelName
{
    public const string Rule = "1-63 characters of a-z, 0-9 and '-', starting with a letter";

    public static bool IsValid([NotNullWhen(true)] string? name) => name is not null && Pattern().IsMatch(name);

    [GeneratedRegex("^[a-z][a-z0-9-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
