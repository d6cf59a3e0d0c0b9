namespace MlopsFunctions.Tests.Infrastructure;

/// <summary>Paths in the repository the tests run from (samples, node_modules, build output).</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Sample(string file) => Path.Combine(Root, "samples", file);

    public static string SampleData(string model) => Path.Combine(Root, "samples", "data", model + ".csv");

    /// <summary>50,000 real flights rows (delay, distance, time), committed with the tests.</summary>
    public static string FlightsSample => Path.Combine(Root, "tests", "MlopsFunctions.Tests", "Data", "flights-50k.csv");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MlopsFunctions.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find MlopsFunctions.sln above " + AppContext.BaseDirectory);
    }
}
