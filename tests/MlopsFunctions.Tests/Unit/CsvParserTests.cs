using MlopsFunctions.Core.Data;

namespace MlopsFunctions.Tests.Unit;

public sealed class CsvParserTests
{
    [Fact]
    public void Quoted_fields_keep_commas_quotes_and_newlines()
    {
        var table = CsvParser.Parse("\uFEFFname,note\r\n\"a, b\",\"say \"\"hi\"\"\"\n\"multi\nline\",x\n");

        Assert.Equal(["name", "note"], table.Columns);
        Assert.Equal(2, table.Rows.Count);
        Assert.Equal("a, b", table.Rows[0][0]);
        Assert.Equal("say \"hi\"", table.Rows[0][1]);
        Assert.Equal("multi\nline", table.Rows[1][0]);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("a,b\n1,2,3\n", "Line 2 has 3 fields but the header has 2")]
    [InlineData("a,a\n1,2\n", "more than once")]
    [InlineData("a,\"b\n1,2\n", "never closed")]
    [InlineData("a,b\n1,x\"y\n", "quote inside an unquoted field")]
    public void Malformed_csv_says_where(string text, string expected)
    {
        var ex = Assert.Throws<CsvFormatException>(() => CsvParser.Parse(text));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Header_only_file_has_no_rows()
    {
        Assert.Empty(CsvParser.Parse("a,b\n").Rows);
    }
}
