using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;
using Microsoft.DurableTask.Client;

namespace MlopsFunctions.LocalHost;

/// <summary>
/// Calls a function method the way the Functions host would: a new instance of its class from DI per call, and each
/// parameter bound from the trigger's values, the durable client or the cancellation token. Everything reflection
/// finds (constructor, parameters, the call itself, the task's result) is compiled once per function, so an HTTP call
/// costs about what a hand-written endpoint does.
/// </summary>
public static class FunctionInvoker
{
    private static readonly ConcurrentDictionary<MethodInfo, CompiledFunction> Compiled = new();

    public static async Task<object?> InvokeAsync(
        FunctionDescriptor function, IServiceProvider services, IReadOnlyDictionary<string, object?> values, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(values);
        var compiled = For(function);
        var args = compiled.Parameters.Select(p =>
            p.ParameterType == typeof(CancellationToken) ? ct
            : p.ParameterType == typeof(DurableTaskClient) ? services.GetRequiredService<DurableTaskClient>()
            : values.TryGetValue(p.Name!, out var named) ? named
            : values.Values.FirstOrDefault(v => v is not null && p.ParameterType.IsInstanceOfType(v))
              ?? throw new InvalidOperationException($"LocalHost cannot bind parameter '{p.Name}' of function {function.Name}."))
            .ToArray();
        return await compiled.InvokeAsync(services, args).ConfigureAwait(false);
    }

    /// <summary>An HTTP function: the request, its route values by parameter name, the durable client and the request's abort token.</summary>
    public static ValueTask<object?> InvokeHttpAsync(FunctionDescriptor function, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(context);
        var compiled = For(function);
        var binders = compiled.HttpBinders;
        var args = new object?[binders.Length];
        for (var i = 0; i < binders.Length; i++)
        {
            args[i] = binders[i](context);
        }

        return compiled.InvokeAsync(context.RequestServices, args);
    }

    private static CompiledFunction For(FunctionDescriptor function) => Compiled.GetOrAdd(function.Method, static (_, f) => new CompiledFunction(f), function);

    private sealed class CompiledFunction
    {
        private readonly ObjectFactory? factory;
        private readonly Func<object?, object?[], object?> call;
        private readonly Func<Task, object?>? result;

        public CompiledFunction(FunctionDescriptor function)
        {
            var method = function.Method;
            Parameters = method.GetParameters();
            factory = method.IsStatic ? null : ActivatorUtilities.CreateFactory(method.DeclaringType!, Type.EmptyTypes);

            var target = Expression.Parameter(typeof(object), "target");
            var args = Expression.Parameter(typeof(object?[]), "args");
            var arguments = Parameters.Select((p, i) => Expression.Convert(Expression.ArrayIndex(args, Expression.Constant(i)), p.ParameterType));
            Expression invoke = method.IsStatic
                ? Expression.Call(method, arguments)
                : Expression.Call(Expression.Convert(target, method.DeclaringType!), method, arguments);
            invoke = method.ReturnType == typeof(void)
                ? Expression.Block(invoke, Expression.Constant(null))
                : Expression.Convert(invoke, typeof(object));
            call = Expression.Lambda<Func<object?, object?[], object?>>(invoke, target, args).Compile();

            if (method.ReturnType.IsGenericType && method.ReturnType.GetGenericTypeDefinition() == typeof(Task<>))
            {
                var task = Expression.Parameter(typeof(Task), "task");
                result = Expression.Lambda<Func<Task, object?>>(
                    Expression.Convert(Expression.Property(Expression.Convert(task, method.ReturnType), "Result"), typeof(object)), task).Compile();
            }

            HttpBinders = Parameters.Select(p => HttpBinder(function, p)).ToArray();
        }

        public ParameterInfo[] Parameters { get; }

        public Func<HttpContext, object?>[] HttpBinders { get; }

        public ValueTask<object?> InvokeAsync(IServiceProvider services, object?[] args)
        {
            var instance = factory?.Invoke(services, null);
            var returned = call(instance, args);
            if (returned is not Task task)
            {
                return ValueTask.FromResult(returned);
            }

            return task.IsCompletedSuccessfully ? ValueTask.FromResult(result?.Invoke(task)) : AwaitAsync(task);
        }

        private async ValueTask<object?> AwaitAsync(Task task)
        {
            await task.ConfigureAwait(false);
            return result?.Invoke(task);
        }

        private static Func<HttpContext, object?> HttpBinder(FunctionDescriptor function, ParameterInfo p)
        {
            if (p.ParameterType == typeof(CancellationToken))
            {
                return c => c.RequestAborted;
            }

            if (p.ParameterType == typeof(DurableTaskClient))
            {
                return c => c.RequestServices.GetRequiredService<DurableTaskClient>();
            }

            if (p.ParameterType.IsAssignableFrom(typeof(HttpRequest)))
            {
                return c => c.Request;
            }

            var name = p.Name!;
            return c => c.Request.RouteValues.TryGetValue(name, out var value)
                ? value?.ToString()
                : throw new InvalidOperationException($"LocalHost cannot bind parameter '{name}' of function {function.Name}.");
        }
    }
}
