using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Core.Training;

namespace MlopsFunctions.Core.Serving;

/// <summary>
/// One model version in memory: the shared transformer and a pool of PredictionEngines (they are not thread-safe,
/// and building one per request would cost more than the prediction). Nothing here holds native resources, so a
/// version taken out of the cache drains by itself: requests still holding it finish, then the GC collects it.
/// </summary>
public sealed class LoadedModel
{
    private readonly Func<ModelRow, Prediction> predict;
    private readonly Action<int> warm;

    public LoadedModel(int version, DatasetSchema schema, ITransformer transformer)
    {
        ArgumentNullException.ThrowIfNull(schema);
        Version = version;
        Schema = schema;
        Featurizer = new Featurizer(schema);
        var ml = new MLContext();
        var classes = schema.Classes ?? [];
        (predict, warm) = schema.Task switch
        {
            MlTask.Regression => Pooled<RegressionOutput>(ml, transformer, Featurizer, o => new ScorePrediction(o.Score)),
            MlTask.Binary => Pooled<BinaryOutput>(ml, transformer, Featurizer, o => new BinaryPrediction(
                o.PredictedLabel ? schema.PositiveLabel! : schema.NegativeLabel!, o.Probability, o.Score)),
            _ => Pooled<MulticlassOutput>(ml, transformer, Featurizer, o => new MulticlassPrediction(o.PredictedClass, classes, o.Score)),
        };
    }

    public int Version { get; }

    public DatasetSchema Schema { get; }

    /// <summary>How request values become model input: the same definition training used.</summary>
    public Featurizer Featurizer { get; }

    /// <summary>Scores one row on this thread (see <see cref="InlineScheduler"/>).</summary>
    public Prediction Predict(ModelRow row)
    {
        var task = new Task<Prediction>(() => predict(row));
        task.RunSynchronously(InlineScheduler.Instance);
        return task.Result;
    }

    /// <summary>Scores rows in order, all on this thread, with one engine taken from the pool per row.</summary>
    public Prediction[] PredictAll(IReadOnlyList<ModelRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var task = new Task<Prediction[]>(() =>
        {
            var predictions = new Prediction[rows.Count];
            for (var i = 0; i < predictions.Length; i++)
            {
                predictions[i] = predict(rows[i]);
            }

            return predictions;
        });
        task.RunSynchronously(InlineScheduler.Instance);
        return task.Result;
    }

    /// <summary>
    /// Builds <paramref name="engines"/> engines and runs a first prediction on each, so the first requests after a
    /// release do not pay for engine creation and JIT (a cold engine costs milliseconds).
    /// </summary>
    public void Warm(int engines) => warm(engines);

    /// <summary>A row with every input missing (numbers imputed, categories in the missing bucket): valid for any schema.</summary>
    public ModelRow NeutralRow() => Featurizer.CreateRow();

    private static (Func<ModelRow, Prediction>, Action<int>) Pooled<TOut>(
        MLContext ml, ITransformer transformer, Featurizer featurizer, Func<TOut, Prediction> map)
        where TOut : class, new()
    {
        var definition = ModelRow.SchemaFor(featurizer);
        var pool = new DefaultObjectPool<PredictionEngine<ModelRow, TOut>>(
            new EnginePolicy<TOut>(() => ml.Model.CreatePredictionEngine<ModelRow, TOut>(transformer, inputSchemaDefinition: definition)),
            Environment.ProcessorCount * 2);
        Prediction Predict(ModelRow row)
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
        }

        void Warm(int count)
        {
            var row = featurizer.CreateRow();
            var taken = new List<PredictionEngine<ModelRow, TOut>>();
            for (var i = 0; i < Math.Max(1, count); i++)
            {
                var engine = pool.Get();
                taken.Add(engine);
                map(engine.Predict(row));
            }

            taken.ForEach(pool.Return);
        }

        return (Predict, Warm);
    }

    /// <summary>
    /// Runs a task on the calling thread and declares a concurrency of one. ML.NET's one-versus-all models (LightGbm
    /// multiclass) score every class of every row in a Parallel.For, which under a request load costs more than the
    /// prediction itself (thread-pool hand-offs and lock contention); Parallel.For takes its degree of parallelism from
    /// the current scheduler, so under this one the loop runs inline. Requests already keep every core busy.
    /// </summary>
    private sealed class InlineScheduler : TaskScheduler
    {
        public static readonly InlineScheduler Instance = new();

        public override int MaximumConcurrencyLevel => 1;

        protected override void QueueTask(Task task) => TryExecuteTask(task);

        protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => TryExecuteTask(task);

        protected override IEnumerable<Task> GetScheduledTasks() => [];
    }

    private sealed class EnginePolicy<TOut>(Func<PredictionEngine<ModelRow, TOut>> create)
        : PooledObjectPolicy<PredictionEngine<ModelRow, TOut>>
        where TOut : class, new()
    {
        public override PredictionEngine<ModelRow, TOut> Create() => create();

        public override bool Return(PredictionEngine<ModelRow, TOut> obj) => true;
    }
}
