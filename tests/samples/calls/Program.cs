// Known call counts for `mmrun --calls`: recursion, interface and virtual
// calls, generic methods and types (instantiations share one counter),
// a nested type, exceptions unwinding through counted methods, async
// methods (the stub and its state machine's MoveNext) and a lambda.
// tests/calls_counts.sh holds each count, asserted on every platform;
// keep the two in step.
namespace Calls;

public interface IShape { int Sides(); }
public sealed class Square : IShape { public int Sides() => 4; }
public sealed class Triangle : IShape { public int Sides() => 3; }

public abstract class Animal
{
    public abstract string Sound();
    public virtual int Legs() => 4;
}
public sealed class Dog : Animal { public override string Sound() => "woof"; }
public sealed class Bird : Animal
{
    public override string Sound() => "tweet";
    public override int Legs() => 2;
}

public static class Gen
{
    public static T Id<T>(T x) => x;
}

public sealed class Box<T>
{
    private readonly T value;
    public Box(T v) { value = v; }
    public T Get() => value;
    public static class Inner { public static int Nested() => 7; }
}

public static class Program
{
    static int Fib(int n) => n < 2 ? n : Fib(n - 1) + Fib(n - 2);

    static void Thrower(int depth)
    {
        if (depth == 0)
            throw new InvalidOperationException("deep");
        Thrower(depth - 1);
    }

    static async Task<int> AddAsync(int a, int b)
    {
        await Task.Yield();
        return a + b;
    }

    public static int Main()
    {
        int total = 0;
        total += Fib(10);                                   // Fib: 177
        IShape[] shapes = { new Square(), new Triangle(), new Square() };
        for (int i = 0; i < 2; i++)
            foreach (var s in shapes)
                total += s.Sides();                         // Square::Sides 4, Triangle::Sides 2
        Animal[] animals = { new Dog(), new Bird(), new Dog() };
        foreach (var a in animals)
            total += a.Legs() + a.Sound().Length;           // Animal::Legs 2, Bird::Legs 1, Dog::Sound 2, Bird::Sound 1
        total += Gen.Id(1) + Gen.Id(2) + Gen.Id(3) + Gen.Id("ab").Length + Gen.Id("c").Length; // Gen::Id 5
        var bi = new Box<int>(5);
        var bs = new Box<string>("xyz");
        total += bi.Get() + bi.Get() + bs.Get().Length;    // Box`1::.ctor 2, Box`1::Get 3
        total += Box<int>.Inner.Nested();                   // Box`1/Inner::Nested 1
        for (int i = 0; i < 2; i++)
        {
            try { Thrower(3); }                             // Thrower 8
            catch (InvalidOperationException) { total++; }
        }
        Func<int, int> square = x => x * x;
        for (int i = 0; i < 13; i++)
            total += square(i);                             // the lambda 13
        total += AddAsync(2, 3).GetAwaiter().GetResult();   // AddAsync 2, its MoveNext 4
        total += AddAsync(4, 5).GetAwaiter().GetResult();
        Console.WriteLine($"total = {total}");
        return 0;
    }
}
