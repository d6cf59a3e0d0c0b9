using System.Security.Cryptography;
using System.Text;
using Microsoft.Azure.Functions.Worker;
using MlopsFunctions.Http;

namespace MlopsFunctions.LocalHost;

/// <summary>
/// The keys LocalHost accepts, held as SHA-256 hashes and compared in constant time, so neither a key's value nor how
/// much of it matched leaks through timing. The admin key is named "master", as the Functions host names it.
/// </summary>
public sealed class KeyRing
{
    public const int MinimumKeyLength = 16;

    private readonly (string Name, AuthorizationLevel Level, byte[] Hash)[] keys;

    private KeyRing((string Name, AuthorizationLevel Level, byte[] Hash)[] keys) => this.keys = keys;

    /// <summary>Builds the ring, or returns every reason the settings cannot be used (LocalHost then refuses to start).</summary>
    public static (KeyRing? Ring, IReadOnlyList<string> Errors) Create(LocalHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.MasterKey))
        {
            errors.Add($"{LocalHostOptions.Section}__MasterKey is not set: LocalHost enforces the Functions auth levels and needs an admin key. " +
                       "Set one, e.g. export LocalHost__MasterKey=$(openssl rand -hex 32), or run scripts/start.sh, which generates one per data folder.");
        }
        else if (options.MasterKey.Length < MinimumKeyLength)
        {
            errors.Add($"{LocalHostOptions.Section}__MasterKey is shorter than {MinimumKeyLength} characters: use a random key, e.g. $(openssl rand -hex 32).");
        }

        var entries = new List<(string Name, AuthorizationLevel Level, string Value)>();
        if (!string.IsNullOrWhiteSpace(options.MasterKey))
        {
            entries.Add((CallerIdentity.MasterKeyName, AuthorizationLevel.Admin, options.MasterKey));
        }

        foreach (var (name, value) in options.FunctionKeys.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            var setting = $"{LocalHostOptions.Section}__FunctionKeys__{name}";
            if (string.Equals(name, CallerIdentity.MasterKeyName, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{setting}: '{CallerIdentity.MasterKeyName}' names the admin key; give the function key another name.");
            }
            else if (string.IsNullOrWhiteSpace(value) || value.Length < MinimumKeyLength)
            {
                errors.Add($"{setting} is empty or shorter than {MinimumKeyLength} characters.");
            }
            else
            {
                entries.Add((name, AuthorizationLevel.Function, value));
            }
        }

        // Two names for one value would make the audit actor ambiguous.
        foreach (var duplicate in entries.GroupBy(e => e.Value, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            errors.Add($"Keys {string.Join(", ", duplicate.Select(e => $"'{e.Name}'"))} have the same value: every key needs its own.");
        }

        return errors.Count > 0
            ? (null, errors)
            : (new KeyRing([.. entries.Select(e => (e.Name, e.Level, Hash(e.Value)))]), []);
    }

    /// <summary>The key a value matches, or null. Every key is compared, so the time taken does not tell which one matched.</summary>
    public (string Name, AuthorizationLevel Level)? Match(string? presented)
    {
        if (string.IsNullOrEmpty(presented))
        {
            return null;
        }

        // Hashed on the stack: this runs on every request.
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var utf8 = presented.Length <= 256 ? stackalloc byte[Encoding.UTF8.GetMaxByteCount(presented.Length)] : new byte[Encoding.UTF8.GetMaxByteCount(presented.Length)];
        SHA256.HashData(utf8[..Encoding.UTF8.GetBytes(presented, utf8)], hash);
        (string, AuthorizationLevel)? match = null;
        foreach (var key in keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, key.Hash) && match is null)
            {
                match = (key.Name, key.Level);
            }
        }

        return match;
    }

    private static byte[] Hash(string value) => SHA256.HashData(Encoding.UTF8.GetBytes(value));
}
