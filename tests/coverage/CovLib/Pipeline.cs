namespace CovLib;

// Async state machines and lambdas with closures.
public static class Pipeline
{
    public static async Task<int> SumSquaresAsync(IEnumerable<int> values)
    {
        var total = 0;
        foreach (var v in values)
        {
            await Task.Yield();
            total += Square(v);
        }
        return total;
    }

    public static int Square(int x) => x * x;

    public static Func<int> Counter(int step)
    {
        var n = 0;
        return () => n += step;
    }

    public static List<int> Evens(IEnumerable<int> values) =>
        values.Where(v => v % 2 == 0).Select(v => v / 2).ToList();
}
