using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.DurableTask;
using Microsoft.Azure.Functions.Worker.Extensions.DurableTask.Execution;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Pipeline;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.Unit;

/// <summary>
/// The compiled infra/main.bicep (infra/bin/main.json, from scripts/bicep-check.sh): two apps with their roles, each
/// disabling exactly the functions its role does not run (compared with the [Role] declarations and the durable tasks,
/// so the Bicep and the code cannot drift apart), and only the pipeline identity able to write the registry and data.
/// </summary>
public sealed partial class InfraTemplateTests
{
    private const string BlobOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string BlobContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
    private const string BlobReader = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
    private const string QueueContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string TableContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string TableReader = "76199698-9eea-4c19-bc75-cec21354c6b6";
    private const string Owner = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
    private const string Contributor = "b24988ac-6180-42a0-ab88-20f7382dd24c";

    private static readonly string[] TableWriters = [TableContributor, Owner, Contributor];
    private static readonly string[] BlobWriters = [BlobOwner, BlobContributor, Owner, Contributor];

    private readonly ArmScope main = ArmTemplate.Load().Main;

    /// <summary>Every function a host can run, with its roles: the [Function] methods and the durable tasks.</summary>
    private static Dictionary<string, Roles> Functions()
    {
        var functions = RoleTests.DeclaredRoles().ToDictionary();
        var tasks = new DurableTaskRegistry().AddMlopsTasks();
        foreach (var name in tasks.GetOrchestrators().Select(o => o.Key.Name).Concat(tasks.GetActivities().Select(a => a.Key.Name)))
        {
            functions.Add(name, HostRole.DurableTasks);
        }

        return functions;
    }

    private List<App> Apps() => main.Resources
        .Where(r => r.Resource.GetProperty("type").GetString() == "Microsoft.Resources/deployments")
        .Select(r => (r.Name, Module: main.Module(r.Name)))
        .Where(m => m.Module.Resources.Any(x => x.Resource.GetProperty("type").GetString() == "Microsoft.Web/sites"))
        .Select(m => new App(this, m.Name, m.Module))
        .ToList();

    [Fact]
    public void Two_function_apps_run_the_package_each_with_its_role_plan_identity_and_Application_Insights()
    {
        var apps = Apps();

        Assert.Equal(["pipeline", "serving"], apps.Select(a => a.Setting("production", HostRole.Setting)).Order());
        Assert.All(apps, a => Assert.Equal(a.Setting("production", HostRole.Setting), a.Setting("staging", HostRole.Setting)));
        Assert.Equal(2, apps.Select(a => a.Parameter("planId")).Distinct().Count());
        Assert.Equal(2, apps.Select(a => a.IdentityName).Distinct().Count());
        Assert.Equal(2, apps.Select(a => a.Parameter("azdServiceName")).Distinct().Count());
        Assert.All(apps, a => Assert.Contains("ConnectionString", a.Setting("production", "APPLICATIONINSIGHTS_CONNECTION_STRING"), StringComparison.Ordinal));
        // The serving app's host storage is its own account; both reach the data account through MlopsStorage.
        var serving = apps.Single(a => a.Role == Roles.Serving);
        var pipeline = apps.Single(a => a.Role == Roles.Pipeline);
        Assert.NotEqual(serving.Setting("production", "AzureWebJobsStorage__blobServiceUri"), pipeline.Setting("production", "AzureWebJobsStorage__blobServiceUri"));
        Assert.Equal(serving.Setting("production", "MlopsStorage__blobServiceUri"), pipeline.Setting("production", "MlopsStorage__blobServiceUri"));
        Assert.Equal(pipeline.Setting("production", "AzureWebJobsStorage__blobServiceUri"), pipeline.Setting("production", "MlopsStorage__blobServiceUri"));
        Assert.Equal(serving.Setting("production", "TaskHubName"), pipeline.Setting("production", "TaskHubName"));
    }

    [Fact]
    public void Each_app_disables_every_function_its_role_does_not_run_and_none_it_runs()
    {
        var functions = Functions();
        string[] triggers = ["IncomingData", "RetrainTimer", "MonitorTimer"]; // a staging slot never reacts to data or schedules

        foreach (var app in Apps())
        {
            foreach (var slot in new[] { "production", "staging" })
            {
                var settings = app.Settings(slot);
                var disabled = settings.Where(s => DisabledSetting().IsMatch(s.Key) && ArmScope.Text(s.Value) == "true")
                    .Select(s => DisabledSetting().Match(s.Key).Groups[1].Value).ToHashSet();
                var named = settings.Keys.Where(k => DisabledSetting().IsMatch(k)).Select(k => DisabledSetting().Match(k).Groups[1].Value);

                Assert.All(named, f => Assert.True(functions.ContainsKey(f), $"{app.Name} {slot}: AzureWebJobs.{f}.Disabled names no function"));
                foreach (var (function, roles) in functions)
                {
                    var runs = app.Role.Runs(roles);
                    Assert.True(runs || disabled.Contains(function), $"{app.Name} {slot}: {function} ({roles}) is not disabled on a {app.Role} app");
                    Assert.True(!runs || !disabled.Contains(function) || (slot == "staging" && triggers.Contains(function)),
                        $"{app.Name} {slot}: {function} ({roles}) is disabled on a {app.Role} app");
                }
            }
        }
    }

