using System.Text.Json;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.EndToEnd;

/// <summary>The mlops CLI against LocalHost, run as a user runs it: upload and follow a run, predict from a CSV, operator calls, errors.</summary>
[Collection(LocalHostCollection.Name)]
public sealed class CliEndToEndTests(LocalHostFixture host) : IDisposable
{
    private const string Model = "cli-iris";
    private readonly string folder = Directory.CreateTempSubdirectory("mlops-cli-").FullName;

    private Dictionary<string, string?> Environment => new()
    {
        ["MLOPS_URL"] = host.Host.BaseAddress.ToString(),
        ["MLOPS_KEY"] = host.Host.MasterKey,
        ["AzureWebJobsStorage"] = host.ConnectionString,
    };

    [Fact]
    public async Task Define_upload_approve_predict_and_roll_back_from_the_command_line()
    {
        var spec = Write("spec.json", """{"task":"multiclass","label":"species","gates":{"minMetric":0.8},"promotion":"manual"}""");
        var iris = LocalHostFixture.ReadSample("iris");
        var v1 = Write("v1.csv", iris);
        // Without sepal_width the champion cannot be scored on v2's rows: v2 also waits for approval.
        var v2 = Write("v2.csv", string.Join('\n', iris.Split('\n').Where(l => l.Length > 0).Select(l => string.Join(',', l.Trim().Split(',').Where((_, i) => i != 1)))));

        AssertOk(await Cli("define", Model, spec), "Created the spec of 'cli-iris'");

        var upload = await Cli("upload", Model, v1);
        AssertOk(upload, "Uploaded v1.csv to incoming/cli-iris/v1.csv");
        // The live view prints each stage it sees (polling may miss the quickest ones, never the one it ends on).
        Assert.True(upload.Out.Contains("run: awaiting-approval", StringComparison.Ordinal), upload.ToString());
        Assert.Contains("version 1 is in staging and awaits approval: mlops approve cli-iris 1", upload.Out, StringComparison.Ordinal);
        AssertOk(await Cli("approve", Model, "1"), "Version 1 of 'cli-iris' approved");
        await host.WaitForProductionAsync(Model);

        // Five rows with their true species; the answers come back in order, after the input columns.
        var rows = Write("rows.csv", string.Join('\n', iris.Split('\n').Where((_, i) => i is 0 or 1 or 2 or 60 or 61 or 120)));
        var csv = await Cli("predict", Model, rows, "--batch-size", "2");
        AssertOk(csv, "sepal_length,sepal_width,petal_length,petal_width,species,version,");
        var lines = csv.Out.Trim().Split('\n').Select(l => l.Split(',')).ToList();
        var label = Array.IndexOf(lines[0], "label");
        Assert.Equal(6, lines.Count);
        Assert.True(label > 5, csv.ToString());
        Assert.All(lines.Skip(1), l => Assert.Equal(l[4], l[label]));
        Assert.All(lines.Skip(1), l => Assert.Equal("1", l[5]));
        Assert.Contains("scores.setosa", lines[0]);

        var json = await Cli("predict", Model, rows, "--format", "json");
        Assert.Equal(0, json.ExitCode);
        var predictions = JsonDocument.Parse(json.Out).RootElement.EnumerateArray().ToList();
        Assert.Equal(["setosa", "setosa", "versicolor", "versicolor", "virginica"], predictions.Select(p => p.GetProperty("label").GetString()));

        // Validation refuses a file that lacks a column production reads unless the spec ignores it.
        var ignoring = Write("spec-v2.json", """{"task":"multiclass","label":"species","gates":{"minMetric":0.8},"promotion":"manual","ignore":["sepal_width"]}""");
        AssertOk(await Cli("define", Model, ignoring), "Updated the spec of 'cli-iris'");
        var second = await Cli("upload", Model, v2);
        AssertOk(second, "version 2 is in staging and awaits approval: mlops approve cli-iris 2");
        AssertOk(await Cli("approve", Model, "2"), "approved");
        await host.WaitForProductionAsync(Model, not: 1);

        AssertOk(await Cli("rollback", Model), "'cli-iris': production 1,");
        var model = await Cli("model", Model, "--json");
        Assert.Equal(1, JsonDocument.Parse(model.Out).RootElement.GetProperty("slots").GetProperty("production").GetInt32());
        var table = await Cli("model", Model);
        AssertOk(table, "production: 1");
        Assert.Contains("MacroAccuracy", table.Out, StringComparison.Ordinal);
        var runs = await Cli("runs", Model, "--json");
        Assert.Equal(2, JsonDocument.Parse(runs.Out).RootElement.GetProperty("runs").GetArrayLength());
        AssertOk(await Cli("models"), Model);
    }

    [Fact]
    public async Task A_bad_key_an_unknown_model_and_a_bad_file_fail_with_a_clear_message()
    {
        var badKey = await Cli("models", "--key", LocalHostProcess.NewKey());
        var unknown = await Cli("model", "never-defined-cli");
        var function = await Cli("swap", "never-defined-cli", "--key", host.Host.FunctionKey);
        var ragged = await Cli("predict", Model, Write("ragged.csv", "a,b\n1,2\n3\n"));
        var unreachable = await Cli("models", "--url", $"http://127.0.0.1:{ChildProcess.FreePort()}");

        AssertFails(badKey, 1, "The key sent is not a valid function key or admin key");
        AssertFails(unknown, 1, "Model 'never-defined-cli' is not defined");
        AssertFails(function, 1, "needs the admin (master) key");
        AssertFails(ragged, 2, "row 2 has 1 fields but the header has 2");
        AssertFails(unreachable, 3, "Cannot reach");
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private Task<CliRunner.Result> Cli(params string[] args) => CliRunner.RunAsync(Environment, args);

    private string Write(string name, string content)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    private static void AssertOk(CliRunner.Result result, string expected)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(result.Out.Contains(expected, StringComparison.Ordinal), $"expected '{expected}' in:\n{result}");
    }

    private static void AssertFails(CliRunner.Result result, int exitCode, string expected)
    {
        Assert.True(result.ExitCode == exitCode, result.ToString());
        Assert.True(result.Error.Contains(expected, StringComparison.Ordinal), $"expected '{expected}' in:\n{result}");
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Error, StringComparison.Ordinal);
    }
}
