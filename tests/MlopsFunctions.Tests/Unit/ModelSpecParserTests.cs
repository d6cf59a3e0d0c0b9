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
    [InlineData("""{"task":"regression","label":"y","gates":{"min":1}}""", "Unknown gate 'min'")]
    [InlineData("""{"task":"regression","label":3}""", "wrong type")]
    [InlineData("""[1,2]""", "must be a JSON object")]
    [InlineData("""{"task":""", "not valid JSON")]
    public void A_bad_spec_is_refused_with_the_reason(string json, string expected)
    {
        var result = ModelSpecParser.Parse(json);

        Assert.Null(result.Spec);
        Assert.Contains(result.Errors, e => e.Contains(expected, StringComparison.Ordinal));
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
