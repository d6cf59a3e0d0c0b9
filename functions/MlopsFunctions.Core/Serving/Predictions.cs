using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.ML.Data;

namespace MlopsFunctions.Core.Serving;

/// <summary>ML.NET output row of a regression model.</summary>
public sealed class RegressionOutput
{
    public float Score { get; set; }
}

/// <summary>ML.NET output row of a binary model (LightGbm is calibrated, so it has a probability).</summary>
public sealed class BinaryOutput
{
    public bool PredictedLabel { get; set; }

    public float Probability { get; set; }

    public float Score { get; set; }
}

/// <summary>ML.NET output row of a multiclass model: the class name (mapped back from its key) and one score per class.</summary>
public sealed class MulticlassOutput
{
    [ColumnName(Training.FeaturePipeline.PredictedClass)]
    public string PredictedClass { get; set; } = string.Empty;

    public float[] Score { get; set; } = [];
}

/// <summary>
/// One model output as the HTTP contract spells it. Each writes its own fields with a Utf8JsonWriter, so responses and
/// captured rows are written without reflection or an intermediate string (the predict path's hottest code).
/// </summary>
public abstract record Prediction
{
    /// <summary>The label, for classification (shadow agreement compares it); null for regression.</summary>
    public abstract string? Label { get; }

    /// <summary>The score, for regression (shadow error compares it).</summary>
    public abstract double Score { get; }

    public abstract void WriteFields(Utf8JsonWriter writer);

    /// <summary>
    /// Writes a model output (a float) in its shortest round-trip form, e.g. 21.3 rather than 21.299999237060547, and
    /// non-finite values as System.Text.Json's named literals ("NaN"), which Utf8JsonWriter refuses as numbers.
    /// </summary>
    internal static void WriteNumber(Utf8JsonWriter writer, string name, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumber(name, (float)value);
        }
        else
        {
            writer.WriteString(name, value.ToString(CultureInfo.InvariantCulture));
        }
    }
}

/// <summary>Regression prediction.</summary>
public sealed record ScorePrediction(double Value) : Prediction
{
    public override string? Label => null;

    public override double Score => Value;

    public override void WriteFields(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        WriteNumber(writer, "score", Value);
    }
}

/// <summary>Binary prediction, with the user's own label value.</summary>
public sealed record BinaryPrediction(string PredictedLabel, double Probability, double RawScore) : Prediction
{
    public override string? Label => PredictedLabel;

    public override double Score => RawScore;

    public override void WriteFields(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteString("label", PredictedLabel);
        WriteNumber(writer, "probability", Probability);
        WriteNumber(writer, "score", RawScore);
    }
}

/// <summary>Multiclass prediction, with a score per class (kept as the model's array; written as an object keyed by class).</summary>
public sealed record MulticlassPrediction(string PredictedLabel, IReadOnlyList<string> Classes, float[] ClassScores) : Prediction
{
    public override string? Label => PredictedLabel;

    public override double Score => double.NaN;

    public IReadOnlyDictionary<string, double> Scores =>
        Classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => (double)ClassScores[x.i], StringComparer.Ordinal);

    public override void WriteFields(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteString("label", PredictedLabel);
        writer.WriteStartObject("scores");
        for (var i = 0; i < Classes.Count && i < ClassScores.Length; i++)
        {
            WriteNumber(writer, Classes[i], ClassScores[i]);
        }

        writer.WriteEndObject();
    }
}

/// <summary>
/// The predict response of the HTTP contract: which version answered, and one entry per row with its id. It is
/// serialized once (<see cref="Utf8"/>): the HTTP result sends those bytes, and capture copies each row's output fields
/// from them (<see cref="OutputFields"/>) instead of formatting every score a second time.
/// </summary>
public sealed record PredictResponse(string Model, string Version, string Slot, IReadOnlyList<string> Ids, IReadOnlyList<Prediction> Predictions)
{
    /// <summary>The writer settings of <see cref="Json.Options"/> (relaxed escaping), for hand-written JSON.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private ArrayBufferWriter<byte>? utf8;
    private int[]? fields; // per row, where its output fields start and end in utf8

    /// <summary>The response as UTF-8 JSON, written on first use.</summary>
    public ReadOnlyMemory<byte> Utf8 => Serialized().WrittenMemory;

    /// <summary>A row's output fields as they are in <see cref="Utf8"/>, e.g. <c>"label":"a","scores":{...}</c>.</summary>
    public ReadOnlySpan<byte> OutputFields(int row)
    {
        var json = Serialized().WrittenSpan;
        return json[fields![2 * row]..fields[(2 * row) + 1]];
    }

    public void WriteTo(Utf8JsonWriter writer) => WriteTo(writer, []);

    private ArrayBufferWriter<byte> Serialized()
    {
        if (utf8 is null)
        {
            var buffer = new ArrayBufferWriter<byte>(256 + (128 * Predictions.Count));
            var ranges = new int[2 * Predictions.Count];
            using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            {
                WriteTo(writer, ranges);
            }

            (utf8, fields) = (buffer, ranges);
        }

        return utf8;
    }

    private void WriteTo(Utf8JsonWriter writer, Span<int> ranges)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("model", Model);
        writer.WriteString("version", Version);
        writer.WriteString("slot", Slot);
        writer.WriteStartArray("predictions");
        for (var i = 0; i < Predictions.Count; i++)
        {
            writer.WriteStartObject();
            writer.WriteString("id", Ids[i]);
            writer.WriteString("version", Version);
            if (!ranges.IsEmpty)
            {
                ranges[2 * i] = (int)(writer.BytesCommitted + writer.BytesPending) + 1; // past the comma before the first field
            }

            Predictions[i].WriteFields(writer);
            if (!ranges.IsEmpty)
            {
                ranges[(2 * i) + 1] = (int)(writer.BytesCommitted + writer.BytesPending);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
