namespace MlopsFunctions.LocalHost;

/// <summary>The API URLs LocalHost listens on: --urls, else ASPNETCORE_URLS/DOTNET_URLS, else http://127.0.0.1:7071.</summary>
public static class PublicUrls
{
    public const string Default = "http://127.0.0.1:7071";

    /// <summary>Returns the URLs and the arguments without them; clears the URL variables so the host does not bind them too.</summary>
    public static (string[] Urls, string[] Others) Take(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        string? value = null;
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "--urls" && i + 1 < args.Length)
            {
                value = args[++i];
            }
            else if (args[i].StartsWith("--urls=", StringComparison.Ordinal))
            {
                value = args[i]["--urls=".Length..];
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        foreach (var variable in new[] { "ASPNETCORE_URLS", "DOTNET_URLS" })
        {
            value ??= Environment.GetEnvironmentVariable(variable);
            Environment.SetEnvironmentVariable(variable, null);
        }

        return ((value ?? Default).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), [.. rest]);
    }
}
