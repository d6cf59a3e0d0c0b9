using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Evaluation;

/// <summary>
/// A model's answer and the true label for each evaluated row, by class name for classification, so metrics of two
/// models with different class orders (or classes) are computed on exactly the same rows in the same way.
/// </summary>
public sealed class ModelOutputs(MlTask task)
{
    public MlTask Task { get; } = task;

    public List<float> Target { get; } = [];

    public List<float> Score { get; } = [];

    public List<bool> Truth { get; } = [];

    public List<bool> Predicted { get; } = [];

    public List<float> Probability { get; } = [];

    public List<string> TrueClass { get; } = [];

    public List<string> PredictedClass { get; } = [];

    /// <summary>Multiclass: the probability the model gave the true class (0 when the model does not know that class).</summary>
    public List<float> TrueClassProbability { get; } = [];

    /// <summary>Rows whose true class the model never learnt: it cannot be right on them, and says so by scoring them wrong.</summary>
    public int UnknownClassRows { get; private set; }

    public int Count => Task switch
    {
        MlTask.Regression => Target.Count,
        MlTask.Binary => Truth.Count,
        _ => TrueClass.Count,
    };

    /// <summary>
    /// Scores a view with a model and collects its outputs in the view's row order, streaming the rows once on up to
    /// <paramref name="threads"/> threads: one cursor each from <see cref="IDataView.GetRowCursorSet"/>, put back in
    /// order by their batch numbers as that contract allows.
    /// </summary>
    public static ModelOutputs Collect(ITransformer model, IDataView rows, DatasetSchema schema, int threads = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(schema);
        var scored = model.Transform(rows);
        var cursors = scored.GetRowCursorSet(Columns(scored.Schema, schema.Task), Math.Max(1, threads));
        var parts = new (ModelOutputs Outputs, List<(long Batch, int Start)> Batches)[cursors.Length];
        try
        {
            if (cursors.Length == 1)
            {
                parts[0] = Read(cursors[0], schema);
            }
            else
            {
                try
                {
                    Parallel.For(0, cursors.Length, new ParallelOptions { MaxDegreeOfParallelism = cursors.Length }, k => parts[k] = Read(cursors[k], schema));
                }
                catch (AggregateException ex)
                {
                    ExceptionDispatchInfo.Throw(ex.InnerExceptions[0]);
                }
            }
        }
        finally
        {
            foreach (var cursor in cursors)
            {
                cursor.Dispose();
            }
        }

        return parts.Length == 1 ? parts[0].Outputs : InBatchOrder(parts, schema.Task);
    }

    private static DataViewSchema.Column[] Columns(DataViewSchema scored, MlTask task) => task switch
    {
        MlTask.Regression => [scored[ModelRow.RegressionLabel], scored["Score"]],
        MlTask.Binary => [scored[ModelRow.BinaryLabel], scored["Score"], scored["Probability"], scored["PredictedLabel"]],
        _ => [scored[ModelRow.ClassLabel], scored["Score"], scored[FeaturePipeline.PredictedClass]],
    };

    /// <summary>One cursor's outputs, and where each of its batches starts in them.</summary>
    private static (ModelOutputs, List<(long Batch, int Start)>) Read(DataViewRowCursor cursor, DatasetSchema schema)
    {
        var outputs = new ModelOutputs(schema.Task);
        var batches = new List<(long, int)>();
        var columns = Columns(cursor.Schema, schema.Task);
        Func<bool> next = () =>
        {
            if (!cursor.MoveNext())
            {
                return false;
            }

            if (batches.Count == 0 || batches[^1].Item1 != cursor.Batch)
            {
                batches.Add((cursor.Batch, outputs.Count));
            }

            return true;
        };
        switch (schema.Task)
        {
            case MlTask.Regression:
                ReadRegression(cursor, columns, next, outputs);
                break;
            case MlTask.Binary:
                ReadBinary(cursor, columns, next, outputs);
                break;
            default:
                ReadMulticlass(cursor, columns, next, outputs, schema.Classes ?? []);
                break;
        }

        return (outputs, batches);
    }

