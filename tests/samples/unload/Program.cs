// Loads this very assembly into a collectible AssemblyLoadContext, runs a few
// methods of it there (JIT-compiled in the new module, so the profiler gives
// that module a heap), unloads it, and repeats: a program that loads and
// unloads modules in a loop, whose address space must stay constant.
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

public static class Work
{
    public static long Run(int round)
    {
        long sum = 0;
        for (int i = 0; i < 100; i++)
            sum += Mix(round, i) ^ Fold(i);
        return sum;
    }

    static long Mix(int a, int b) => (long)a * 31 + b * 7 + (a ^ b);

    static long Fold(int x)
    {
        var items = new List<int> { x, x + 1, x + 2 };
        return items.Sum() * 3L;
    }
}

public static class Program
{
    const int Rounds = 300;

    [MethodImpl(MethodImplOptions.NoInlining)]
    static (long, WeakReference) Once(string path, int round)
    {
        var alc = new AssemblyLoadContext("round" + round, isCollectible: true);
        var asm = alc.LoadFromAssemblyPath(path);
        var run = asm.GetType("Work").GetMethod("Run");
        long result = (long)run.Invoke(null, new object[] { round });
        alc.Unload();
        return (result, new WeakReference(alc));
    }

    public static int Main()
    {
        string path = typeof(Program).Assembly.Location;
        long total = 0;
        var alive = new List<WeakReference>();
        for (int round = 0; round < Rounds; round++) {
            var (r, weak) = Once(path, round);
            total += r;
            alive.Add(weak);
            if (round % 50 == 49) {
                for (int i = 0; i < 3; i++) {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                }
            }
        }
        for (int i = 0; i < 5 && alive.Exists(w => w.IsAlive); i++) {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Console.WriteLine($"rounds={Rounds} total={total}");
        return 0;
    }
}
