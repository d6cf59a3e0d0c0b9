using Microsoft.DurableTask;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>The one registration of every durable task, used by the Functions app and LocalHost alike.</summary>
public static class MlopsTasks
{
    public static DurableTaskRegistry AddMlopsTasks(this DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        // Every activity runs inside a span of its run's trace, wherever it runs (see PipelineTelemetry).
        var tasks = new DurableTaskRegistry()
            .AddOrchestrator<TrainingPipeline>()
            .AddActivity<StartRunActivity>()
            .AddActivity<ValidateDataActivity>()
            .AddActivity<PrepareTrainingActivity>()
            .AddActivity<TrainCandidateActivity>()
            .AddActivity<EvaluateModelActivity>()
            .AddActivity<RegisterModelActivity>()
            .AddActivity<StageModelActivity>()
            .AddActivity<PromoteModelActivity>()
            .AddActivity<DeclineModelActivity>()
            .AddActivity<SetVersionStatusActivity>()
            .AddActivity<FinishRunActivity>();
        return registry.AddTraced(tasks);
    }
}
