namespace MlopsFunctions.Core.Hosting;

/// <summary>How worker children run: their managed heap limit in MiB (0: none) and how many warmed spares to keep.</summary>
public sealed record WorkerSettings(int MemoryMegabytes, int Spares)
{
    public static WorkerSettings From(MlopsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new(options.TrainerMemoryMegabytes, options.SpareWorkers);
    }
}
