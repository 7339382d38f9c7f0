using CovLib;

// One test at a time: the call counts the coverage test asserts are exact
// only without parallel tests (the calls probe's increment is not atomic).
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace CovLib.Tests;

// Every library call here is counted by tests/coverage_host.sh: change a
// test and the expected counts there change with it.
public class GradesTests
{
    [Theory]
    [InlineData(95, "A")]
    [InlineData(80, "B")]
    [InlineData(60, "C")]
    [InlineData(10, "F")]
    public void Grades_by_score(int score, string grade) => Assert.Equal(grade, Grades.Grade(score));

    [Fact]
    public void Grade_out_of_range_throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Grades.Grade(101));

    // "odd" stays uncovered.
    [Theory]
    [InlineData(-3, "negative")]
    [InlineData(0, "zero")]
    [InlineData(4, "even")]
    public void Classify_numbers(int n, string kind) => Assert.Equal(kind, Grades.Classify(n));
}

public class ParsingTests
{
    [Fact]
    public void Parse_or_fall_back()
    {
        Assert.Equal(42, Parsing.ParseOrDefault("42", -1));
        Assert.Equal(-1, Parsing.ParseOrDefault("x", -1));
        Assert.Equal(2, Parsing.Attempts);
    }

    // The filter's false side stays uncovered.
    [Fact]
    public void Checked_product_and_overflow()
    {
        Assert.Equal(1_000_000, Parsing.Checked(1000, 1000));
        var e = Assert.Throws<InvalidOperationException>(() => Parsing.Checked(int.MaxValue, 2));
        Assert.IsType<OverflowException>(e.InnerException);
    }
}

public class PipelineTests
{
    [Fact]
    public async Task Sum_of_squares()
    {
        Assert.Equal(14, await Pipeline.SumSquaresAsync(new[] { 1, 2, 3 }));
    }

    [Fact]
    public void Counter_closure()
    {
        var next = Pipeline.Counter(5);
        next();
        Assert.Equal(10, next());
    }

    [Fact]
    public void Evens_halved() =>
        Assert.Equal(new[] { 1, 2, 3 }, Pipeline.Evens(Enumerable.Range(1, 6)));
}

public class BagTests
{
    [Fact]
    public void Ints_fold_and_take()
    {
        var bag = new Bag<int>();
        bag.Add(1);
        bag.Add(2);
        bag.Add(3);
        Assert.Equal(3, bag.Take());
        Assert.Equal(2, bag.Depth());
        Assert.Equal(3, bag.Fold(0, (acc, x) => acc + x));
    }

    [Fact]
    public void Strings_and_empty_take()
    {
        var bag = new Bag<string>();
        bag.Add("a");
        bag.Add("b");
        Assert.Equal("ba", bag.Fold("", (acc, s) => acc + s));
        Assert.Equal(2, bag.Count);
        bag.Take();
        bag.Take();
        Assert.Throws<InvalidOperationException>(() => bag.Take());
    }
}
