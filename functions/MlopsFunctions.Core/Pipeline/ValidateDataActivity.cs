using Microsoft.DurableTask;

namespace MlopsFunctions.Core.Pipeline;

/// <summary>
/// The run's validation step: one file through <see cref="DatasetIntake"/> (accepted into datasets/{model}/ and the
/// catalog, or copied to rejected/{model}/ with its report), with the run's stage and reports kept up to date.
/// </summary>
public sealed class ValidateDataActivity(DatasetIntake intake, RunStore runs) : TaskActivity<ValidateInput, ValidationOutcome>
{
    public override async Task<ValidationOutcome> RunAsync(TaskActivityContext context, ValidateInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return await RunCoreAsync(input).ConfigureAwait(false);
    }

    private async Task<ValidationOutcome> RunCoreAsync(ValidateInput input)
    {
        await runs.UpdateAsync(input.Model, input.RunId, r => r with { Stage = Stages.Validating }).ConfigureAwait(false);
        var (outcome, report) = await intake.ValidateAsync(input.Model, input.Source, input.RunId).ConfigureAwait(false);
        if (report is not null)
        {
            await runs.UpdateAsync(input.Model, input.RunId, r => r with { Reports = [.. r.Reports ?? [], outcome.Report] }).ConfigureAwait(false);
        }

        return outcome;
    }
}
