using System.Security.Cryptography;
using System.Text;
using MlopsFunctions.Core.Data;

namespace MlopsFunctions.Tests.Unit;

/// <summary>The streaming CSV reader and its guard: quoting, line endings, limits, encoding checks, truncation and the content hash.</summary>
public sealed class CsvSourceTests
{
    private static readonly CsvLimits Roomy = new(MaxFileBytes: 1024 * 1024, MaxColumns: 50, MaxLineBytes: 16 * 1024, MaxCategories: 100);

    /// <summary>Every record of a file, with the line it starts on; the source is returned for its end-of-file state.</summary>
    private static (List<(long Line, string[] Cells)> Rows, CsvSource Csv) ReadAll(Stream stream, CsvLimits? limits = null)
    {
        var csv = CsvSource.Open(stream, limits ?? Roomy);
        var rows = new List<(long, string[])>();
        while (csv.MoveNext())
        {
            var record = csv.Current;
            var cells = new string[record.ColCount];
            for (var i = 0; i < cells.Length; i++)
            {
                cells[i] = record[i].ToString();
            }

            rows.Add((csv.Line, cells));
        }

        return (rows, csv);
    }

    private static (List<(long Line, string[] Cells)> Rows, CsvSource Csv) ReadAll(byte[] bytes, CsvLimits? limits = null) =>
        ReadAll(new MemoryStream(bytes), limits);

    private static CsvRejectedException Rejected(byte[] bytes, CsvLimits? limits = null, bool oneByteReads = false) =>
        Assert.Throws<CsvRejectedException>(() =>
        {
            var (_, csv) = ReadAll(oneByteReads ? new TrickleStream(bytes) : new MemoryStream(bytes), limits);
            csv.Dispose();
        });

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void A_utf8_bom_is_dropped_from_the_first_column_name()
    {
        var bytes = Encoding.UTF8.GetPreamble().Concat(Utf8("a,b\n1,2\n")).ToArray();

        var (rows, csv) = ReadAll(bytes);
        using var _ = csv;

        Assert.Equal(["a", "b"], csv.Header);
        Assert.Equal(["1", "2"], Assert.Single(rows).Cells);
    }

    [Fact]
    public void Crlf_line_endings_leave_no_carriage_return_in_cells_and_count_lines()
    {
        var (rows, csv) = ReadAll(Utf8("a,b\r\n1,2\r\n3,4\r\n"));
        using var _ = csv;

        Assert.Equal(["a", "b"], csv.Header);
        Assert.Equal([(2L, "1|2"), (3L, "3|4")], rows.Select(r => (r.Line, string.Join('|', r.Cells))));
    }

    [Fact]
    public void Quoted_fields_keep_commas_newlines_and_escaped_quotes_and_the_next_line_is_counted()
    {
        var text = "name,note,y\n" +
                   "x,\"a, b\",1\n" +
                   "y,\"first\nsecond\",2\n" +
                   "z,\"say \"\"hi\"\"\",3\n";

        var (rows, csv) = ReadAll(Utf8(text));
        using var _ = csv;

        Assert.Equal(["a, b", "first\nsecond", "say \"hi\""], rows.Select(r => r.Cells[1]));
        Assert.All(rows, r => Assert.Equal(3, r.Cells.Length));
        Assert.Equal([2L, 3L, 5L], rows.Select(r => r.Line)); // the quoted newline makes the third record start on line 5
        Assert.False(csv.EndsInsideQuotes);
    }

    [Fact]
    public void A_trailing_blank_line_is_a_blank_record_and_a_final_newline_is_not()
    {
        var (plain, a) = ReadAll(Utf8("a,b\n1,2\n"));
        var (blank, b) = ReadAll(Utf8("a,b\n1,2\n\n"));
        a.Dispose();
        b.Dispose();

        Assert.Single(plain);
        Assert.Equal(2, blank.Count);
        Assert.Equal([string.Empty], blank[1].Cells);
    }

    [Fact]
    public void IsBlank_is_true_only_for_an_empty_line()
    {
        using var csv = CsvSource.Open(new MemoryStream(Utf8("a,b\n\n,\n1,2\n")), Roomy);
        var blank = new List<bool>();
        while (csv.MoveNext())
        {
            blank.Add(CsvSource.IsBlank(csv.Current));
        }

        Assert.Equal([true, false, false], blank);
    }

    [Fact]
    public void An_empty_file_is_rejected_as_empty()
    {
        var error = Rejected([]);

        Assert.Equal((AnomalyCodes.EmptyFile, 1L), (error.Code, error.Line));
    }

    [Fact]
    public void A_file_over_the_size_limit_is_rejected_naming_the_setting()
    {
        var rows = string.Join('\n', Enumerable.Range(0, 2000).Select(i => $"{i},{i * 2}"));
        var bytes = Utf8("a,b\n" + rows + "\n");
        var limits = Roomy with { MaxFileBytes = bytes.Length - 1 };

        var error = Rejected(bytes, limits);

        Assert.Equal(AnomalyCodes.FileTooLarge, error.Code);
        Assert.Contains("Mlops__MaxFileMegabytes", error.Message, StringComparison.Ordinal);
        var (all, csv) = ReadAll(bytes, Roomy with { MaxFileBytes = bytes.Length });
        csv.Dispose();
        Assert.Equal(2000, all.Count);
    }

