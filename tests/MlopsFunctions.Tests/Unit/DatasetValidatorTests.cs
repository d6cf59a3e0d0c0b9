using System.Globalization;
using MlopsFunctions.Core.Data;
using MlopsFunctions.Core.Registry;
using MlopsFunctions.Tests.Infrastructure;

namespace MlopsFunctions.Tests.Unit;

/// <summary>The streaming validator: every tricky file's exact anomaly and severity, schema inference and evolution, drift, constraints.</summary>
public sealed class DatasetValidatorTests
{
    private static readonly ModelSpec Iris = new() { Task = "multiclass", Label = "species" };
    private static readonly ModelSpec Tricky = ModelSpecParser.Parse(TrickyFiles.Spec).Spec!;

    /// <summary>Production v1 of the tricky model: iris's schema and profile, which later files are checked against.</summary>
    private static readonly (DatasetSchema Schema, DataProfile Profile) Production = Baseline(LocalHostFixture.ReadSample("iris"), Iris);

    private static (ValidationReport Report, DataProfile? Profile) Validate(
        byte[] content, ModelSpec spec, string source = "incoming/m/data.csv", DatasetSchema? reference = null, DataProfile? profile = null, CsvLimits? limits = null) =>
        DatasetValidator.Validate(new MemoryStream(content), new ValidationContext
        {
            Model = "m",
            Source = source,
            Spec = spec,
            Limits = limits ?? TrickyFiles.Limits,
            Reference = reference,
            ReferenceProfile = profile,
            ReferenceVersion = reference is null ? null : 1,
        });

    private static ValidationReport Validate(string content, ModelSpec spec) => Validate(TrickyFiles.Text(content), spec).Report;

    private static (DatasetSchema, DataProfile) Baseline(string csv, ModelSpec spec)
    {
        var (report, profile) = Validate(TrickyFiles.Text(csv), spec);
        Assert.True(report.Accepted, string.Join("; ", report.Errors));
        return (report.Schema!, profile!);
    }

    public static TheoryData<TrickyFile> RejectedFiles() => new(TrickyFiles.Rejected);

    public static TheoryData<TrickyFile> AcceptedFiles() => new(TrickyFiles.Accepted);

    [Theory]
    [MemberData(nameof(RejectedFiles))]
    public void Each_bad_file_is_rejected_with_its_exact_anomaly(TrickyFile file)
    {
        var (report, _) = Validate(file.Content, Tricky, $"incoming/tricky/{file.Name}", Production.Schema, Production.Profile);

        Assert.False(report.Accepted);
        var anomaly = Assert.Single(report.Anomalies, a => a.Code == file.Code);
        Assert.Equal(Severity.Error, anomaly.Severity);
        Assert.Equal(file.Column, anomaly.Column);
        Assert.True(anomaly.Count >= 1);
        Assert.All(report.Anomalies, a => Assert.True((a.Examples?.Count ?? 0) <= 5, a.Code));
        Assert.False(string.IsNullOrWhiteSpace(anomaly.Message));
    }

    [Theory]
    [MemberData(nameof(AcceptedFiles))]
    public void Odd_but_valid_files_read_exactly_like_iris(TrickyFile file)
    {
        var (report, profile) = Validate(file.Content, Tricky, $"incoming/tricky/{file.Name}", Production.Schema, Production.Profile);

        Assert.True(report.Accepted, string.Join("; ", report.Errors));
        Assert.DoesNotContain(report.Anomalies, a => a.Severity == Severity.Error);
        Assert.Equal(150, report.UsableRows);
        Assert.Equal(["sepal_length", "sepal_width", "petal_length", "petal_width"], report.Schema!.Features);
        Assert.Equal(["setosa", "versicolor", "virginica"], report.Schema.LabelValues);
        Assert.Equal(Production.Profile.Find("sepal_width")!.Mean, profile!.Find("sepal_width")!.Mean);
    }

