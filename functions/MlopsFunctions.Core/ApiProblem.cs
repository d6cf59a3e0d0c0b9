namespace MlopsFunctions.Core;

/// <summary>A user-facing error: HTTP status, a stable code and one sentence a person can act on (DESIGN.md section 6).</summary>
public sealed record ApiProblem(int Status, string Error, string Message, IReadOnlyList<string>? Details = null)
{
    public static ApiProblem BadRequest(string error, string message, IReadOnlyList<string>? details = null) => new(400, error, message, details);

    public static ApiProblem NotFound(string error, string message) => new(404, error, message);

    public static ApiProblem Conflict(string error, string message) => new(409, error, message);
}