    /// <summary>The cursors' outputs batch by batch, smallest batch first: the rows in the order one cursor gives them.</summary>
    private static ModelOutputs InBatchOrder((ModelOutputs Outputs, List<(long Batch, int Start)> Batches)[] parts, MlTask task)
    {
        var all = new ModelOutputs(task);
        var segments = parts
            .SelectMany(p => p.Batches.Select((b, i) => (b.Batch, p.Outputs, b.Start, End: i + 1 < p.Batches.Count ? p.Batches[i + 1].Start : p.Outputs.Count)))
            .OrderBy(s => s.Batch);
        foreach (var (_, outputs, start, end) in segments)
        {
            all.Append(outputs, start, end - start);
        }

        all.UnknownClassRows = parts.Sum(p => p.Outputs.UnknownClassRows);
        return all;
    }

    private void Append(ModelOutputs from, int start, int count)
    {
        Copy(from.Target, Target);
        Copy(from.Score, Score);
        Copy(from.Truth, Truth);
        Copy(from.Predicted, Predicted);
        Copy(from.Probability, Probability);
        Copy(from.TrueClass, TrueClass);
        Copy(from.PredictedClass, PredictedClass);
        Copy(from.TrueClassProbability, TrueClassProbability);

        void Copy<T>(List<T> source, List<T> target)
        {
            if (source.Count > 0)
            {
                target.AddRange(CollectionsMarshal.AsSpan(source).Slice(start, count));
            }
        }
    }

    private static void ReadRegression(DataViewRowCursor cursor, DataViewSchema.Column[] columns, Func<bool> next, ModelOutputs outputs)
    {
        var label = cursor.GetGetter<float>(columns[0]);
        var score = cursor.GetGetter<float>(columns[1]);
        float l = 0, s = 0;
        while (next())
        {
            label(ref l);
            score(ref s);
            outputs.Target.Add(l);
            outputs.Score.Add(s);
        }
    }

    private static void ReadBinary(DataViewRowCursor cursor, DataViewSchema.Column[] columns, Func<bool> next, ModelOutputs outputs)
    {
        var label = cursor.GetGetter<bool>(columns[0]);
        var score = cursor.GetGetter<float>(columns[1]);
        var probability = cursor.GetGetter<float>(columns[2]);
        var predicted = cursor.GetGetter<bool>(columns[3]);
        bool l = false, p = false;
        float s = 0, pr = 0;
        while (next())
        {
            label(ref l);
            score(ref s);
            probability(ref pr);
            predicted(ref p);
            outputs.Truth.Add(l);
            outputs.Score.Add(s);
            outputs.Probability.Add(pr);
            outputs.Predicted.Add(p);
        }
    }

    private static void ReadMulticlass(DataViewRowCursor cursor, DataViewSchema.Column[] columns, Func<bool> next, ModelOutputs outputs, IReadOnlyList<string> classes)
    {
        var label = cursor.GetGetter<ReadOnlyMemory<char>>(columns[0]);
        var score = cursor.GetGetter<VBuffer<float>>(columns[1]);
        var predicted = cursor.GetGetter<ReadOnlyMemory<char>>(columns[2]);
        var index = classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i, StringComparer.Ordinal);
        var names = index.GetAlternateLookup<ReadOnlySpan<char>>();
        ReadOnlyMemory<char> l = default, p = default;
        VBuffer<float> s = default;
        while (next())
        {
            label(ref l);
            score(ref s);
            predicted(ref p);
            var truth = l.ToString();
            outputs.TrueClass.Add(truth);
            outputs.PredictedClass.Add(p.IsEmpty ? string.Empty : classes[names[p.Span]]);
            if (index.TryGetValue(truth, out var i))
            {
                outputs.TrueClassProbability.Add(s.GetItemOrDefault(i));
            }
            else
            {
                outputs.TrueClassProbability.Add(0);
                outputs.UnknownClassRows++;
            }
        }
    }
}
