using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Serving;

/// <summary>
/// One model version in memory: the shared transformer and a pool of PredictionEngines (they are not thread-safe,
/// and building one per request would cost more than the prediction).
/// </summary>
public sealed class LoadedModel
{
    private readonly Func<ModelRow, object> predict;

    public LoadedModel(int version, DatasetSchema schema, ITransformer transformer)
    {
        ArgumentNullException.ThrowIfNull(schema);
        Version = version;
        Schema = schema;
        Featurizer = new Featurizer(schema);
        var ml = new MLContext();
        predict = schema.Task switch
        {
            MlTask.Regression => Pooled<RegressionOutput>(ml, transformer, Featurizer, o => new ScorePrediction(o.Score)),
            MlTask.Binary => Pooled<BinaryOutput>(ml, transformer, Featurizer, o => new BinaryPrediction(
                o.PredictedLabel ? schema.PositiveLabel! : schema.NegativeLabel!, o.Probability, o.Score)),
            _ => Pooled<MulticlassOutput>(ml, transformer, Featurizer, o => new MulticlassPrediction(
                o.PredictedClass,
                schema.Classes!.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => (double)o.Score[x.i], StringComparer.Ordinal))),
        };
    }

    public int Version { get; }

    public DatasetSchema Schema { get; }

    /// <summary>How request values become model input: the same definition training used.</summary>
    public Featurizer Featurizer { get; }

    public object Predict(ModelRow row) => predict(row);

    private static Func<ModelRow, object> Pooled<TOut>(MLContext ml, ITransformer transformer, Featurizer featurizer, Func<TOut, object> map)
        where TOut : class, new()
    {
        var definition = ModelRow.SchemaFor(featurizer);
        var pool = new DefaultObjectPool<PredictionEngine<ModelRow, TOut>>(
            new EnginePolicy<TOut>(() => ml.Model.CreatePredictionEngine<ModelRow, TOut>(transformer, inputSchemaDefinition: definition)),
            Environment.ProcessorCount * 2);
        return row =>
        {
            var engine = pool.Get();
            try
            {
                return map(engine.Predict(row));
            }
            finally
            {
                pool.Return(engine);
            }
        };
    }

    private sealed class EnginePolicy<TOut>(Func<PredictionEngine<ModelRow, TOut>> create)
        : PooledObjectPolicy<PredictionEngine<ModelRow, TOut>>
        where TOut : class, new()
    {
        public override PredictionEngine<ModelRow, TOut> Create() => create();

        public override bool Return(PredictionEngine<ModelRow, TOut> obj) => true;
    }
}
