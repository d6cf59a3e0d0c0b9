using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Text;
using Microsoft.ML;
using MlopsFunctions.Core.Data;

namespace MlopsFunctions.Core.Training;

/// <summary>
/// A split's model rows featurized once into ML.NET's binary format on local disk, so the trainers' many passes
/// (SDCA makes dozens) read compact columns instead of parsing CSV again; memory stays bounded because the binary
/// loader streams blocks. Files are keyed by data, schema and split, so the candidates of a run share one.
/// </summary>
public static class PreparedRows
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Locks = new(StringComparer.Ordinal);

    /// <summary>The path of the binary file of one split, writing it when this machine does not have it yet.</summary>
    /// <remarks>
    /// The file is written with a context of its own: writing it with the trainer's context used up that context's
    /// random numbers, so a trainer that shuffles (SDCA) learnt another model when the file had to be written than
    /// when it was already there, and the same data and seed did not give the same metrics.
    /// </remarks>
    public static string Path(IReadOnlyList<string> files, Featurizer featurizer, RowSplit split, Split part, CsvLimits limits)
    {
        ArgumentNullException.ThrowIfNull(featurizer);
        ArgumentNullException.ThrowIfNull(split);
        var key = Key(files, featurizer, split, part);
        var path = System.IO.Path.Combine(Storage.DatasetFiles.Root, $"{key}.{part.ToString().ToLowerInvariant()}.idv");
        var gate = Locks.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        gate.Wait();
        try
        {
            if (File.Exists(path))
            {
                File.SetLastAccessTimeUtc(path, DateTime.UtcNow);
                return path;
            }

            Directory.CreateDirectory(Storage.DatasetFiles.Root);
            var partial = $"{path}.{Guid.NewGuid():N}.part";
            try
            {
                var ml = new MLContext(split.Seed);
                var view = ModelRow.ToDataView(ml, new TrainingRows(files, featurizer, split, part, limits), featurizer);
                using (var stream = File.Create(partial))
                {
                    ml.Data.SaveAsBinary(view, stream, keepHidden: false);
                }

                File.Move(partial, path, overwrite: true);
            }
            finally
            {
                File.Delete(partial);
            }

            return path;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Content of the data files (their names are content hashes), the schema and the split decide the rows.</summary>
    private static string Key(IReadOnlyList<string> files, Featurizer featurizer, RowSplit split, Split part)
    {
        var text = new StringBuilder();
        foreach (var file in files)
        {
            text.Append(System.IO.Path.GetFileName(file)).Append('|').Append(new FileInfo(file).Length).Append('|');
        }

        text.Append(Json.Serialize(featurizer.Schema)).Append('|').Append(Json.Serialize(split)).Append('|').Append(part);
        return Convert.ToHexStringLower(XxHash128.Hash(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
