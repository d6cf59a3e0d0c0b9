using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Storage;

namespace MlopsFunctions.Tests.Unit;

/// <summary>
/// Job folders of killed workers and hosts (a spare killed while it warmed up leaves its sample's files) are deleted
/// with the unused dataset copies, once nothing was written to them for a day; a running job's folder stays.
/// </summary>
public sealed class JobFolderSweepTests
{
    [Fact]
    public void A_job_folder_untouched_for_a_day_is_deleted_and_a_recent_one_stays()
    {
        var old = WorkerProcess.NewFolder();
        File.WriteAllText(Path.Combine(old, "job.json"), "{}");
        Directory.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddHours(-25));
        var recent = WorkerProcess.NewFolder();
        File.WriteAllText(Path.Combine(recent, "job.json"), "{}");
        Directory.SetLastWriteTimeUtc(recent, DateTime.UtcNow.AddHours(-23));
        try
        {
            Assert.Empty(DatasetFiles.SweepJobFolders(DateTime.UtcNow));

            Assert.False(Directory.Exists(old));
            Assert.True(File.Exists(Path.Combine(recent, "job.json")));
        }
        finally
        {
            WorkerProcess.DeleteFolder(recent);
        }
    }
}
