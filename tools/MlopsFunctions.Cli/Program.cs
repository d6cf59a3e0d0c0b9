using System.CommandLine;
using MlopsFunctions.Cli;

// mlops: the operators' command line for MlopsFunctions (README.md, "Command line"). Every command is one or a few
// calls of the public HTTP API (or a blob upload, for upload); errors print the server's message and exit non-zero.
var root = new RootCommand("mlops: models, versions, uploads with a live run view, batch predictions and operator calls for MlopsFunctions")
{
    CliContext.UrlOption,
    CliContext.KeyOption,
    CliContext.StorageOption,
    CliContext.JsonOption,
    ModelCommands.Models(),
    ModelCommands.Model(),
    ModelCommands.Define(),
    UploadCommand.Create(),
    PredictCommand.Create(),
    ModelCommands.Decide(approve: true),
    ModelCommands.Decide(approve: false),
    ModelCommands.SlotChange("swap", "Swap the staging and production versions (admin key)"),
    ModelCommands.SlotChange("rollback", "Put back the production version there was before the last change (admin key)"),
    ModelCommands.Runs(),
    ModelCommands.Drift(),
};

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors)
    {
        await Console.Error.WriteLineAsync($"mlops: {error.Message}");
    }

    await Console.Error.WriteLineAsync("Run 'mlops --help' for the commands and their arguments.");
    return CliError.BadInput;
}

return await parse.InvokeAsync();
