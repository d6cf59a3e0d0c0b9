using System.Globalization;
using System.Text;
using MlopsFunctions.Core.Registry;

namespace MlopsFunctions.Core.Data;

/// <summary>
/// A small synthetic dataset a spare worker validates and trains on before its job comes (see
/// Hosting.WorkerProcess), with the kinds of columns real files have: numbers, missing values, categories, dates and
/// booleans. It only has to run the same code as a real job; its values mean nothing.
/// </summary>
public static class WarmUpSample
{
    public const int Rows = 2000;

    public static ModelSpec Spec { get; } = ModelSpecParser.Parse("""{"task":"regression","label":"y"}""").Spec!;

    public static CsvLimits Limits { get; } = new(1L << 30, 100, 1 << 16, 1000);

    /// <summary>
    /// The sample's schema as the validator infers it (a test keeps the two equal), so a spare that warms up a trainer
    /// or an evaluator need not compile the validator to learn it.
    /// </summary>
    public static DatasetSchema Schema { get; } = Json.Deserialize<DatasetSchema>("""
        {"task":"regression","label":"y","featurization":2,"columns":[{"name":"x","kind":"numeric","nullable":false},
        {"name":"n","kind":"numeric","nullable":true},{"name":"c","kind":"categorical","nullable":false,
        "domain":["west","south","centre","east","north"],"vocabulary":["centre","east","north","south","west"]},
        {"name":"d","kind":"date","nullable":false},{"name":"b","kind":"boolean","nullable":false}],"ignored":[],
        "numericFeatures":[],"categoricalFeatures":[]}
        """);

    /// <summary>The sample as a validation of a model's first data, or, given a reference, of later data checked against it.</summary>
    public static ValidationContext Context(DatasetSchema? reference = null, DataProfile? profile = null) => new()
    {
        Model = "warm-up",
        Source = "warm-up.csv",
        Spec = Spec,
        Limits = Limits,
        Reference = reference,
        ReferenceProfile = profile,
        ReferenceVersion = reference is null ? null : 1,
    };

    public static byte[] Csv()
    {
        var text = new StringBuilder("x,n,c,d,b,y\n");
        var state = 12345u;
        double Next()
        {
            state = (state * 1103515245) + 12345;
            return (state >> 8) / (double)(1 << 24);
        }

        string[] categories = ["north", "south", "east", "west", "centre"];
        for (var i = 0; i < Rows; i++)
        {
            var x = Next() * 10;
            var n = Next() < 0.05 ? "NA" : Math.Round(Next() * 100).ToString(CultureInfo.InvariantCulture);
            var c = categories[(int)(Next() * categories.Length)];
            var d = new DateOnly(2020, 1, 1).AddDays((int)(Next() * 1500)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            var b = Next() < 0.5 ? "true" : "false";
            var y = (2 * x) + (c.Length * 0.5) + Next();
            text.Append(CultureInfo.InvariantCulture, $"{x:0.###},{n},{c},{d},{b},{y:0.###}\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
