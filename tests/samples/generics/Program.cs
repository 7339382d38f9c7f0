// Generics: generic types and methods over value and reference types (each
// value-type instantiation is compiled on its own), constraints, static
// per-instantiation state, generic interfaces, variance, recursion.
using System.Numerics;
using System.Text;

namespace Samples.Generics;

public interface IShape { double Area(); string Name { get; } }
public readonly record struct Square(double Side) : IShape
{
    public double Area() => Side * Side;
    public string Name => "square";
}
public sealed record Circle(double Radius) : IShape
{
    public double Area() => Math.Round(Math.PI * Radius * Radius, 6);
    public string Name => "circle";
}

public sealed class Stack<T>
{
    private T[] items = new T[2];
    private int count;
    public void Push(T item)
    {
        if (count == items.Length) Array.Resize(ref items, count * 2);
        items[count++] = item;
    }
    public T Pop() => count > 0 ? items[--count] : throw new InvalidOperationException("empty");
    public int Count => count;
}

public static class Counter<T>
{
    // One per closed type: proves each instantiation has its own statics.
    public static int Hits;
}

public struct Pair<TA, TB> where TA : IComparable<TA>
{
    public TA First;
    public TB Second;
    public Pair(TA a, TB b) { First = a; Second = b; }
    public override string ToString() => $"({First}, {Second})";
}

public static class Algo
{
    public static T Sum<T>(IEnumerable<T> xs) where T : INumber<T>
    {
        T total = T.Zero;
        foreach (var x in xs) { total += x; Counter<T>.Hits++; }
        return total;
    }

    public static T Max<T>(params T[] xs) where T : IComparable<T>
    {
        T best = xs[0];
        foreach (var x in xs) if (x.CompareTo(best) > 0) best = x;
        return best;
    }

    public static void Sort<TA, TB>(Pair<TA, TB>[] pairs) where TA : IComparable<TA>
    {
        for (int i = 1; i < pairs.Length; i++)
            for (int j = i; j > 0 && pairs[j].First.CompareTo(pairs[j - 1].First) < 0; j--)
                (pairs[j], pairs[j - 1]) = (pairs[j - 1], pairs[j]);
    }

    public static double TotalArea<TShape>(IEnumerable<TShape> shapes) where TShape : IShape
    {
        double total = 0;
        foreach (var s in shapes) total += s.Area();
        return total;
    }

    public static int Depth<T>(int n) => n == 0 ? typeof(T).Name.Length : Depth<List<T>>(n - 1) + 1;

    public static TOut[] Map<TIn, TOut>(TIn[] xs, Func<TIn, TOut> f)
    {
        var r = new TOut[xs.Length];
        for (int i = 0; i < xs.Length; i++) r[i] = f(xs[i]);
        return r;
    }
}

public static class Program
{
    public static void Main()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"sum int: {Algo.Sum(Enumerable.Range(1, 100))}");
        sb.AppendLine($"sum long: {Algo.Sum(new long[] { 1L << 40, 3, 5 })}");
        sb.AppendLine($"sum double: {Algo.Sum(new[] { 0.5, 0.25, 0.125 })}");
        sb.AppendLine($"sum decimal: {Algo.Sum(new[] { 1.1m, 2.2m, 3.3m })}");
        sb.AppendLine($"sum short: {Algo.Sum(new short[] { 7, 8, 9 })}");
        sb.AppendLine($"hits int={Counter<int>.Hits} long={Counter<long>.Hits} double={Counter<double>.Hits} decimal={Counter<decimal>.Hits}");
        sb.AppendLine($"max: {Algo.Max(3, 9, 4)} {Algo.Max("pear", "apple", "plum")} {Algo.Max(2.5, -1.0)}");

        var ints = new Stack<int>();
        var strs = new Stack<string>();
        var structs = new Stack<Pair<int, string>>();
        for (int i = 0; i < 20; i++) { ints.Push(i * i); strs.Push("s" + i); structs.Push(new Pair<int, string>(i, "v" + i)); }
        sb.AppendLine($"stacks: {ints.Pop()} {strs.Pop()} {structs.Pop()} counts {ints.Count} {strs.Count} {structs.Count}");

        var pairs = new[] { new Pair<string, int>("delta", 4), new Pair<string, int>("alpha", 1), new Pair<string, int>("charlie", 3), new Pair<string, int>("bravo", 2) };
        Algo.Sort(pairs);
        sb.AppendLine("sorted: " + string.Join(" ", pairs));
        var pairs2 = new[] { new Pair<double, Guid>(2.5, Guid.Empty), new Pair<double, Guid>(-1, Guid.Empty) };
        Algo.Sort(pairs2);
        sb.AppendLine($"sorted doubles: {pairs2[0].First} {pairs2[1].First}");

        sb.AppendLine($"area squares: {Algo.TotalArea(new[] { new Square(2), new Square(3) })}");
        sb.AppendLine($"area circles: {Algo.TotalArea(new List<Circle> { new(1), new(2) })}");
        IEnumerable<IShape> mixed = new IShape[] { new Square(1), new Circle(1) };
        sb.AppendLine($"area mixed: {Algo.TotalArea(mixed)}");

        IEnumerable<object> covariant = new List<string> { "co", "variance" };
        sb.AppendLine($"covariance: {string.Join("+", covariant)}");
        Action<object> anything = o => sb.AppendLine($"contravariance: {o}");
        Action<string> contra = anything;
        contra("ok");

        sb.AppendLine($"depth: {Algo.Depth<int>(5)} {Algo.Depth<string>(3)}");
        sb.AppendLine("map: " + string.Join(",", Algo.Map(new[] { 1, 2, 3 }, x => x * 1.5)));
        sb.AppendLine("map2: " + string.Join(",", Algo.Map(new[] { "a", "bb" }, s => s.Length)));

        var dict = new Dictionary<(int, string), List<double>>();
        for (int i = 0; i < 50; i++)
        {
            var key = (i % 5, "k" + (i % 3));
            if (!dict.TryGetValue(key, out var list)) dict[key] = list = new List<double>();
            list.Add(i / 4.0);
        }
        foreach (var kv in dict.OrderBy(k => k.Key.Item1).ThenBy(k => k.Key.Item2))
            sb.AppendLine($"dict {kv.Key}: {kv.Value.Count} {kv.Value.Sum()}");
        Console.Write(sb.ToString());
    }
}