    [Fact]
    public void Problems_are_counted_and_shown_by_a_few_examples_with_their_lines()
    {
        var rows = string.Join('\n', Enumerable.Range(0, 5000).Select(i => $"{(i % 50 == 0 ? "oops" : "1")},{i % 7}"));
        var report = Validate("x,y\n" + rows, new ModelSpec { Task = "regression", Label = "y" });

        var anomaly = Assert.Single(report.Anomalies, a => a.Code == AnomalyCodes.TypeMismatch);
        Assert.Equal(100, anomaly.Count);
        Assert.Equal(5, anomaly.Examples!.Count);
        Assert.Equal(new CellExample(2, "oops"), anomaly.Examples[0]);
    }

    [Fact]
    public void A_quoted_field_with_commas_and_newlines_is_one_cell()
    {
        var csv = "Name,Note,y\n" + string.Join('\n', Enumerable.Range(0, 30).Select(i => $"n{i % 3},\"a, b\nline {i % 2}\",{i}"));

        var (report, profile) = Validate(TrickyFiles.Text(csv), new ModelSpec { Task = "regression", Label = "y" });

        Assert.True(report.Accepted, string.Join("; ", report.Errors));
        Assert.Equal(30, report.Rows);
        Assert.Equal(["a, b\nline 0", "a, b\nline 1"], profile!.Find("Note")!.TopCategories!.Select(c => c.Value).Order());
    }

    [Fact]
    public void Penguins_reads_spaced_names_missing_tokens_and_categories()
    {
        var spec = new ModelSpec { Task = "multiclass", Label = "Species", Categorical = ["Island", "Sex"] };

        var (report, profile) = Validate(TrickyFiles.Text(LocalHostFixture.ReadSample("penguins")), spec);

        Assert.True(report.Accepted, string.Join("; ", report.Errors));
        var schema = report.Schema!;
        Assert.Equal(ColumnKind.Numeric, schema.Find("Beak Length (mm)")!.Kind);
        Assert.True(schema.Find("Beak Length (mm)")!.Nullable);
        var sex = schema.Find("Sex")!;
        Assert.Equal(ColumnKind.Categorical, sex.Kind);
        Assert.Equal(["FEMALE", "MALE"], sex.Domain!.Order(StringComparer.Ordinal));
        Assert.Equal(11, profile!.Find("Sex")!.Missing); // 10 empty and one "."
    }

    [Fact]
    public void Cars_reads_dates_as_dates_and_ignores_the_name_identifier()
    {
        var spec = new ModelSpec { Task = "regression", Label = "Miles_per_Gallon" };

        var (report, profile) = Validate(TrickyFiles.Text(LocalHostFixture.ReadSample("cars")), spec);

        Assert.True(report.Accepted, string.Join("; ", report.Errors));
        Assert.Equal(ColumnKind.Date, report.Schema!.Find("Year")!.Kind);
        Assert.Equal(ColumnKind.Categorical, report.Schema.Find("Origin")!.Kind);
        Assert.Contains(report.Schema.Ignored, i => i.Name == "Name" && i.Reason.StartsWith("identifier-like", StringComparison.Ordinal));
        Assert.Contains(report.Anomalies, a => a is { Code: AnomalyCodes.IdentifierColumn, Severity: Severity.Warning, Column: "Name" });
        var unlabelled = Assert.Single(report.Anomalies, a => a.Code == AnomalyCodes.UnlabelledRows);
        Assert.Equal((Severity.Warning, 8L), (unlabelled.Severity, unlabelled.Count));
        Assert.Equal(398, report.UsableRows);
        Assert.Equal(6, profile!.Find("Horsepower")!.Missing);
    }

