using System.Text.Json;
using System.Text.RegularExpressions;
using MlopsFunctions.Core;
using MlopsFunctions.Core.Storage;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.Unit;

/// <summary>Every setting the app reads is set for Azure (infra/main.bicep) and for local runs (local.settings.sample.json).</summary>
public sealed partial class SettingsConsistencyTests
{
    /// <summary>Settings the app and its host read: options, the storage connection, host.json placeholders, and config reads in source.</summary>
    public static TheoryData<string> SettingsReadByTheApp()
    {
        var settings = new SortedSet<string>(StringComparer.Ordinal) { "FUNCTIONS_WORKER_RUNTIME", StorageConnection.Setting, StorageConnection.DataSetting };
        foreach (var property in typeof(MlopsOptions).GetProperties())
        {
            settings.Add($"{MlopsOptions.Section}__{property.Name}");
        }

        foreach (Match match in Placeholder().Matches(File.ReadAllText(Path.Combine(RepoPaths.Root, "host.json"))))
        {
            settings.Add(match.Groups[1].Value);
        }

        var sources = Directory.GetFiles(Path.Combine(RepoPaths.Root, "functions", "MlopsFunctions"), "*.cs", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(Path.Combine(RepoPaths.Root, "functions", "MlopsFunctions.Core"), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        foreach (var file in sources)
        {
            foreach (Match match in ConfigRead().Matches(File.ReadAllText(file)))
            {
                settings.Add(match.Groups[1].Value.Replace(":", "__", StringComparison.Ordinal));
            }
        }

        return new TheoryData<string>(settings);
    }

    [Theory]
    [MemberData(nameof(SettingsReadByTheApp))]
    public void The_setting_is_in_local_settings_sample(string setting)
    {
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "local.settings.sample.json")));

        Assert.True(sample.RootElement.GetProperty("Values").TryGetProperty(setting, out _), $"local.settings.sample.json lacks {setting}");
    }

    [Theory]
    [MemberData(nameof(SettingsReadByTheApp))]
    public void The_setting_is_in_main_bicep(string setting)
    {
        var bicep = File.ReadAllText(Path.Combine(RepoPaths.Root, "infra", "main.bicep"));
        // In Azure the storage connection is identity-based: the same setting, split into its service URIs.
        string[] names = setting is StorageConnection.Setting or StorageConnection.DataSetting
            ? [$"{setting}__blobServiceUri", $"{setting}__queueServiceUri", $"{setting}__tableServiceUri", $"{setting}__credential"]
            : [setting];

        foreach (var name in names)
        {
            Assert.Matches(new Regex($@"^\s*'?{Regex.Escape(name)}'?\s*:", RegexOptions.Multiline), bicep);
        }
    }

    [Theory]
    [MemberData(nameof(SettingsReadByTheApp))]
    public void The_setting_is_documented_in_the_readme(string setting)
    {
        if (setting is "FUNCTIONS_WORKER_RUNTIME")
        {
            return; // fixed by the platform, not a choice a user makes
        }

        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        Assert.Matches(new Regex($@"^\| `{Regex.Escape(setting)}", RegexOptions.Multiline), readme);
    }

    [Fact]
    public void The_scan_finds_the_settings_it_must()
    {
        var settings = ((IEnumerable<object[]>)SettingsReadByTheApp()).Select(row => (string)row[0]).ToList();

        Assert.Contains("TaskHubName", settings);
        Assert.Contains("Mlops__MinRows", settings);
        Assert.Contains(StorageConnection.Setting, settings);
    }

    [GeneratedRegex("%([A-Za-z0-9_]+)%")]
    private static partial Regex Placeholder();

    [GeneratedRegex("""[Cc]onfiguration\["([A-Za-z0-9_:]+)"\]""")]
    private static partial Regex ConfigRead();
}