    [Fact]
    public void A_header_wider_than_the_column_limit_is_rejected_on_line_1()
    {
        var header = string.Join(',', Enumerable.Range(0, 51).Select(i => $"c{i}"));

        var error = Rejected(Utf8(header + "\n" + string.Join(',', Enumerable.Repeat("1", 51)) + "\n"));

        Assert.Equal((AnomalyCodes.TooManyColumns, 1L), (error.Code, error.Line));
        Assert.Contains("51 columns", error.Message, StringComparison.Ordinal);
        Assert.Contains("Mlops__MaxColumns", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_line_over_the_length_limit_is_rejected_with_its_line()
    {
        var limits = Roomy with { MaxLineBytes = 100 };
        var text = "a,b\n1,2\n3,4\n5," + new string('x', 101) + "\n7,8\n";

        var error = Rejected(Utf8(text), limits);

        Assert.Equal((AnomalyCodes.LineTooLong, 4L), (error.Code, error.Line));
        Assert.Contains("Mlops__MaxLineKilobytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_quoted_newline_does_not_reset_the_line_length_but_a_record_end_does()
    {
        var limits = Roomy with { MaxLineBytes = 100 };
        var manyShortLines = "a,b\n" + string.Concat(Enumerable.Range(0, 50).Select(i => $"{i},{new string('y', 60)}\n"));
        var longQuoted = "a,b\n1,\"" + string.Join('\n', Enumerable.Repeat(new string('z', 40), 4)) + "\"\n";

        var (rows, csv) = ReadAll(Utf8(manyShortLines), limits);
        csv.Dispose();
        var error = Rejected(Utf8(longQuoted), limits);

        Assert.Equal(50, rows.Count);
        Assert.Equal(AnomalyCodes.LineTooLong, error.Code);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Invalid_utf8_is_rejected_with_the_line_it_is_on(bool oneByteReads)
    {
        var bytes = Utf8("a,b\n1,2\n3,caf").Concat(new byte[] { 0xC3, 0x28 }).Concat(Utf8("\n5,6\n")).ToArray();

        var error = Rejected(bytes, oneByteReads: oneByteReads);

        Assert.Equal((AnomalyCodes.InvalidUtf8, 3L), (error.Code, error.Line));
        Assert.Contains("byte 13 ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_lone_continuation_byte_far_into_a_file_is_found_on_its_line(bool oneByteReads)
    {
        var head = "a,b\n" + string.Concat(Enumerable.Range(0, 5000).Select(i => $"{i},é{i}\n"));
        var bytes = Utf8(head).Concat(new byte[] { (byte)'9', (byte)',', 0x80, (byte)'\n' }).ToArray();

        var error = Rejected(bytes, oneByteReads: oneByteReads);

        Assert.Equal((AnomalyCodes.InvalidUtf8, 5002L), (error.Code, error.Line));
    }

    [Fact]
    public void A_truncated_multibyte_character_at_the_end_of_the_file_is_invalid()
    {
        var bytes = Utf8("a,b\n1,2\n3,").Concat(new byte[] { 0xE2, 0x82 }).ToArray();

        var error = Rejected(bytes, oneByteReads: true);

        Assert.Equal((AnomalyCodes.InvalidUtf8, 3L), (error.Code, error.Line));
    }

    [Fact]
    public void Multibyte_characters_split_across_reads_are_valid()
    {
        var text = "name,city\n1,Zürich\n2,東京\n3,😀\n";

        var (rows, csv) = ReadAll(new TrickleStream(Utf8(text)));
        using var _ = csv;

        Assert.Equal(["Zürich", "東京", "😀"], rows.Select(r => r.Cells[1]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_nul_byte_means_a_binary_file_with_its_line(bool oneByteReads)
    {
        var bytes = Utf8("a,b\n1,2\n3,4\n5,").Concat(new byte[] { 0 }).Concat(Utf8("6\n")).ToArray();

        var error = Rejected(bytes, oneByteReads: oneByteReads);

        Assert.Equal((AnomalyCodes.Binary, 4L), (error.Code, error.Line));
    }

    [Fact]
    public void Utf16_text_is_rejected_as_binary()
    {
        var error = Rejected(Encoding.Unicode.GetBytes("a,b\n1,2\n"));

        Assert.Equal(AnomalyCodes.Binary, error.Code);
    }

    [Fact]
    public void EndsInsideQuotes_tells_a_file_cut_inside_a_quoted_field()
    {
        var (_, cut) = ReadAll(Utf8("a,b\n1,\"unfinished\n2,3\n"));
        var (_, whole) = ReadAll(Utf8("a,b\n1,\"finished\"\n2,3\n"));
        using var c = cut;
        using var w = whole;

        Assert.True(cut.EndsInsideQuotes);
        Assert.False(whole.EndsInsideQuotes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Sha256_is_the_hash_of_every_byte_read_bom_included(bool oneByteReads)
    {
        var bytes = Encoding.UTF8.GetPreamble().Concat(Utf8("a,b\r\n1,\"x,y\"\r\n2,é\r\n\r\n")).ToArray();

        var (_, csv) = ReadAll(oneByteReads ? new TrickleStream(bytes) : new MemoryStream(bytes));
        using var _ = csv;

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), csv.Sha256());
        Assert.Equal(bytes.Length, csv.BytesRead);
    }

    [Fact]
    public void A_header_only_file_opens_and_has_no_records()
    {
        var (rows, csv) = ReadAll(Utf8("a, b ,c\n"));
        using var _ = csv;

        Assert.Equal(["a", "b", "c"], csv.Header);
        Assert.Empty(rows);
    }

    /// <summary>A stream that returns one byte per read, so every multi-byte sequence and every line end falls across reads.</summary>
    private sealed class TrickleStream(byte[] bytes) : Stream
    {
        private int position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => bytes.Length;

        public override long Position { get => position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (position >= bytes.Length || buffer.IsEmpty)
            {
                return 0;
            }

            buffer[0] = bytes[position++];
            return 1;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