    [Fact]
    public void An_increasing_integer_column_is_an_identifier_unless_the_spec_lists_it()
    {
        var csv = "row_id,x,y\n" + string.Join('\n', Enumerable.Range(1, 40).Select(i => $"{i},{i % 5},{i % 2}"));

        var inferred = Validate(csv, new ModelSpec { Task = "binary", Label = "y" });
        var listed = Validate(csv, new ModelSpec { Task = "binary", Label = "y", Features = ["row_id", "x"] });

        Assert.Equal(["x"], inferred.Schema!.Features);
        Assert.Equal(["row_id", "x"], listed.Schema!.Features);
    }

    [Fact]
    public void A_later_file_missing_a_feature_is_rejected_and_one_with_a_few_new_categories_trains_with_a_warning()
    {
        var spec = new ModelSpec { Task = "multiclass", Label = "Species", Categorical = ["Island", "Sex"] };
        var penguins = LocalHostFixture.ReadSample("penguins").ReplaceLineEndings("\n");
        var (schema, profile) = Baseline(penguins, spec);
        var lines = penguins.TrimEnd('\n').Split('\n');
        var withoutMass = string.Join('\n', lines.Select(l => string.Join(',', l.Split(',').Where((_, i) => i != 5))));
        var newIsland = lines[0] + "\n" + string.Join('\n', lines.Skip(1).Select((l, i) => i == 7 ? l.Replace("Torgersen", "Anvers", StringComparison.Ordinal) : l));

        var missing = Validate(TrickyFiles.Text(withoutMass), spec, reference: schema, profile: profile).Report;
        var island = Validate(TrickyFiles.Text(newIsland), spec, reference: schema, profile: profile).Report;

        var error = Assert.Single(missing.Anomalies, a => a.Code == AnomalyCodes.MissingColumn);
        Assert.Equal((Severity.Error, "Body Mass (g)"), (error.Severity, error.Column));
        Assert.True(island.Accepted, string.Join("; ", island.Errors));
        var warning = Assert.Single(island.Anomalies, a => a.Code == AnomalyCodes.NewCategories);
        Assert.Equal((Severity.Warning, "Island", 1L), (warning.Severity, warning.Column, warning.Count));
        Assert.Contains("'Anvers'", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void New_categories_over_the_tolerance_are_an_error()
    {
        var spec = new ModelSpec { Task = "multiclass", Label = "Species", Categorical = ["Island", "Sex"], Validation = new ValidationSpec { MaxNewCategoryFraction = 0.01 } };
        var penguins = LocalHostFixture.ReadSample("penguins").ReplaceLineEndings("\n");
        var (schema, _) = Baseline(penguins, spec);

        var report = Validate(penguins.Replace("Torgersen", "Anvers", StringComparison.Ordinal), spec);
        var checkedAgainst = Validate(TrickyFiles.Text(penguins.Replace("Torgersen", "Anvers", StringComparison.Ordinal)), spec, reference: schema).Report;

        Assert.True(report.Accepted);
        Assert.Contains(checkedAgainst.Anomalies, a => a is { Code: AnomalyCodes.NewCategories, Severity: Severity.Error, Column: "Island" });
    }

    [Fact]
    public void The_same_data_drifts_by_nothing_and_a_two_sigma_shift_is_flagged_on_its_column_only()
    {
        var flights = Flights(5000, shift: null);
        var spec = new ModelSpec { Task = "regression", Label = "delay" };
        var (schema, profile) = Baseline(flights, spec);

        var same = Validate(TrickyFiles.Text(flights), spec, reference: schema, profile: profile).Report;
        var distance = profile.Find("distance")!;
        var shifted = Validate(TrickyFiles.Text(Flights(5000, shift: 2 * distance.Std!.Value)), spec, reference: schema, profile: profile).Report;

        Assert.All(same.Drift!, d => Assert.InRange(d.Psi, 0, 0.01));
        Assert.Equal(["delay", "distance", "time"], same.Drift!.Select(d => d.Column).Order());
        Assert.Equal(["distance"], shifted.Drift!.Where(d => d.Level != "ok").Select(d => d.Column));
        Assert.True(shifted.Drift!.Single(d => d.Column == "distance").Psi > 0.5);
        Assert.Contains(shifted.Anomalies, a => a is { Code: AnomalyCodes.Drift, Severity: Severity.Warning, Column: "distance" });
        Assert.True(shifted.Accepted);
    }

    [Fact]
    public void The_profile_has_quantiles_a_histogram_top_categories_and_a_baseline()
    {
        var (_, profile) = Validate(TrickyFiles.Text(LocalHostFixture.ReadSample("iris")), Iris);

        var petal = profile!.Find("petal_length")!;
        Assert.Equal(("feature", "numeric", 150L, 0L), (petal.Role, petal.Kind, petal.Count, petal.Missing));
        Assert.Equal((1.0, 6.9), (petal.Min!.Value, petal.Max!.Value));
        Assert.Equal(4.35, petal.Quantiles!["p50"], 3);
        Assert.False(petal.QuantilesSampled);
        Assert.Equal(150, petal.Histogram!.Counts.Sum());
        Assert.Equal(petal.Histogram.Counts.Count + 1, petal.Histogram.Edges.Count);
        Assert.True(petal.Histogram.Edges[0] <= 1.0 && petal.Histogram.Edges[^1] > 6.9);
        Assert.Equal(1.0, petal.Baseline!.Fractions.Sum(), 6);
        var species = profile.Find("species")!;
        Assert.Equal(["setosa", "versicolor", "virginica"], species.TopCategories!.Select(c => c.Value));
        Assert.All(species.TopCategories!, c => Assert.Equal(50, c.Count));
    }

    [Fact]
    public void A_large_column_is_profiled_from_a_bounded_sample_and_exact_counts()
    {
        var flights = Flights(50_000, shift: null);

        var (report, profile) = Validate(TrickyFiles.Text(flights), new ModelSpec { Task = "regression", Label = "delay" }, limits: TrickyFiles.Limits with { MaxFileBytes = 1L << 30 });

        var distance = profile!.Find("distance")!;
        Assert.True(report.Accepted);
        Assert.True(distance.QuantilesSampled);
        Assert.Equal(50_000, distance.Histogram!.Counts.Sum());
        Assert.True(distance.DistinctEstimated);
    }

    [Fact]
    public void The_content_hash_is_the_files_sha256()
    {
        var bytes = TrickyFiles.Text(LocalHostFixture.ReadSample("iris"));

        var report = Validate(bytes, Iris).Report;

        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), report.Sha256);
        Assert.Equal(bytes.Length, report.Bytes);
    }

