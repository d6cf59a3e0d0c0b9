using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MlopsFunctions.Tests.Infrastructure;

/// <summary>
/// The ARM template scripts/bicep-check.sh compiles from infra/main.bicep, with an evaluator of the few template
/// functions it uses, so infra tests assert on what Azure receives rather than on Bicep source text.
/// </summary>
public sealed class ArmTemplate
{
    private ArmTemplate(JsonElement root) => Main = new ArmScope(root, name => new Opaque($"parameters('{name}')"), null);

    public static string CompiledPath { get; } = Path.Combine(RepoPaths.Root, "infra", "bin", "main.json");

    /// <summary>The main template's scope: its parameters stay opaque (they are only known at deployment).</summary>
    public ArmScope Main { get; }

    public static ArmTemplate Load()
    {
        if (!File.Exists(CompiledPath))
        {
            throw new InvalidOperationException($"{CompiledPath} is missing: run scripts/bicep-check.sh (scripts/test.sh does) to compile infra/main.bicep.");
        }

        var stale = Directory.GetFiles(Path.Combine(RepoPaths.Root, "infra"), "*.bicep", SearchOption.AllDirectories)
            .Where(f => File.GetLastWriteTimeUtc(f) > File.GetLastWriteTimeUtc(CompiledPath)).ToList();
        if (stale.Count > 0)
        {
            throw new InvalidOperationException($"{CompiledPath} is older than {string.Join(", ", stale)}: run scripts/bicep-check.sh again.");
        }

        using var document = JsonDocument.Parse(File.ReadAllText(CompiledPath));
        return new ArmTemplate(document.RootElement.Clone());
    }
}

/// <summary>A value the evaluator does not compute (a runtime reference, a deployment parameter), kept as its text.</summary>
public sealed record Opaque(string Text)
{
    public override string ToString() => $"<{Text}>";
}

/// <summary>Evaluation scope of one template (the main one or a module's nested template), optionally inside a copy loop.</summary>
public sealed class ArmScope(JsonElement template, Func<string, object?> parameter, int? copyIndex)
{
    public JsonElement Template { get; } = template;

    /// <summary>Resources by symbolic name (languageVersion 2.0 templates, which Bicep emits for user-defined types).</summary>
    public IEnumerable<(string Name, JsonElement Resource)> Resources =>
        Template.GetProperty("resources").EnumerateObject().Select(r => (r.Name, r.Value));

    public JsonElement Resource(string symbolicName) => Template.GetProperty("resources").GetProperty(symbolicName);

    /// <summary>The nested template of a module deployment, its parameters evaluated in this scope.</summary>
    public ArmScope Module(string symbolicName)
    {
        var properties = Resource(symbolicName).GetProperty("properties");
        var values = properties.GetProperty("parameters");
        return new ArmScope(properties.GetProperty("template"), name => values.TryGetProperty(name, out var p) ? Eval(p.GetProperty("value")) : Default(name), null);

        object? Default(string name) =>
            properties.GetProperty("template").GetProperty("parameters").GetProperty(name).TryGetProperty("defaultValue", out var d) ? Eval(d) : null;
    }

    /// <summary>Each iteration of a resource (one without a copy loop has one), as a scope with its copyIndex().</summary>
    public IEnumerable<ArmScope> Iterations(JsonElement resource) =>
        resource.TryGetProperty("copy", out var copy)
            ? Enumerable.Range(0, Convert.ToInt32(Eval(copy.GetProperty("count")), CultureInfo.InvariantCulture)).Select(i => new ArmScope(Template, parameter, i))
            : [this];

    /// <summary>A JSON value of the template: strings in [brackets] are expressions, objects and arrays are evaluated deeply.</summary>
    public object? Eval(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String when value.GetString()! is ['[', .., ']'] s && !s.StartsWith("[[", StringComparison.Ordinal) => Eval(s[1..^1]),
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Object => value.EnumerateObject().ToDictionary(p => p.Name, p => Eval(p.Value), StringComparer.Ordinal),
        JsonValueKind.Array => value.EnumerateArray().Select(Eval).ToList(),
        _ => null,
    };

    public object? Eval(string expression)
    {
        var parser = new Parser(expression, this);
        var result = parser.Expression();
        parser.End();
        return result;
    }

    public static string Text(object? value) => value switch
    {
        string s => s,
        double d => d.ToString(CultureInfo.InvariantCulture),
        int i => i.ToString(CultureInfo.InvariantCulture),
        _ => value?.ToString() ?? string.Empty,
    };

