using System.Diagnostics;

namespace MlopsFunctions.Core.Hosting;

/// <summary>
/// The spare worker children of this process (see <see cref="WorkerProcess"/>), each warmed on sample data and then
/// waiting for one job. They are started, and taken ones replaced, only once no worker has been busy for a while:
/// a warm-up costs about 1.8 s of CPU, which between runs is idle time and during a run would be taken from its fits.
/// A host that never needs a worker (small files only) never starts a spare.
/// A spare whose parent ends reads the end of its input and exits, so spares never outlive their host.
/// </summary>
internal static class WorkerPool
{
    /// <summary>How long no worker must be busy before spares are started: longer than the hops between a run's validation and its training.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);

    private static readonly Lock Gate = new();
    private static readonly List<Spare> Spares = [];
    private static int busy;
    private static long jobs;

    /// <summary>A job starts (in a spare or a new process).</summary>
    public static void Started()
    {
        lock (Gate)
        {
            busy++;
            jobs++;
        }
    }

    /// <summary>A ready spare for a job, or null (none is ready yet, or spares are off).</summary>
    public static Spare? Take(WorkerSettings settings)
    {
        lock (Gate)
        {
            Sweep(settings);
            var ready = Spares.Find(s => s.IsReady);
            if (ready is not null)
            {
                Spares.Remove(ready);
            }

            return ready;
        }
    }

    /// <summary>A job ended: when no other job starts for <see cref="Quiet"/>, spares are started up to the setting.</summary>
    public static void Finished(WorkerSettings settings)
    {
        long seen;
        lock (Gate)
        {
            if (--busy > 0)
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
                    Fill(settings);
                }
            }
        });
    }

    private static void Fill(WorkerSettings settings)
    {
        Sweep(settings);
        while (Spares.Count < settings.Spares)
        {
            Spares.Add(Spare.Start(settings.MemoryMegabytes));
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

    /// <summary>A spare worker process: ready once it wrote "ready" after its warm-up.</summary>
    internal sealed class Spare
    {
        private readonly Task<string?> ready;

        private Spare(Process process, int memoryMegabytes)
        {
            Process = process;
            MemoryMegabytes = memoryMegabytes;
            Errors = process.StandardError.ReadToEndAsync();
            ready = process.StandardOutput.ReadLineAsync();
        }

        public Process Process { get; }

        public int MemoryMegabytes { get; }

        /// <summary>Everything the spare writes to standard error, read from its start so a full pipe never blocks it.</summary>
        public Task<string> Errors { get; }

        public bool IsReady => ready.IsCompletedSuccessfully && ready.Result == "ready" && !Process.HasExited;

        public static Spare Start(int memoryMegabytes) =>
            new(WorkerProcess.Start([WorkerProcess.SpareArgument, WorkerProcess.NewFolder()], memoryMegabytes, redirectInput: true), memoryMegabytes);

        public void Stop()
        {
            try
            {
                Process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It already exited.
            }

            Process.Dispose();
        }
    }
}
