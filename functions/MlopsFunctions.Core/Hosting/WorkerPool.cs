using System.Diagnostics;

namespace MlopsFunctions.Core.Hosting;

/// <summary>
/// The spare worker children of this process (see <see cref="WorkerProcess"/>), each warmed for one mode on sample data
/// and then waiting for one job. They are started, and taken ones replaced, only once no heavy pipeline work (a worker's
/// job, or validation, training or evaluation in the host) has run for a while: a warm-up costs 0.6-1.5 s of CPU, which
/// between runs is idle time and during a run would be taken from its jobs.
/// A pipeline host that can start workers expects them from its start (<see cref="SparesAtStart"/>); any other host
/// starts spares once it has run a worker's job.
/// A spare whose parent ends reads the end of its input and exits, so spares never outlive their host.
/// </summary>
internal static class WorkerPool
{
    /// <summary>How long no heavy work must run before spares are started: longer than the hops between a run's stages.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);

    private static readonly Lock Gate = new();
    private static readonly List<Spare> Spares = [];
    private static int busy;
    private static long jobs;
    private static bool needed;

    /// <summary>
    /// Heavy work starts: a worker's job (<paramref name="worker"/>, which also says this host needs spares) or work in
    /// the host that spares warming up would slow down. Disposing the scope ends it.
    /// </summary>
    /// <remarks>
    /// Spares still warming up are stopped: on two cores, a job that started a child while four spares warmed up got a
    /// fifth of the CPU (a 2M-row upload right after a run validated in 4.6 s instead of 1.2-1.5 s). They start again
    /// at the next quiet moment.
    /// </remarks>
    public static BusyScope Busy(WorkerSettings settings, bool worker)
    {
        ArgumentNullException.ThrowIfNull(settings);
        lock (Gate)
        {
            busy++;
            jobs++;
            needed |= worker;
            foreach (var warming in Spares.Where(s => !s.IsReady).ToList())
            {
                Spares.Remove(warming);
                warming.Stop();
            }
        }

        return new BusyScope(settings);
    }

    /// <summary>A ready spare for a job of <paramref name="mode"/>: one warmed for it, else any (its start is still saved), or null.</summary>
    public static Spare? Take(string mode, WorkerSettings settings)
    {
        lock (Gate)
        {
            Sweep(settings);
            var ready = Spares.Find(s => s.IsReady && s.Mode == mode) ?? Spares.Find(s => s.IsReady);
            if (ready is not null)
            {
                Spares.Remove(ready);
            }

            return ready;
        }
    }

    /// <summary>
    /// This host will need workers (<see cref="SparesAtStart"/>): spares start now, or, while heavy work runs, once it
    /// has ended.
    /// </summary>
    public static void Expect(WorkerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        lock (Gate)
        {
            needed = true;
            if (busy == 0)
            {
                TryFill(settings);
            }
        }
    }

    /// <summary>Heavy work ended: when nothing heavy starts for <see cref="Quiet"/>, spares are started up to the setting.</summary>
    private static void Finished(WorkerSettings settings)
    {
        long seen;
        lock (Gate)
        {
            if (--busy > 0 || !needed)
            {
                return;
            }

            seen = jobs;
        }

        _ = Task.Run(async () =>
        {
            await Task.Delay(Quiet).ConfigureAwait(false);
            lock (Gate)
            {
                if (busy == 0 && jobs == seen)
                {
                    TryFill(settings);
                }
            }
        });
    }

    private static void TryFill(WorkerSettings settings)
    {
        try
        {
            Fill(settings);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            // No spare could start (no process slots, no disk): jobs start their own children, which say why they cannot.
        }
    }

    /// <summary>Starts the spares missing from <see cref="WorkerSettings.SpareModes"/>, in the order a run needs them.</summary>
    private static void Fill(WorkerSettings settings)
    {
        Sweep(settings);
        var waiting = Spares.Select(s => s.Mode).ToList();
        foreach (var mode in settings.SpareModes)
        {
            if (!waiting.Remove(mode))
            {
                Spares.Add(Spare.Start(mode, settings.MemoryMegabytes));
            }
        }
    }

    /// <summary>Drops spares that died, and ones started with another memory limit.</summary>
    private static void Sweep(WorkerSettings settings)
    {
        foreach (var gone in Spares.Where(s => s.Process.HasExited || s.MemoryMegabytes != settings.MemoryMegabytes).ToList())
        {
            Spares.Remove(gone);
            gone.Stop();
        }
    }

    /// <summary>Heavy work in progress, until disposed.</summary>
    internal readonly struct BusyScope(WorkerSettings settings) : IDisposable
    {
        public void Dispose() => Finished(settings);
    }

    /// <summary>A spare worker process: ready once it wrote "ready" after its warm-up.</summary>
    internal sealed class Spare
    {
        private readonly Task<string?> ready;

        private readonly string folder;

        private Spare(Process process, string folder, string mode, int memoryMegabytes)
        {
            this.folder = folder;
            Process = process;
            Mode = mode;
            MemoryMegabytes = memoryMegabytes;
            Errors = process.StandardError.ReadToEndAsync();
            ready = process.StandardOutput.ReadLineAsync();
        }

        public Process Process { get; }

        /// <summary>The mode it warmed up.</summary>
        public string Mode { get; }

        public int MemoryMegabytes { get; }

        /// <summary>Everything the spare writes to standard error, read from its start so a full pipe never blocks it.</summary>
        public Task<string> Errors { get; }

        public bool IsReady => ready.IsCompletedSuccessfully && ready.Result == "ready" && !Process.HasExited;

        public static Spare Start(string mode, int memoryMegabytes)
        {
            var folder = WorkerProcess.NewFolder();
            return new(WorkerProcess.Start([WorkerProcess.SpareArgument, folder, mode], memoryMegabytes, redirectInput: true), folder, mode, memoryMegabytes);
        }

        /// <summary>Kills the spare and deletes what its warm-up left.</summary>
        public void Stop()
        {
            try
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(1000);
            }
            catch (InvalidOperationException)
            {
                // It already exited.
            }

            Process.Dispose();
            if (Directory.Exists(folder))
            {
                WorkerProcess.DeleteFolder(folder);
            }
        }
    }
}
