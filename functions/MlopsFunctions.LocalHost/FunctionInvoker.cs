using Microsoft.DurableTask.Client;

namespace MlopsFunctions.LocalHost;

/// <summary>
/// Calls a function method the way the Functions host would: a new instance of its class from DI per call, and each
/// parameter bound from the trigger's values, the durable client or the cancellation token.
/// </summary>
public static class FunctionInvoker
{
    public static async Task<object?> InvokeAsync(
        FunctionDescriptor function, IServiceProvider services, IReadOnlyDictionary<string, object?> values, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(values);
        var method = function.Method;
        var target = method.IsStatic ? null : ActivatorUtilities.CreateInstance(services, method.DeclaringType!);
        var args = method.GetParameters().Select(p =>
            p.ParameterType == typeof(CancellationToken) ? ct
            : p.ParameterType == typeof(DurableTaskClient) ? services.GetRequiredService<DurableTaskClient>()
            : values.TryGetValue(p.Name!, out var named) ? named
            : values.Values.FirstOrDefault(v => v is not null && p.ParameterType.IsInstanceOfType(v))
              ?? throw new InvalidOperationException($"LocalHost cannot bind parameter '{p.Name}' of function {function.Name}."))
            .ToArray();

        var result = method.Invoke(target, args);
        switch (result)
        {
            case Task task:
                await task.ConfigureAwait(false);
                var resultProperty = task.GetType().GetProperty("Result");
                return resultProperty?.PropertyType.Name == "VoidTaskResult" ? null : resultProperty?.GetValue(task);
            default:
                return result;
        }
    }
}
