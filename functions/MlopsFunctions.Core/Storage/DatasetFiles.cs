using Microsoft.Extensions.Logging;

namespace MlopsFunctions.Core.Storage;

/// <summary>
/// Local copies of accepted datasets, named by content hash: the trainer and the evaluator read rows from disk in
/// several passes instead of holding them, and activities on the same machine share one download. Copies nobody
/// used for six hours are deleted.
/// </summary>
public sealed partial class DatasetFiles(BlobStore blobs, ILogger<DatasetFiles> logger)
{
    private static readonly TimeSpan Unused = TimeSpan.FromHours(6);

    /// <summary>A worker's job folder left behind (its host or the worker was killed) is deleted after this; no job runs a day.</summary>
    private static readonly TimeSpan JobLeftBehind = TimeSpan.FromDays(1);

    public static string Root { get; } = Path.Combine(Path.GetTempPath(), "mlops-datasets");

    /// <summary>The local path of a dataset blob, downloading it first when this machine has no copy.</summary>
    public async Task<string> GetAsync(string dataset, string sha256, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        var path = Path.Combine(Root, sha256 + ".csv");
        if (File.Exists(path))
        {
            File.SetLastAccessTimeUtc(path, DateTime.UtcNow);
            return path;
        }

        Directory.CreateDirectory(Root);
        var partial = $"{path}.{Guid.NewGuid():N}.part";
        try
        {
            await blobs.Blob(BlobPath.Parse(dataset)).DownloadToAsync(partial, ct).ConfigureAwait(false);
            File.Move(partial, path, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
        }

        Sweep();
        return path;
    }

    private void Sweep()
    {
        foreach (var file in Directory.EnumerateFiles(Root))
        {
            try
            {
                if (DateTime.UtcNow - File.GetLastAccessTimeUtc(file) > Unused)
                {
                    File.Delete(file);
                }
            }
            catch (IOException ex)
            {
                LogSweepFailed(logger, ex, file);
            }
        }

        foreach (var (folder, ex) in SweepJobFolders(DateTime.UtcNow))
        {
            LogSweepFailed(logger, ex, folder);
        }
    }

    /// <summary>Deletes the job folders (Hosting.WorkerProcess) nothing was written to for a day; returns those it could not delete.</summary>
    internal static List<(string Folder, Exception Error)> SweepJobFolders(DateTime now)
    {
        var failed = new List<(string, Exception)>();
        var jobs = Path.Combine(Root, "jobs");
        if (!Directory.Exists(jobs))
        {
            return failed;
        }

        foreach (var folder in Directory.EnumerateDirectories(jobs))
        {
            try
            {
                if (now - Directory.GetLastWriteTimeUtc(folder) > JobLeftBehind)
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                failed.Add((folder, ex));
            }
        }

        return failed;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not delete the unused dataset copy {File}")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception, string file);
}
