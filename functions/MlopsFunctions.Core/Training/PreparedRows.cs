using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Text;
using Microsoft.ML;
using MlopsFunctions.Core.Data;

namespace MlopsFunctions.Core.Training;

/// <summary>
/// The model rows of a window featurized once into fixed-size records on local disk (<see cref="RowsFileWriter"/>),
/// one file per split, so the trainers' many passes (SDCA makes dozens) and the evaluator read a few floats per row
/// instead of parsing CSV again; memory stays bounded because every cursor streams blocks. The three files are
/// written together, in one pass over the CSV, by one process, and are keyed by data, schema and split fractions, so
/// every candidate of a run and its evaluation share them.
/// </summary>
public static class PreparedRows
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Locks = new(StringComparer.Ordinal);

    /// <summary>The rows of one split as a data view, writing the three files first when this machine does not have them yet.</summary>
    public static IDataView Open(IReadOnlyList<string> files, Featurizer featurizer, RowSplit split, Split part, CsvLimits limits) =>
        RowsFileView.Open(Path(files, featurizer, split, part, limits), featurizer);

    /// <summary>The path of the file of one split, writing all three when this machine does not have them yet.</summary>
    /// <remarks>
    /// Two processes (the candidates' trainer children) wanting the same files wait for one writer through a lock
    /// file instead of both parsing the CSV on the same cores. Writing uses no random numbers, so whether a trainer
    /// found the files or wrote them, the same data and seed train the same model.
    /// </remarks>
    public static string Path(IReadOnlyList<string> files, Featurizer featurizer, RowSplit split, Split part, CsvLimits limits)
    {
        ArgumentNullException.ThrowIfNull(featurizer);
        ArgumentNullException.ThrowIfNull(split);
        var key = Key(files, featurizer, split);
        string PathOf(Split p) => System.IO.Path.Combine(Storage.DatasetFiles.Root, $"{key}.{p.ToString().ToLowerInvariant()}.rows");
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

    /// <summary>Writes the three splits in one pass over the CSV: each row goes to its split's file as it is read.</summary>
    private static void WriteAll(IReadOnlyList<string> files, Featurizer featurizer, RowSplit split, CsvLimits limits, (Split Part, string Path)[] outputs)
    {
        var partials = outputs.ToDictionary(o => o.Part, o => $"{o.Path}.{Guid.NewGuid():N}.part");
        var writers = new RowsFileWriter[outputs.Length];
        try
        {
            foreach (var (part, _) in outputs)
            {
                writers[(int)part] = new RowsFileWriter(partials[part], featurizer);
            }

            foreach (var (part, row) in TrainingRows.Read(files, featurizer, split, only: null, limits, reuseRow: true))
            {
                writers[(int)part].Write(row);
            }

            foreach (var writer in writers)
            {
                writer.Complete();
                writer.Dispose();
            }

            foreach (var (part, path) in outputs)
            {
                File.Move(partials[part], path, overwrite: true);
            }
        }
        finally
        {
            foreach (var writer in writers)
            {
                writer?.Dispose();
            }

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
        text.Append(Json.Serialize(featurizer.Schema with { Classes = null })).Append('|').Append(Json.Serialize(split))
            .Append('|').Append(RowsFileWriter.FormatVersion);
        return Convert.ToHexStringLower(XxHash128.Hash(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
