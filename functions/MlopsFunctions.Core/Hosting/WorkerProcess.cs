using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace MlopsFunctions.Core.Hosting;

/// <summary>
/// A child process of the host's own program (the same entry assembly, started with a mode argument and a job folder)
/// for heavy batch work: training a candidate, validating a large file. It runs at below-normal priority so serving
/// keeps its CPU, with workstation GC and no tiered JIT (a batch job gains nothing from profiling its first seconds),
/// and its memory is the operating system's to bound: an out-of-memory failure or a kill ends the child, not the host.
/// A fresh process also JITs the job's hot loops at once, where the host's tiered JIT, busy with its own code, left
/// them unoptimized for seconds.
/// </summary>
/// <remarks>
/// Starting a process and compiling a job's code cost about 0.6 s per child on the critical path of a run, for each of
/// its validator, trainers and evaluator. A spare (see <see cref="WorkerPool"/>) is started ahead, runs one mode's
/// warm-up on sample data, and then waits for one job on its standard input (usually of that mode, but any mode runs);
/// it still does one job only, so jobs never share a process.
/// </remarks>
public static class WorkerProcess
{
    /// <summary>The argument of a spare (then its warm-up folder and the mode it warms up): it warms up, writes "ready" to standard output, then reads "mode TAB folder" from standard input.</summary>
    public const string SpareArgument = "--mlops-worker";

    private const int MaxJobLineBytes = 8192;

    /// <summary>Whether this process's Main asked <see cref="TryRunChild"/> first, so children of its program can run jobs.</summary>
    public static bool RunsChildren { get; private set; }

    /// <summary>
    /// Call first in a host's Main: when this process was started as a worker (args: one of the modes or
    /// <see cref="SpareArgument"/>, and a folder), runs its job and returns true with the exit code. A failure is
    /// reported to the parent in error.txt and exit code 3.
    /// </summary>
    public static bool TryRunChild(string[] args, out int exitCode, params WorkerMode[] modes)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(modes);
        RunsChildren = true;
        exitCode = 0;
        if (args.Length == 3 && args[0] == SpareArgument)
        {
            exitCode = RunSpare(args[1], Array.Find(modes, m => m.Argument == args[2]), modes);
            return true;
        }

        if (args.Length != 2)
        {
            return false;
        }

        var mode = Array.Find(modes, m => m.Argument == args[0]);
        if (mode is null)
        {
            return false;
        }

