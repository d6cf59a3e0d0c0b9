using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using MlopsFunctions.Core.Hosting;
using MlopsFunctions.Core.Pipeline;

namespace MlopsFunctions.Functions;

/// <summary>A file dropped into incoming/{model}/ starts that model's pipeline.</summary>
public sealed class IncomingDataFunction(PipelineStarter starter)
{
    public const string Path = "incoming/{model}/{name}";

    [Function("IncomingData")]
    [Role(Roles.Pipeline)]
    public async Task Run(
        [BlobTrigger(Path, Connection = "AzureWebJobsStorage")] Stream content,
        string model,
        string name,
        [DurableClient] DurableTaskClient client,
        CancellationToken ct) =>
        await starter.StartFromBlobAsync(client, model, name, content, ct).ConfigureAwait(false);
}
