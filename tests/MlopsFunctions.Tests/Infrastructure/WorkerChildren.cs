namespace MlopsFunctions.Tests.Infrastructure;

/// <summary>A host's worker child processes as Linux lists them (/proc): pid and command-line arguments.</summary>
public static class WorkerChildren
{
    public sealed record Worker(int Pid, IReadOnlyList<string> Args)
    {
        /// <summary>A spare (started warm, waiting for a job) rather than a worker started for its job.</summary>
        public bool IsSpare => Args.Contains("--mlops-worker");

        /// <summary>The mode a spare warmed up for (its last argument).</summary>
        public string? WarmMode => IsSpare ? Args[^1] : null;

        /// <summary>A spare has deleted its warm-up folder (the argument after --mlops-worker) just before it says it is ready.</summary>
        public bool IsReadySpare => IsSpare && !Directory.Exists(Args[Args.ToList().IndexOf("--mlops-worker") + 1]);
    }

    public static List<Worker> Of(int parent)
    {
        var found = new List<Worker>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] == "Z" || int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) != parent)
                {
                    continue;
                }

                var args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
                if (args.Any(a => a.StartsWith("--mlops-", StringComparison.Ordinal)))
                {
                    found.Add(new Worker(pid, args));
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // It ended while we looked.
            }
        }

        return found;
    }
}
