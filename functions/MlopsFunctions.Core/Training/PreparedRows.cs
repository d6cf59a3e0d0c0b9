using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Runtime.ExceptionServices;
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
    /// <summary>Below this many bytes per thread a file is parsed by one thread: starting more costs more than it saves.</summary>
    public const long MinRangeBytes = 4 << 20;

    /// <summary>Threads that parse one file at most.</summary>
    public const int MaxThreads = 4;

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

    /// <summary>
    /// Writes the three splits in one pass over the CSV: each row goes to its split's file as it is read. A large file
    /// is parsed by several threads, one range of whole records each (<see cref="RowRanges"/>): the first range writes
    /// into the outputs, the others into files of their own that are appended after it in order, so the outputs are
    /// byte for byte those of one thread.
    /// </summary>
    internal static void WriteAll(
        IReadOnlyList<string> files, Featurizer featurizer, RowSplit split, CsvLimits limits, (Split Part, string Path)[] outputs,
        int threads = 0, long minRangeBytes = MinRangeBytes)
    {
        threads = threads > 0 ? threads : Math.Min(Environment.ProcessorCount, MaxThreads);
        var partials = outputs.ToDictionary(o => o.Part, o => $"{o.Path}.{Guid.NewGuid():N}.part");
        var writers = new RowsFileWriter[outputs.Length];
        try
        {
            foreach (var (part, _) in outputs)
            {
                writers[(int)part] = new RowsFileWriter(partials[part], featurizer);
            }

            var earlier = files.Count > 1 ? new RowHashSet() : null;
            foreach (var file in files)
            {
                var ranges = RowRanges.Of(file, threads, minRangeBytes);
                var header = ranges.Count > 1 ? CsvSource.HeaderOf(file, limits) : null;
                var hashes = new List<ulong>?[ranges.Count];
                var pieces = new string[ranges.Count][];
                try
                {
                    try
                    {
                        Parallel.For(0, ranges.Count, new ParallelOptions { MaxDegreeOfParallelism = threads }, k =>
                        {
                            pieces[k] = k == 0 ? [] : [.. outputs.Select(o => $"{partials[o.Part]}.{k}")];
                            hashes[k] = WriteRange(file, ranges[k], header, featurizer, split, limits, earlier, writers, k == 0 ? null : pieces[k]);
                        });
                    }
                    catch (AggregateException ex)
                    {
                        // The reader's own error (a limit, a damaged file) as one thread would have thrown it.
                        ExceptionDispatchInfo.Throw(ex.InnerExceptions[0]);
                    }

                    for (var k = 1; k < ranges.Count; k++)
                    {
                        foreach (var (part, _) in outputs)
                        {
                            writers[(int)part].Append(pieces[k][(int)part], featurizer);
                        }
                    }
                }
                finally
                {
                    foreach (var piece in pieces.Where(p => p is not null).SelectMany(p => p))
                    {
                        File.Delete(piece);
                    }
                }

                foreach (var hash in hashes.SelectMany(h => h ?? []))
                {
                    earlier!.Add(hash);
                }
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

    /// <summary>
    /// Writes one range's rows (those not in an earlier file of the window) to <paramref name="writers"/>, or to new
    /// complete files at <paramref name="pieces"/> when given; returns their hashes when the window de-duplicates.
    /// </summary>
    private static List<ulong>? WriteRange(
        string file, RowRange range, IReadOnlyList<string>? header, Featurizer featurizer, RowSplit split, CsvLimits limits,
        RowHashSet? earlier, RowsFileWriter[] writers, string[]? pieces)
    {
        var own = pieces?.Select(p => new RowsFileWriter(p, featurizer)).ToArray();
        try
        {
            var targets = own ?? writers;
            var hashes = earlier is null ? null : new List<ulong>();
            foreach (var (part, row, hash) in TrainingRows.ReadRange(file, range, header, featurizer, split, null, limits, featurizer.CreateRow()))
            {
                if (earlier is null || !earlier.Contains(hash))
                {
                    hashes?.Add(hash);
                    targets[(int)part].Write(row);
                }
            }

            foreach (var writer in own ?? [])
            {
                writer.Complete();
            }

            return hashes;
        }
        finally
        {
            foreach (var writer in own ?? [])
            {
                writer.Dispose();
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
