using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Functions;

namespace MlopsFunctions.Tests.Unit;

/// <summary>Every function declares its role, the split is the documented one, and Mlops__Role is read strictly.</summary>
public sealed class RoleTests
{
    /// <summary>Every [Function] method of the app with its declared roles (None when it declares none).</summary>
    public static IReadOnlyDictionary<string, Roles> DeclaredRoles() =>
        typeof(HealthFunction).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => m.GetCustomAttribute<FunctionAttribute>() is not null)
            .ToDictionary(m => m.GetCustomAttribute<FunctionAttribute>()!.Name, m => m.GetCustomAttribute<RoleAttribute>()?.Roles ?? Roles.None);

    [Fact]
    public void Every_function_declares_the_roles_that_run_it()
    {
        var missing = DeclaredRoles().Where(f => f.Value == Roles.None).Select(f => f.Key).ToList();

        Assert.True(missing.Count == 0, $"Add [Role(...)] next to [Function] on: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Serving_runs_predict_and_reads_pipeline_runs_triggers_and_admin_and_both_read()
    {
        var declared = DeclaredRoles();
        string[] servingOnly = ["Predict", "PostFeedback"];
        string[] pipelineOnly = ["IncomingData", "RetrainTimer", "MonitorTimer", "PutModelSpec", "SwapSlots", "Rollback", "ApproveVersion", "RejectVersion", "RetrainModel"];
        string[] both = ["Health", "ListModels", "GetModel", "GetModelVersion", "GetRun", "ListModelRuns", "GetFeedback", "GetDrift"];

        Assert.All(servingOnly, f => Assert.Equal(Roles.Serving, declared[f]));
        Assert.All(pipelineOnly, f => Assert.Equal(Roles.Pipeline, declared[f]));
        Assert.All(both, f => Assert.Equal(Roles.All, declared[f]));
        Assert.Equal(Roles.Pipeline, HostRole.DurableTasks);
    }

    [Theory]
    [InlineData(null, Roles.All)]
    [InlineData("", Roles.All)]
    [InlineData("all", Roles.All)]
    [InlineData("serving", Roles.Serving)]
    [InlineData("Pipeline", Roles.Pipeline)]
    [InlineData("SERVING", Roles.Serving)]
    public void The_role_setting_names_the_roles(string? value, Roles expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Mlops:Role"] = value }).Build();

        Assert.Equal(expected, HostRole.FromConfiguration(configuration));
    }

    [Theory]
    [InlineData("server")]
    [InlineData("serving,pipeline")]
    [InlineData("3")]
    [InlineData(" serving")]
    public void A_bad_role_is_refused_with_the_setting_and_the_valid_values(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => HostRole.Parse(value));

        Assert.Contains($"Mlops__Role is '{value}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("all", error.Message, StringComparison.Ordinal);
        Assert.Contains("serving", error.Message, StringComparison.Ordinal);
        Assert.Contains("pipeline", error.Message, StringComparison.Ordinal);
        var options = new MlopsOptions { Role = value };
        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), null, validateAllProperties: true));
    }

    [Theory]
    [InlineData(Roles.All, Roles.Serving, true)]
    [InlineData(Roles.All, Roles.Pipeline, true)]
    [InlineData(Roles.Serving, Roles.Pipeline, false)]
    [InlineData(Roles.Pipeline, Roles.Serving, false)]
    [InlineData(Roles.Serving, Roles.All, true)]
    [InlineData(Roles.Pipeline, Roles.None, false)]
    public void A_host_runs_the_functions_that_share_one_of_its_roles(Roles host, Roles function, bool runs) =>
        Assert.Equal(runs, host.Runs(function));
}
