// The replace-mode sample: mmrun --replace 'App.Calc::Answer=1F2A2A' gives
// Answer a new body (ldc.i4.s 42; ret) before anything calls it.
using System.Runtime.CompilerServices;

namespace App;

public static class Calc
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int Answer() => 41;

    public static int Twice() => 2 * Answer();
}

public static class Program
{
    public static void Main()
    {
        Console.WriteLine($"Answer() = {Calc.Answer()}");
        Console.WriteLine($"Twice() = {Calc.Twice()}");
    }
}
