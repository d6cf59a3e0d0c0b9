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

    /// <summary>Scores a view with a model and collects its outputs, streaming the rows once.</summary>
    public static ModelOutputs Collect(ITransformer model, IDataView rows, DatasetSchema schema)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(schema);
        var scored = model.Transform(rows);
        var outputs = new ModelOutputs(schema.Task);
        switch (schema.Task)
        {
            case MlTask.Regression:
                Read<float, float>(scored, ModelRow.RegressionLabel, "Score", (label, score) =>
                {
                    outputs.Target.Add(label);
                    outputs.Score.Add(score);
                });
                break;
            case MlTask.Binary:
                ReadBinary(scored, outputs);
                break;
            default:
                ReadMulticlass(scored, outputs, schema.Classes ?? []);
                break;
        }

        return outputs;
    }

    private static void Read<TA, TB>(IDataView view, string a, string b, Action<TA, TB> add)
    {
        var columns = new[] { view.Schema[a], view.Schema[b] };
        using var cursor = view.GetRowCursor(columns);
        var getA = cursor.GetGetter<TA>(columns[0]);
        var getB = cursor.GetGetter<TB>(columns[1]);
        TA va = default!;
        TB vb = default!;
        while (cursor.MoveNext())
        {
            getA(ref va);
            getB(ref vb);
            add(va, vb);
        }
    }

    private static void ReadBinary(IDataView view, ModelOutputs outputs)
    {
        var columns = new[] { view.Schema[ModelRow.BinaryLabel], view.Schema["Score"], view.Schema["Probability"], view.Schema["PredictedLabel"] };
        using var cursor = view.GetRowCursor(columns);
        var label = cursor.GetGetter<bool>(columns[0]);
        var score = cursor.GetGetter<float>(columns[1]);
        var probability = cursor.GetGetter<float>(columns[2]);
        var predicted = cursor.GetGetter<bool>(columns[3]);
        bool l = false, p = false;
        float s = 0, pr = 0;
        while (cursor.MoveNext())
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

    private static void ReadMulticlass(IDataView view, ModelOutputs outputs, IReadOnlyList<string> classes)
    {
        var columns = new[] { view.Schema[ModelRow.ClassLabel], view.Schema["Score"], view.Schema[FeaturePipeline.PredictedClass] };
        using var cursor = view.GetRowCursor(columns);
        var label = cursor.GetGetter<ReadOnlyMemory<char>>(columns[0]);
        var score = cursor.GetGetter<VBuffer<float>>(columns[1]);
        var predicted = cursor.GetGetter<ReadOnlyMemory<char>>(columns[2]);
        var index = classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i, StringComparer.Ordinal);
        var names = index.GetAlternateLookup<ReadOnlySpan<char>>();
        ReadOnlyMemory<char> l = default, p = default;
        VBuffer<float> s = default;
        while (cursor.MoveNext())
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
