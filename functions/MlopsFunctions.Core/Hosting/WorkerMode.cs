namespace MlopsFunctions.Core.Hosting;

/// <summary>
/// One kind of work a worker child does (see <see cref="WorkerProcess"/>): the argument that names it, the work on a
/// job folder with the parent's data on standard input, and a warm-up on sample data that a spare worker runs before
/// it waits for a job, so that the job's code is already compiled when the job comes.
/// </summary>
public sealed record WorkerMode(string Argument, Action<string, Stream> Work, Action<string> WarmUp);
