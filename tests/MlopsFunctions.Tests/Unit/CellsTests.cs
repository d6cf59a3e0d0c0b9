using System.Globalization;
using MlopsFunctions.Core.Data;

namespace MlopsFunctions.Tests.Unit;

/// <summary>How cells read: the fast decimal path gives exactly what double.Parse gives, and missing tokens are missing.</summary>
public sealed class CellsTests
{
    [Theory]
    [InlineData("0"), InlineData("-0"), InlineData("007"), InlineData("5."), InlineData(".5"), InlineData("-.25"), InlineData("+3.14")]
    [InlineData("123456789012345"), InlineData("1234567890123456"), InlineData("0.1"), InlineData("2.675"), InlineData("9007199254740993")]
    [InlineData("1e3"), InlineData("-2.5E-3"), InlineData("  42  "), InlineData("0.0000000000000000000001"), InlineData("0.00000000000000000000001")]
    public void Numbers_read_exactly_as_double_parse_reads_them(string text)
    {
        Assert.True(Cells.TryNumber(text, out var value));
        Assert.Equal(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture), value);
        Assert.Equal(double.IsNegative(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture)), double.IsNegative(value));
    }

    [Fact]
    public void A_hundred_thousand_random_decimals_read_bit_for_bit_like_double_parse()
    {
        var random = new Random(1);
        for (var i = 0; i < 100_000; i++)
        {
            var digits = random.Next(1, 17);
            var text = new string([.. Enumerable.Range(0, digits).Select(_ => (char)('0' + random.Next(10)))]);
            text = random.Next(3) switch
            {
                0 => text,
                1 => text.Insert(random.Next(text.Length + 1), "."),
                _ => "-" + text.Insert(random.Next(text.Length + 1), "."),
            };

            Assert.True(Cells.TryNumber(text, out var value), text);
            Assert.Equal(BitConverter.DoubleToInt64Bits(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture)), BitConverter.DoubleToInt64Bits(value));
        }
    }

    [Theory]
    [InlineData("."), InlineData("-"), InlineData("1.2.3"), InlineData("1,234"), InlineData("12a"), InlineData("NaN"), InlineData("Infinity"), InlineData("")]
    public void Non_numbers_and_non_finite_values_are_not_numbers(string text) => Assert.False(Cells.TryNumber(text, out _));

    [Theory]
    [InlineData(""), InlineData("NA"), InlineData("n/a"), InlineData("NaN"), InlineData("null"), InlineData("?"), InlineData("."), InlineData("  NA ")]
    public void Missing_tokens_are_missing(string text) => Assert.True(Cells.IsMissing(text));

    [Theory]
    [InlineData("0"), InlineData("none"), InlineData("-"), InlineData("N")]
    public void Other_values_are_present(string text) => Assert.False(Cells.IsMissing(text));
}
