// Exceptions: try/catch/finally, filters (when), nested handlers, rethrow,
// exceptions from finally and from deep frames, using/IDisposable, checked
// arithmetic: bodies whose exception sections must survive the copy.
using System.Runtime.CompilerServices;

namespace Samples.Exceptions;

public sealed class AppException : Exception
{
    public int Code { get; }
    public AppException(int code, string message, Exception inner = null) : base(message, inner) { Code = code; }
}

public sealed class Resource : IDisposable
{
    private readonly List<string> log;
    private readonly string name;
    public Resource(List<string> log, string name) { this.log = log; this.name = name; log.Add("open " + name); }
    public void Dispose() => log.Add("close " + name);
}

public static class Program
{
    private static readonly List<string> Log = new();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Deep(int n)
    {
        if (n == 0) throw new AppException(n + 7, "bottom");
        try { return Deep(n - 1) + 1; }
        finally { Log.Add("unwind " + n); }
    }

    private static string Classify(int i)
    {
        try
        {
            switch (i % 6)
            {
                case 0: throw new ArgumentException("arg " + i);
                case 1: throw new AppException(i, "app " + i);
                case 2: throw new AppException(-i, "negative " + i);
                case 3: { int[] a = new int[1]; return a[i].ToString(); }
                case 4: { object o = "x"; return ((Uri)o).Host; }
                default: return checked(int.MaxValue - 2 + i).ToString();
            }
        }
        catch (AppException e) when (e.Code > 0) { return $"positive app {e.Code}"; }
        catch (AppException e) when (Note($"filter saw {e.Code}")) { return "never"; }
        catch (AppException e) { return $"other app {e.Code}"; }
        catch (ArgumentException e) { return "argument: " + e.Message; }
        catch (IndexOutOfRangeException) { return "index"; }
        catch (InvalidCastException) { return "cast"; }
        catch (OverflowException) { return "overflow"; }
        finally { Log.Add("classified " + i); }
    }

    private static bool Note(string s) { Log.Add(s); return false; }

    private static int Rethrow()
    {
        try
        {
            try { Deep(3); }
            catch (AppException e) { Log.Add("caught " + e.Message + ", rethrowing"); throw; }
        }
        catch (AppException e) { return e.Code; }
        return -1;
    }

    private static string Wrap()
    {
        try
        {
            try { throw new InvalidOperationException("inner"); }
            catch (Exception e) { throw new AppException(99, "outer", e); }
        }
        catch (AppException e) { return $"{e.Message} <- {e.InnerException.Message}"; }
    }

    private static string FinallyThrows()
    {
        try
        {
            try { throw new AppException(1, "first"); }
            finally { Log.Add("finally before replace"); throw new AppException(2, "from finally"); }
        }
        catch (AppException e) { return "got " + e.Message; }
    }

    private static int Usings()
    {
        try
        {
            using var a = new Resource(Log, "a");
            using (var b = new Resource(Log, "b"))
            {
                throw new AppException(5, "inside using");
            }
        }
        catch (AppException e) { return e.Code; }
    }

    private static int FilterOrder()
    {
        int x = 0;
        try
        {
            try { throw new AppException(3, "order"); }
            finally { x = x * 10 + 2; Log.Add("inner finally " + x); }
        }
        catch (AppException) when ((x = x * 10 + 1) > 0) { x = x * 10 + 3; }
        return x;
    }

    public static void Main()
    {
        for (int i = 0; i < 12; i++) Console.WriteLine($"{i}: {Classify(i)}");
        Console.WriteLine($"rethrow code: {Rethrow()}");
        Console.WriteLine($"wrap: {Wrap()}");
        Console.WriteLine($"finally throws: {FinallyThrows()}");
        Console.WriteLine($"usings: {Usings()}");
        Console.WriteLine($"filter runs before inner finally: {FilterOrder()}");
        int caught = 0;
        for (int i = 0; i < 2000; i++)
        {
            try { if (i % 3 == 0) throw new AppException(i, "loop"); }
            catch (AppException e) when (e.Code % 2 == 0) { caught++; }
            catch (AppException) { caught += 2; }
        }
        Console.WriteLine($"loop caught: {caught}");
        foreach (var line in Log) Console.WriteLine("log: " + line);
    }
}
