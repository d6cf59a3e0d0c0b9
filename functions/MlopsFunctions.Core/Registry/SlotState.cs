namespace MlopsFunctions.Core.Registry;

/// <summary>Which versions serve a model: production, staging, and the production versions before (newest last) for rollback.</summary>
public sealed record SlotState(int? Production, int? Staging, IReadOnlyList<int> History)
{
    public static readonly SlotState Empty = new(null, null, []);

    public int? this[string slot] => slot switch
    {
        Slots.Production => Production,
        Slots.Staging => Staging,
        _ => null,
    };
}

/// <summary>Contract names of the serving slots.</summary>
public static class Slots
{
    public const string Production = "production";
    public const string Staging = "staging";

    public static bool IsValid(string? slot) => slot is Production or Staging;
}

/// <summary>Contract names of registry event kinds; the first four move slots, the others only record.</summary>
public static class EventKinds
{
    public const string Stage = "stage";
    public const string Swap = "swap";
    public const string Rollback = "rollback";
    public const string Unstage = "unstage";
    public const string SmokeTestFailed = "smoke-test-failed";

    /// <summary>Served inputs drifted from the production version's training profile (the monitor).</summary>
    public const string Drift = "drift";

    /// <summary>The production version's live metric over labelled feedback fell past the spec's decay threshold.</summary>
    public const string Decay = "decay";

    public static bool MovesSlots(string kind) => kind is Stage or Swap or Rollback or Unstage;
}

/// <summary>An append-only registry event: who moved which version where, why and when.</summary>
public sealed record RegistryEvent(
    string Kind,
    int? Version,
    int? ProductionBefore,
    int? ProductionAfter,
    int? StagingBefore,
    int? StagingAfter,
    string Actor,
    string Reason,
    DateTimeOffset At);

/// <summary>A model as listed: its spec and slots.</summary>
public sealed record ModelSummary(string Name, ModelSpec? Spec, SlotState Slots, int LastVersion, DateTimeOffset? SpecUpdatedAt);

/// <summary>A registry change lost a race or has nothing to act on; HTTP maps it to 409.</summary>
public sealed class RegistryConflictException(string message) : Exception(message);