        using var input = Console.OpenStandardInput();
        exitCode = Run(mode, args[1], input);
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
    /// Runs <paramref name="mode"/> on <paramref name="folder"/> in a warmed spare when one is ready, else in a new
    /// child, feeding its standard input from <paramref name="input"/> when given, and returns its exit code and the
    /// last lines it wrote to standard error.
    /// </summary>
    public static async Task<(int ExitCode, string ErrorTail)> RunAsync(
        string mode, string folder, WorkerSettings settings, Stream? input = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var busy = WorkerPool.Busy(settings, worker: true);
        var (child, errors) = await HandOverAsync(mode, folder, settings, input is null, ct).ConfigureAwait(false)
            ?? Cold(mode, folder, settings.MemoryMegabytes, input is not null);
        using (child)
        {
            var output = child.StandardOutput.ReadToEndAsync(ct);
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
    }

    /// <summary>
    /// Runs a job that writes <paramref name="resultFile"/> in its folder and returns that file's path. The job's own
    /// error (error.txt) is thrown as an <see cref="InvalidOperationException"/> with its message; a child that ended
    /// without a result (killed, out of memory) as <paramref name="died"/> makes it from the exit code and error tail.
    /// </summary>
    public static async Task<string> RunForResultAsync(
        string mode, string folder, WorkerSettings settings, string resultFile, Func<int, string, Exception> died, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(died);
        var (exitCode, errors) = await RunAsync(mode, folder, settings, ct: ct).ConfigureAwait(false);
        var error = Path.Combine(folder, "error.txt");
        if (File.Exists(error))
        {
            throw new InvalidOperationException(await File.ReadAllTextAsync(error, ct).ConfigureAwait(false));
        }

        var result = Path.Combine(folder, resultFile);
        return exitCode == 0 && File.Exists(result) ? result : throw died(exitCode, errors);
    }

    /// <summary>Starts a worker process of this program with <paramref name="args"/>, at below-normal priority.</summary>
    internal static Process Start(IEnumerable<string> args, int memoryMegabytes, bool redirectInput)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!)
        {
            UseShellExecute = false,
            RedirectStandardInput = redirectInput,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (!IsSingleFileHost())
        {
            info.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_gcServer"] = "0";
        // Every method JITted fully optimized at once: a batch job's hot loops run for seconds, and on 2M rows this
        // took the trainers' validation scoring from 1.1-1.7 s to 0.8-1.2 s and the whole run's rest 0.3-0.6 s down.
        info.Environment["DOTNET_TieredCompilation"] = "0";
        if (memoryMegabytes > 0)
        {
            info.Environment["DOTNET_GCHeapHardLimit"] = "0x" + ((long)memoryMegabytes * 1024 * 1024).ToString("X", CultureInfo.InvariantCulture);
        }

        var child = Process.Start(info) ?? throw new InvalidOperationException($"The worker process ({string.Join(' ', args)}) could not be started.");
        try
        {
            child.PriorityClass = ProcessPriorityClass.BelowNormal;
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // It already exited; its result says how.
        }

        return child;
    }

    private static (Process Child, Task<string> Errors) Cold(string mode, string folder, int memoryMegabytes, bool redirectInput)
    {
        var child = Start([mode, folder], memoryMegabytes, redirectInput);
        return (child, child.StandardError.ReadToEndAsync());
    }

    /// <summary>Gives the job to a ready spare; null when none is ready, or the one taken died before it got the job.</summary>
    private static async Task<(Process Child, Task<string> Errors)?> HandOverAsync(
        string mode, string folder, WorkerSettings settings, bool noInput, CancellationToken ct)
    {
        var spare = WorkerPool.Take(mode, settings);
        if (spare is null)
        {
            return null;
        }

        try
        {
            var line = Encoding.UTF8.GetBytes($"{mode}\t{folder}\n");
            var stdin = spare.Process.StandardInput.BaseStream;
            await stdin.WriteAsync(line, ct).ConfigureAwait(false);
            await stdin.FlushAsync(ct).ConfigureAwait(false);
            if (noInput)
            {
                spare.Process.StandardInput.Close();
            }

            return (spare.Process, spare.Errors);
        }
        catch (IOException)
        {
            spare.Process.Dispose();
            return null;
        }
    }

    /// <summary>A spare's life: warm up <paramref name="warm"/> on sample data, say "ready", then do the one job its parent sends (none when the parent ends first).</summary>
    private static int RunSpare(string warmUpFolder, WorkerMode? warm, WorkerMode[] modes)
    {
        using var input = Console.OpenStandardInput();
        // The job's line is read from the start: a parent that ends while this spare warms up closes the input, and the
        // spare exits at once instead of finishing a warm-up nobody will use (and writing files its parent's cleanup deletes).
        var job = Task.Factory.StartNew(
            () => ReadLine(input) ?? ParentEnded(warmUpFolder), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            warm?.WarmUp(warmUpFolder);
        }
#pragma warning disable CA1031 // A failed warm-up costs the job its compile time, nothing more.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Console.Error.WriteLine($"The warm-up of {warm!.Argument} failed; its job compiles its own code: {ex.GetType().Name}: {ex.Message}");
        }

        // The warm-up's garbage is not the job's: a spare waits with a small heap.
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        DeleteFolder(warmUpFolder); // the last step before "ready": its folder's absence tells an observer the spare is ready
        Console.Out.WriteLine("ready");
        Console.Out.Flush();

        var line = job.GetAwaiter().GetResult();
        var parts = line.Split('\t', 2);
        var chosen = parts.Length == 2 ? Array.Find(modes, m => m.Argument == parts[0]) : null;
        if (chosen is null)
        {
            Console.Error.WriteLine($"The job '{line}' names no worker mode.");
            return 2;
        }

        return Run(chosen, parts[1], input);
    }

    private static int Run(WorkerMode mode, string folder, Stream input)
    {
        try
        {
            mode.Work(folder, input);
            return 0;
        }
#pragma warning disable CA1031 // The child reports any failure to its parent through a file and its exit code.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            File.WriteAllText(Path.Combine(folder, "error.txt"), $"{ex.GetType().Name}: {ex.Message}");
            return 3;
        }
    }

    /// <summary>Ends a spare whose parent ended, deleting what its warm-up wrote so far; typed to stand where its job's line is expected.</summary>
    private static string ParentEnded(string warmUpFolder)
    {
        if (Directory.Exists(warmUpFolder))
        {
            DeleteFolder(warmUpFolder);
        }

        Environment.Exit(0);
        return string.Empty;
    }

    /// <summary>One line of the input, byte by byte so that nothing after it is read ahead (the job's data follows); null at its end.</summary>
    private static string? ReadLine(Stream input)
    {
        var line = new List<byte>();
        while (line.Count < MaxJobLineBytes)
        {
            var b = input.ReadByte();
            if (b < 0)
            {
                return null;
            }

            if (b == '\n')
            {
                return Encoding.UTF8.GetString(line.ToArray());
            }

            line.Add((byte)b);
        }

        return null;
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
