using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Text;
using Microsoft.ML;
using MlopsFunctions.Core.Data;

namespace MlopsFunctions.Core.Training;

/// <summary>
/// The model rows of a window featurized once into ML.NET's binary format on local disk, one file per split, so the
/// trainers' many passes (SDCA makes dozens) and the evaluator read compact columns instead of parsing CSV again;
/// memory stays bounded because the binary loader streams blocks. The three files are written together, by one
/// process, and are keyed by data, schema and split fractions, so every candidate of a run and its evaluation share them.
/// </summary>
public static class PreparedRows
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Locks = new(StringComparer.Ordinal);

    /// <summary>The path of the binary file of one split, writing all three when this machine does not have them yet.</summary>
    /// <remarks>
    /// The files are written with contexts of their own: writing with the trainer's context used up that context's
    /// random numbers, so a trainer that shuffles (SDCA) learnt another model when the file had to be written than
    /// when it was already there, and the same data and seed did not give the same metrics. Two processes (the
    /// candidates' trainer children) wanting the same files wait for one writer through a lock file instead of both
    /// parsing the CSV on the same cores.
    /// </remarks>
    public static string Path(IReadOnlyList<string> files, Featurizer featurizer, RowSplit split, Split part, CsvLimits limits)
    {
        ArgumentNullException.ThrowIfNull(featurizer);
        ArgumentNullException.ThrowIfNull(split);
        var key = Key(files, featurizer, split);
        string PathOf(Split p) => System.IO.Path.Combine(Storage.DatasetFiles.Root, $"{key}.{p.ToString().ToLowerInvariant()}.idv");
        var wanted = PathOf(part);
        var gate = Locks.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        gate.Wait();
        try
        {
            if (File.Exists(wanted))
            {
                File.SetLastAccessTimeUtc(wanted, DateTime.UtcNow);
                return wanted;
            }

            Directory.CreateDirectory(Storage.DatasetFiles.Root);
            using var machineWide = LockFile(System.IO.Path.Combine(Storage.DatasetFiles.Root, $"{key}.lock"));
            if (!File.Exists(wanted))
            {
                WriteAll(files, featurizer, split, limits, [.. Enum.GetValues<Split>().Select(p => (p, PathOf(p)))]);
            }

            return wanted;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Writes the three splits side by side, each from its own pass over the CSV (ML.NET's binary writer enumerates
    /// its source more than once, so the rows of one shared pass cannot be handed to it through a queue).
    /// </summary>
    private static void WriteAll(IReadOnlyList<string> files, Featurizer featurizer, RowSplit split, CsvLimits limits, (Split Part, string Path)[] outputs)
    {
        var partials = outputs.ToDictionary(o => o.Part, o => $"{o.Path}.{Guid.NewGuid():N}.part");
        try
        {
            var writers = outputs.Select(o => Task.Factory.StartNew(() =>
            {
                var ml = new MLContext(split.Seed);
                var view = ModelRow.ToDataView(ml, new TrainingRows(files, featurizer, split, o.Part, limits), featurizer);
                using var stream = File.Create(partials[o.Part]);
                ml.Data.SaveAsBinary(view, stream, keepHidden: false);
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
            try
            {
                Task.WaitAll(writers);
            }
            catch (AggregateException ex)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerExceptions[0]);
                throw;
            }

            foreach (var (part, path) in outputs)
            {
                File.Move(partials[part], path, overwrite: true);
            }
        }
        finally
        {
            foreach (var partial in partials.Values)
            {
                File.Delete(partial);
            }
        }
    }

    /// <summary>Holds a file open exclusively, waiting while another process holds it.</summary>
    private static FileStream LockFile(string path)
    {
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException)
            {
                Thread.Sleep(50);
            }
        }
    }

    /// <summary>Content of the data files (their names are content hashes), the schema and the split decide the rows.</summary>
    private static string Key(IReadOnlyList<string> files, Featurizer featurizer, RowSplit split)
    {
        var text = new StringBuilder();
        foreach (var file in files)
        {
            text.Append(System.IO.Path.GetFileName(file)).Append('|').Append(new FileInfo(file).Length).Append('|');
        }

        // A model's class order is learnt in training and does not change its rows: the candidates (without it) and
        // the evaluator (with it) share the files.
        text.Append(Json.Serialize(featurizer.Schema with { Classes = null })).Append('|').Append(Json.Serialize(split));
        return Convert.ToHexStringLower(XxHash128.Hash(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
