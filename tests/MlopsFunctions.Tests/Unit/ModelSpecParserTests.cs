using MlopsFunctions.Core.Registry;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.Unit;

public sealed class ModelSpecParserTests
{
    public static TheoryData<string> Samples() => new(Directory.GetFiles(Path.Combine(RepoPaths.Root, "samples"), "*.json").Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(Samples))]
    public void Every_sample_spec_is_valid(string file)
    {
        var result = ModelSpecParser.Parse(File.ReadAllText(RepoPaths.Sample(file)));

        Assert.Empty(result.Errors);
        Assert.NotNull(result.Spec);
    }

    [Theory]
    [InlineData("""{"label":"y"}""", "'task' is required")]
    [InlineData("""{"task":"clustering","label":"y"}""", "Unknown task 'clustering'")]
    [InlineData("""{"task":"binary"}""", "'label' is required")]
    [InlineData("""{"task":"binary","label":"y","lable":"z"}""", "Unknown field 'lable'")]
    [InlineData("""{"task":"binary","label":"y","features":["y"]}""", "cannot also be a feature")]
    [InlineData("""{"task":"binary","label":"y","features":[]}""", "'features' is empty")]
    [InlineData("""{"task":"regression","label":"y","metric":"Accuracy"}""", "Unknown metric 'Accuracy'")]
    [InlineData("""{"task":"regression","label":"y","metric":"MeanAbsoluteError","gates":{"minMetric":1}}""", "set gates.maxMetric")]
    [InlineData("""{"task":"regression","label":"y","gates":{"minImprovement":-1}}""", "cannot be negative")]
    [InlineData("""{"task":"regression","label":"y","promotion":"later"}""", "Unknown promotion 'later'")]
    [InlineData("""{"task":"regression","label":"y","retrainSchedule":"0 3 * * *"}""", "6-field NCRONTAB")]
    [InlineData("""{"task":"regression","label":"y","gates":{"min":1}}""", "Unknown field in 'gates' 'min'")]
    [InlineData("""{"task":"regression","label":3}""", "wrong type")]
    [InlineData("""{"task":"regression","label":"y","validation":{"maxMissingFraction":1.5}}""", "validation.maxMissingFraction must be between 0 and 1")]
    [InlineData("""{"task":"regression","label":"y","validation":{"columns":{"x":{"min":5,"max":1}}}}""", "min 5 is greater than max 1")]
    [InlineData("""{"task":"regression","label":"y","validation":{"columns":{"x":{"minimum":5}}}}""", "Unknown field in 'validation.columns.x' 'minimum'")]
    [InlineData("""{"task":"regression","label":"y","validation":{"drift":{"psiWarning":0.3,"psiError":0.1}}}""", "psiError 0.1 is below psiWarning 0.3")]
    [InlineData("""{"task":"regression","label":"y","trainers":["LightGbm","Magic"]}""", "Unknown trainer 'Magic' for task regression")]
    [InlineData("""{"task":"binary","label":"y","trainers":["Sdca"]}""", "Unknown trainer 'Sdca' for task binary")]
    [InlineData("""{"task":"regression","label":"y","trainOn":"everything"}""", "trainOn must be")]
    [InlineData("""{"task":"regression","label":"y","trainOn":{"days":0}}""", "one positive whole number")]
    [InlineData("""{"task":"regression","label":"y","retention":{"days":0}}""", "retention.days must be at least 1")]
    [InlineData("""{"task":"regression","label":"y","onIncomparable":"maybe"}""", "Unknown onIncomparable 'maybe'")]
    [InlineData("""{"task":"regression","label":"y","gates":{"confidence":1.2}}""", "gates.confidence must be at least 0.5")]
    [InlineData("""{"task":"regression","label":"y","monitoring":{"captureRate":2}}""", "monitoring.captureRate must be between 0 and 1")]
    [InlineData("""{"task":"regression","label":"y","monitoring":{"decay":{"metric":"Accuracy","min":0.5}}}""", "Unknown monitoring.decay.metric 'Accuracy'")]
    [InlineData("""{"task":"regression","label":"y","monitoring":{"decay":{"window":100}}}""", "monitoring.decay.min is required")]
    [InlineData("""{"task":"regression","label":"y","monitoring":{"schedule":"* * *"}}""", "monitoring.schedule '* * *' is not a 6-field NCRONTAB")]
    [InlineData("""{"task":"regression","label":"y","canary":{"percent":150}}""", "canary.percent must be between 0 and 100")]
    [InlineData("""[1,2]""", "must be a JSON object")]
    [InlineData("""{"task":""", "not valid JSON")]
    public void A_bad_spec_is_refused_with_the_reason(string json, string expected)
    {
        var result = ModelSpecParser.Parse(json);

        Assert.Null(result.Spec);
        Assert.Contains(result.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Every_optional_field_of_the_design_is_accepted_and_kept()
    {
        const string json = """
            {"task":"multiclass","label":"species","trainers":["LightGbm","SdcaMaximumEntropy"],"trainOn":{"days":30},
             "retention":{"days":365},"onIncomparable":"reject","shadow":true,"canary":{"percent":10},
             "gates":{"minMetric":0.8,"minImprovement":0.01,"confidence":0.95},
             "validation":{"minRows":50,"maxMissingFraction":0.3,"minRowsPerClass":5,"maxNewCategoryFraction":0.05,"maxCategories":100,
                           "allowNewClasses":false,"columns":{"petal_width":{"min":0,"max":10,"maxMissingFraction":0.1}},
                           "drift":{"psiWarning":0.1,"psiError":0.5}},
             "monitoring":{"captureRate":0.5,"psiThreshold":0.2,"schedule":"0 */15 * * * *",
                           "decay":{"metric":"MacroAccuracy","min":0.8,"window":500,"minLabelled":100}}}
            """;

        var result = ModelSpecParser.Parse(json);

        Assert.Empty(result.Errors);
        var spec = result.Spec!;
        Assert.Equal(new TrainingWindow("days", 30), spec.TrainOn);
        Assert.Equal(10, spec.Validation!.Columns!["petal_width"].Max);
        Assert.Equal(0.95, spec.Gates!.Confidence);
        Assert.Equal(100, spec.Monitoring!.Decay!.MinLabelled);
        var roundTrip = Core.Json.Deserialize<ModelSpec>(Core.Json.Serialize(spec));
        Assert.Equal(Core.Json.Serialize(spec), Core.Json.Serialize(roundTrip));
        Assert.Contains("\"trainOn\":{\"days\":30}", Core.Json.Serialize(spec), StringComparison.Ordinal);
    }

    [Fact]
    public void A_new_spec_trains_on_all_data_and_a_stored_spec_without_a_window_on_the_latest_file()
    {
        var parsed = ModelSpecParser.Parse("""{"task":"regression","label":"y"}""").Spec!;
        var stored = Core.Json.Deserialize<ModelSpec>("""{"task":"regression","label":"y"}""");

        Assert.Equal(TrainingWindow.All, parsed.Window);
        Assert.Equal(TrainingWindow.Latest, stored.Window);
        Assert.Equal(TrainingWindow.Latest, ModelSpecParser.Parse("""{"task":"regression","label":"y","trainOn":"latest"}""").Spec!.Window);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var result = ModelSpecParser.Parse("""{"task":"foo","promotion":"x"}""");

        Assert.Equal(3, result.Errors.Count);
    }

    [Theory]
    [InlineData("iris", true)]
    [InlineData("breast-cancer", true)]
    [InlineData("a", true)]
    [InlineData("Iris", false)]
    [InlineData("1iris", false)]
    [InlineData("iris_v2", false)]
    [InlineData("a/b", false)]
    [InlineData("..", false)]
    [InlineData("", false)]
    public void Model_names_follow_the_storage_contract(string name, bool valid)
    {
        Assert.Equal(valid, ModelName.IsValid(name));
        Assert.False(ModelName.IsValid(new string('a', 64)));
    }
}
