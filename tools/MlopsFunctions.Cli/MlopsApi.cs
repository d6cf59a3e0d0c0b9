using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace MlopsFunctions.Cli;

/// <summary>
/// The MlopsFunctions HTTP API as the CLI calls it: every call sends the key, and every failure becomes a CliError
/// carrying the server's own JSON message (or a plain account of what went wrong), never an exception trace.
/// </summary>
internal sealed class MlopsApi : IDisposable
{
    private readonly HttpClient http;

    public MlopsApi(Uri baseAddress, string? key, TimeSpan? timeout = null)
    {
        BaseAddress = baseAddress;
        http = new HttpClient { BaseAddress = baseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(100) };
        HasKey = !string.IsNullOrEmpty(key);
        if (HasKey)
        {
            http.DefaultRequestHeaders.Add("x-functions-key", key);
        }
    }

    public Uri BaseAddress { get; }

    public bool HasKey { get; }

    public Task<JsonElement> GetAsync(string path, CancellationToken ct) => SendAsync(HttpMethod.Get, path, null, ct);

    public Task<JsonElement> PostAsync(string path, string? json, CancellationToken ct) => SendAsync(HttpMethod.Post, path, json, ct);

    public Task<JsonElement> PutAsync(string path, string json, CancellationToken ct) => SendAsync(HttpMethod.Put, path, json, ct);

    public async Task<JsonElement> SendAsync(HttpMethod method, string path, string? json, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, ct);
        }
        catch (HttpRequestException ex)
        {
            throw new CliError($"Cannot reach {BaseAddress}: {ex.Message}. Is the app running? Point --url or MLOPS_URL at it.", CliError.Unreachable);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new CliError($"{method} {request.RequestUri} got no answer within {http.Timeout.TotalSeconds:0} s.", CliError.Unreachable);
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(ct);
            JsonElement? parsed = null;
            try
            {
                parsed = body.Length == 0 ? null : JsonDocument.Parse(body).RootElement.Clone();
            }
            catch (JsonException)
            {
            }

            if (response.IsSuccessStatusCode)
            {
                return parsed ?? throw new CliError($"{method} /{path.TrimStart('/')} answered {(int)response.StatusCode} without JSON.", CliError.Failed);
            }

            throw new CliError(Describe(method, path, response.StatusCode, parsed, body), CliError.Failed);
        }
    }

    public void Dispose() => http.Dispose();

    private string Describe(HttpMethod method, string path, HttpStatusCode status, JsonElement? json, string body)
    {
        var code = (int)status;
        var route = $"{method} /{path.TrimStart('/').Split('?')[0]}";
        string message;
        if (json is { ValueKind: JsonValueKind.Object } error && error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
        {
            message = m.GetString()!;
            if (error.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.Array && details.GetArrayLength() > 1)
            {
                message += Environment.NewLine + string.Join(Environment.NewLine, details.EnumerateArray().Select(d => "  - " + d.GetString()));
            }
        }
        else if (status == HttpStatusCode.NotFound)
        {
            message = $"The server has no route {route}: this version of the app does not serve it.";
        }
        else
        {
            message = $"{route} failed with HTTP {code} {status}{(body.Length > 0 ? ": " + body[..Math.Min(body.Length, 300)] : string.Empty)}";
        }

        if (status == HttpStatusCode.Unauthorized && !HasKey)
        {
            message += " (no key was sent: use --key or MLOPS_KEY)";
        }

        return $"{message} [HTTP {code}]";
    }
}
