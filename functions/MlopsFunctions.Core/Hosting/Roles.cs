using Microsoft.Extensions.Configuration;

namespace MlopsFunctions.Core.Hosting;

/// <summary>The roles a function belongs to and a host runs, so training never shares a box with serving.</summary>
[Flags]
public enum Roles
{
    None = 0,

    /// <summary>Predictions and the read-only routes: scales on requests, never trains.</summary>
    Serving = 1,

    /// <summary>Blob and timer triggers, the durable worker and the admin routes: sized for training.</summary>
    Pipeline = 2,

    /// <summary>Everything in one host (the local default).</summary>
    All = Serving | Pipeline,
}

/// <summary>Declares, next to a [Function], which roles run it; a function without one runs nowhere (a unit test fails).</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class RoleAttribute(Roles roles) : Attribute
{
    public Roles Roles { get; } = roles;
}

/// <summary>The host's role, read from the Mlops__Role setting at start; a bad value stops the host with a clear message.</summary>
public static class HostRole
{
    /// <summary>The setting, in environment-variable form (configuration key "Mlops:Role").</summary>
    public const string Setting = "Mlops__Role";

    /// <summary>The durable tasks (orchestrator and activities from AddMlopsTasks) run only where the pipeline runs.</summary>
    public const Roles DurableTasks = Roles.Pipeline;

    private static readonly Dictionary<string, Roles> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["all"] = Roles.All,
        ["serving"] = Roles.Serving,
        ["pipeline"] = Roles.Pipeline,
    };

    /// <summary>The setting's value as roles; unset or empty means all.</summary>
    public static Roles Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return Roles.All;
        }

        return Names.TryGetValue(value, out var roles)
            ? roles
            : throw new InvalidOperationException(
                $"{Setting} is '{value}', which is not a role: set it to all (everything, the default), serving (predict and read routes) or pipeline (triggers, durable worker, admin routes).");
    }

    public static Roles FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return Parse(configuration.GetSection(MlopsOptions.Section)[nameof(MlopsOptions.Role)]);
    }

    /// <summary>Whether a host of role <paramref name="host"/> runs a function declared for <paramref name="function"/>.</summary>
    public static bool Runs(this Roles host, Roles function) => (host & function) != Roles.None;
}