    [Fact]
    public void Only_the_pipeline_identity_can_write_the_registry_and_the_models_and_datasets()
    {
        var apps = Apps();
        var pipeline = apps.Single(a => a.Role == Roles.Pipeline).IdentityName;
        var serving = apps.Single(a => a.Role == Roles.Serving).IdentityName;
        var grants = Grants().ToList();
        var data = grants.Where(g => g.Account.StartsWith("storageAccounts/st<", StringComparison.Ordinal)).ToList();
        var account = data.Select(g => g.Account).Distinct().Single();
        bool Covers(Grant g, string child) => g.Scope == account || g.Scope == $"{account}/{child}";

        Assert.Equal([pipeline], data.Where(g => TableWriters.Contains(g.Role) && Covers(g, $"tableServices/default/tables/{ModelRegistry.TableName}")).Select(g => g.Identity).Distinct());
        foreach (var container in new[] { BlobPath.Models, BlobPath.Datasets, BlobPath.Incoming, BlobPath.Rejected })
        {
            Assert.Equal([pipeline], data.Where(g => BlobWriters.Contains(g.Role) && Covers(g, $"blobServices/default/containers/{container}")).Select(g => g.Identity).Distinct());
        }

        // The serving identity: reads the tables and the models, writes only its own containers, and holds no queue role,
        // so it could not take a durable work item from the task hub even if a worker started.
        Assert.Equal(
            [(account, TableReader), ($"{account}/blobServices/default/containers/captured", BlobContributor),
             ($"{account}/blobServices/default/containers/feedback", BlobContributor), ($"{account}/blobServices/default/containers/models", BlobReader)],
            data.Where(g => g.Identity == serving).Select(g => (g.Scope, g.Role)).Order());
        Assert.DoesNotContain(grants, g => g.Identity == pipeline && g.Account != account);
        Assert.DoesNotContain(grants, g => g.Identity != pipeline && g.Identity != serving);
    }

    /// <summary>Every role assignment of every storage module: account, scope, role and the identity's name.</summary>
    private IEnumerable<Grant> Grants()
    {
        foreach (var (name, _) in main.Resources.Where(r => r.Resource.GetProperty("type").GetString() == "Microsoft.Resources/deployments"))
        {
            var module = main.Module(name);
            var accounts = module.Resources.Where(r => r.Resource.GetProperty("type").GetString() == "Microsoft.Storage/storageAccounts").ToList();
            if (accounts.Count == 0)
            {
                continue;
            }

            var accountId = $"storageAccounts/{ArmScope.Text(module.Eval(accounts.Single().Resource.GetProperty("name")))}";
            foreach (var (_, assignment) in module.Resources.Where(r => r.Resource.GetProperty("type").GetString() == "Microsoft.Authorization/roleAssignments"))
            {
                foreach (var iteration in module.Iterations(assignment))
                {
                    var properties = assignment.GetProperty("properties");
                    var principal = ((Opaque)iteration.Eval(properties.GetProperty("principalId"))!).Text;
                    var identity = ArmScope.Text(module.Eval(module.Resource(Symbol(principal)).GetProperty("name")));
                    yield return new Grant(accountId, ArmScope.Text(iteration.Eval(assignment.GetProperty("scope"))), ArmScope.Text(iteration.Eval(properties.GetProperty("roleDefinitionId"))), identity);
                }
            }
        }
    }

    private static string Symbol(string referenceText) => Reference().Match(referenceText) is { Success: true } m
        ? m.Groups[1].Value
        : throw new InvalidOperationException($"Not a reference to a resource: {referenceText}");

    [GeneratedRegex(@"^AzureWebJobs\.(.+)\.Disabled$")]
    private static partial Regex DisabledSetting();

    [GeneratedRegex(@"reference\('(\w+)'\)")]
    private static partial Regex Reference();

    private sealed record Grant(string Account, string Scope, string Role, string Identity);

    /// <summary>One function-app module deployment and the settings each of its slots gets.</summary>
    private sealed class App(InfraTemplateTests owner, string name, ArmScope module)
    {
        public string Name { get; } = name;

        public Roles Role => HostRole.Parse(Setting("production", HostRole.Setting));

        public string IdentityName
        {
            get
            {
                var identity = owner.main.Resource(Symbol(Parameter("identityId")));
                return ArmScope.Text(owner.main.Eval(identity.GetProperty("properties").GetProperty("parameters").GetProperty("name").GetProperty("value")));
            }
        }

        public string Parameter(string parameter) => ArmScope.Text(module.Eval($"parameters('{parameter}')") switch { Opaque o => o.Text, var v => v });

        /// <summary>The slot's settings as the module computes them: the shared settings, then the slot-sticky ones.</summary>
        public IDictionary<string, object?> Settings(string slot)
        {
            var sticky = slot == "production" ? "productionSlotSettings" : "stagingSlotSettings";
            var site = module.Resources.Single(r => r.Resource.GetProperty("type").GetString() == (slot == "production" ? "Microsoft.Web/sites" : "Microsoft.Web/sites/slots"));
            var union = $"union(parameters('appSettings'), parameters('{sticky}'))";
            var variable = module.Template.GetProperty("variables").EnumerateObject().Single(v => v.Value.GetRawText().Contains(union, StringComparison.Ordinal)).Name;
            Assert.Contains($"variables('{variable}')", site.Resource.GetProperty("properties").GetProperty("siteConfig").GetRawText(), StringComparison.Ordinal);
            return (IDictionary<string, object?>)module.Eval(union)!;
        }

        public string Setting(string slot, string setting) =>
            Settings(slot).TryGetValue(setting, out var value) ? ArmScope.Text(value) : throw new InvalidOperationException($"{Name} {slot} has no setting {setting}");
    }
}