    [Fact]
    public void A_missing_label_column_is_named_with_the_columns_there_are()
    {
        var report = Validate("a,b\n1,2\n", new ModelSpec { Task = "regression", Label = "y" });

        Assert.Contains("a, b", Assert.Single(report.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Binary_labels_keep_the_users_values_with_the_rare_class_positive()
    {
        var report = Validate(LocalHostFixture.ReadSample("breast-cancer"), new ModelSpec { Task = "binary", Label = "diagnosis" });

        Assert.Equal(("malignant", "benign"), (report.Schema!.PositiveLabel, report.Schema.NegativeLabel));
    }

    /// <summary>Real flights rows from the committed sample, optionally with distance shifted.</summary>
    internal static string Flights(int rows, double? shift)
    {
        var lines = File.ReadLines(RepoPaths.FlightsSample).Skip(1).Take(rows).ToList();
        var text = new System.Text.StringBuilder("delay,distance,time\n");
        foreach (var line in lines)
        {
            var cells = line.Split(',');
            if (shift is { } by)
            {
                cells[1] = (double.Parse(cells[1], CultureInfo.InvariantCulture) + by).ToString(CultureInfo.InvariantCulture);
            }

            text.Append(string.Join(',', cells)).Append('\n');
        }

        return text.ToString();
    }
}