    private object? Call(string function, List<object?> args, string text) => function.ToUpperInvariant() switch
    {
        "VARIABLES" => Eval(Template.GetProperty("variables").GetProperty(Text(args[0]))),
        "PARAMETERS" => parameter(Text(args[0])),
        "COPYINDEX" => copyIndex ?? throw new InvalidOperationException("copyIndex() outside a copy loop"),
        "LENGTH" => args[0] switch { ICollection<object?> list => list.Count, IDictionary<string, object?> map => map.Count, string s => s.Length, _ => new Opaque(text) },
        "FORMAT" => string.Format(CultureInfo.InvariantCulture, Text(args[0]), args.Skip(1).Select(Text).ToArray()),
        "STRING" => Text(args[0]),
        "UNION" => args.All(a => a is IDictionary<string, object?>)
            ? args.Cast<IDictionary<string, object?>>().SelectMany(a => a).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal)
            : new Opaque(text),
        "CREATEOBJECT" => Enumerable.Range(0, args.Count / 2).ToDictionary(i => Text(args[2 * i]), i => args[(2 * i) + 1], StringComparer.Ordinal),
        // A canonical id: type segments interleaved with names, e.g. storageAccounts/st1/blobServices/default/containers/models.
        "RESOURCEID" => string.Join('/', Text(args[0]).Split('/').Skip(1).Zip(args.Skip(1).Select(Text), (type, name) => $"{type}/{name}")),
        "SUBSCRIPTIONRESOURCEID" => Text(args[^1]),
        _ => new Opaque(text),
    };

    /// <summary>Recursive descent over ARM expression syntax: literals, calls, .property and [index].</summary>
    private sealed class Parser(string text, ArmScope scope)
    {
        private int position;

        public object? Expression()
        {
            var start = Skip();
            object? value;
            if (text[position] == '\'')
            {
                value = StringLiteral();
            }
            else if (char.IsDigit(text[position]) || text[position] == '-')
            {
                var end = position + 1;
                while (end < text.Length && char.IsDigit(text[end]))
                {
                    end++;
                }

                value = int.Parse(text[position..end], CultureInfo.InvariantCulture);
                position = end;
            }
            else
            {
                var name = Identifier();
                Expect('(');
                var args = new List<object?>();
                if (Skip() < text.Length && text[position] != ')')
                {
                    do
                    {
                        args.Add(Expression());
                    }
                    while (Accept(','));
                }

                Expect(')');
                value = scope.Call(name, args, text[start..position]);
            }

            while (Skip() < text.Length && text[position] is '.' or '[')
            {
                if (Accept('.'))
                {
                    var property = Identifier();
                    value = value is IDictionary<string, object?> map ? map[property] : new Opaque($"{Describe(value)}.{property}");
                }
                else
                {
                    Expect('[');
                    var index = Expression();
                    Expect(']');
                    value = value switch
                    {
                        IList<object?> list when index is int i => list[i],
                        IDictionary<string, object?> map => map[Text(index)],
                        _ => new Opaque($"{Describe(value)}[{Text(index)}]"),
                    };
                }
            }

            return value;
        }

        public void End()
        {
            if (Skip() != text.Length)
            {
                throw new FormatException($"Unexpected '{text[position..]}' in [{text}]");
            }
        }

        private static string Describe(object? value) => value is Opaque o ? o.Text : Text(value);

        private string StringLiteral()
        {
            var builder = new StringBuilder();
            position++;
            while (true)
            {
                if (text[position] == '\'' && position + 1 < text.Length && text[position + 1] == '\'')
                {
                    builder.Append('\'');
                    position += 2;
                }
                else if (text[position] == '\'')
                {
                    position++;
                    return builder.ToString();
                }
                else
                {
                    builder.Append(text[position++]);
                }
            }
        }

        private string Identifier()
        {
            var start = Skip();
            while (position < text.Length && (char.IsLetterOrDigit(text[position]) || text[position] == '_'))
            {
                position++;
            }

            return position > start ? text[start..position] : throw new FormatException($"Expected a name at {start} in [{text}]");
        }

        private int Skip()
        {
            while (position < text.Length && char.IsWhiteSpace(text[position]))
            {
                position++;
            }

            return position;
        }

        private bool Accept(char c)
        {
            if (Skip() < text.Length && text[position] == c)
            {
                position++;
                return true;
            }

            return false;
        }

        private void Expect(char c)
        {
            if (!Accept(c))
            {
                throw new FormatException($"Expected '{c}' at {position} in [{text}]");
            }
        }
    }
}
