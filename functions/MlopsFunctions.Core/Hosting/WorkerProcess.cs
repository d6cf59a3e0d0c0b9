using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace MlopsFunctions.Core.Hosting;

/// <summary>
/// A child process of the host's own program (the same entry assembly, started with a mode argument and a job folder)
/// for heavy batch work: training a candidate, validating a large file. It runs at below-normal priority so serving
/// keeps its CPU, with workstation GC and no tiered JIT (a batch job gains nothing from profiling its first seconds),
/// and its memory is the operating system's to bound: an out-of-memory failure or a kill ends the child, not the host.
/// A fresh process also JITs the job's hot loops at once, where the host's tiered JIT, busy with its own code, left
/// them unoptimized for seconds.
/// </summary>
public static class WorkerProcess
{
    /// <summary>
    /// Call first in a host's Main, once per mode: when this process was started as that worker (args: mode, folder),
    /// runs <paramref name="work"/> on the job folder and returns true with the exit code. A failure is reported to
    /// the parent in error.txt and exit code 3.
    /// </summary>
    public static bool TryRunChild(string[] args, string mode, Action<string> work, out int exitCode)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(work);
        exitCode = 0;
        if (args.Length != 2 || args[0] != mode)
        {
            return false;
        }

        try
        {
            work(args[1]);
        }
#pragma warning disable CA1031 // The child reports any failure to its parent through a file and its exit code.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            File.WriteAllText(Path.Combine(args[1], "error.txt"), $"{ex.GetType().Name}: {ex.Message}");
            exitCode = 3;
        }

        return true;
    }

    /// <summary>A new job folder below the dataset copies' root (swept with them when left behind).</summary>
    public static string NewFolder()
    {
        var folder = Path.Combine(Storage.DatasetFiles.Root, "jobs", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    }

    public static void DeleteFolder(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // A leftover job folder is swept with the dataset copies.
        }
    }

    /// <summary>
    /// Runs a child in <paramref name="mode"/> on <paramref name="folder"/>, feeding its standard input from
    /// <paramref name="input"/> when given, and returns its exit code and the last lines it wrote to standard error.
    /// </summary>
    public static async Task<(int ExitCode, string ErrorTail)> RunAsync(
        string mode, string folder, int memoryMegabytes, Stream? input = null, CancellationToken ct = default)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!)
        {
            UseShellExecute = false,
            RedirectStandardInput = input is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (!IsSingleFileHost())
        {
            info.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        }

        info.ArgumentList.Add(mode);
        info.ArgumentList.Add(folder);
        info.Environment["DOTNET_gcServer"] = "0";
        // Every method JITted fully optimized at once: a batch job's hot loops run for seconds, and on 2M rows this
        // took the trainers' validation scoring from 1.1-1.7 s to 0.8-1.2 s and the whole run's rest 0.3-0.6 s down.
        info.Environment["DOTNET_TieredCompilation"] = "0";
        if (memoryMegabytes > 0)
        {
            info.Environment["DOTNET_GCHeapHardLimit"] = "0x" + ((long)memoryMegabytes * 1024 * 1024).ToString("X", CultureInfo.InvariantCulture);
        }

        using var child = Process.Start(info) ?? throw new InvalidOperationException($"The {mode} worker process could not be started.");
        try
        {
            child.PriorityClass = ProcessPriorityClass.BelowNormal;
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // It already exited; its result says how.
        }

        var output = child.StandardOutput.ReadToEndAsync(ct);
        var errors = child.StandardError.ReadToEndAsync(ct);
        try
        {
            if (input is not null)
            {
                await FeedAsync(child, input, ct).ConfigureAwait(false);
            }

            await child.WaitForExitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            child.Kill(entireProcessTree: true);
            throw;
        }

        await Task.WhenAll(output, errors).ConfigureAwait(false);
        var tail = string.Join(' ', (await errors.ConfigureAwait(false)).Split('\n').TakeLast(3)).Trim();
        return (child.ExitCode, tail);
    }

    /// <summary>Copies the input to the child; a child that stopped reading (it rejected the data early) ends the copy.</summary>
    private static async Task FeedAsync(Process child, Stream input, CancellationToken ct)
    {
        var stdin = child.StandardInput.BaseStream;
        try
        {
            await input.CopyToAsync(stdin, 1 << 16, ct).ConfigureAwait(false);
        }
        catch (IOException) when (!ct.IsCancellationRequested)
        {
            // Broken pipe: the child has what it needs, or died; its exit code and files say which.
        }
        finally
        {
            try
            {
                child.StandardInput.Close();
            }
            catch (IOException)
            {
                // The pipe is already broken.
            }
        }
    }

    /// <summary>An apphost (e.g. "MlopsFunctions.LocalHost") is started directly; "dotnet" needs the entry assembly's path.</summary>
    private static bool IsSingleFileHost() =>
        !string.Equals(Path.GetFileNameWithoutExtension(Environment.ProcessPath), "dotnet", StringComparison.OrdinalIgnoreCase);
}
