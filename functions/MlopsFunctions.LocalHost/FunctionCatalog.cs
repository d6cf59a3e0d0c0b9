using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using MlopsFunctions.Core.Hosting;

namespace MlopsFunctions.LocalHost;

/// <summary>
/// Every [Function] method of the Functions app, found by reflection with its trigger, so LocalHost serves the same
/// methods the app exposes and cannot drift from it.
/// </summary>
public sealed record FunctionDescriptor(string Name, MethodInfo Method, Attribute Trigger)
{
    public static IReadOnlyList<FunctionDescriptor> Discover(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        return assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Function: m.GetCustomAttribute<FunctionAttribute>()))
            .Where(x => x.Function is not null)
            .Select(x => new FunctionDescriptor(x.Function!.Name, x.Method, TriggerOf(x.Method)))
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
    }

    public HttpTriggerAttribute? Http => Trigger as HttpTriggerAttribute;

    public BlobTriggerAttribute? Blob => Trigger as BlobTriggerAttribute;

    /// <summary>The roles declared by [Role] next to the [Function]; none means no host runs it.</summary>
    public Roles Roles => Method.GetCustomAttribute<RoleAttribute>()?.Roles ?? Roles.None;

    public TimerTriggerAttribute? Timer => Trigger as TimerTriggerAttribute;

    private static Attribute TriggerOf(MethodInfo method) =>
        method.GetParameters()
            .SelectMany(p => p.GetCustomAttributes())
            .FirstOrDefault(a => a is HttpTriggerAttribute or BlobTriggerAttribute or TimerTriggerAttribute)
        ?? throw new NotSupportedException($"Function {method.DeclaringType?.Name}.{method.Name} has a trigger LocalHost does not serve.");
}
