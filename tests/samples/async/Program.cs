// async/await: state machines (each MoveNext is a JIT-compiled body),
// ValueTask, async streams, exceptions through await, WhenAll over the
// thread pool, SemaphoreSlim, cancellation.  Output never depends on timing.
namespace Samples.Async;

public static class Program
{
    private static async Task<int> Fib(int n)
    {
        if (n < 2) return n;
        await Task.Yield();
        var a = Fib(n - 1);
        var b = Fib(n - 2);
        return await a + await b;
    }

    private static async ValueTask<string> Echo(string s, bool sync)
    {
        if (!sync) await Task.Yield();
        return s.ToUpperInvariant();
    }

    private static async IAsyncEnumerable<int> Squares(int n)
    {
        for (int i = 1; i <= n; i++)
        {
            if (i % 3 == 0) await Task.Yield();
            yield return i * i;
        }
    }

    private static async Task<string> Failing(int depth)
    {
        await Task.Yield();
        if (depth == 0) throw new InvalidOperationException("failed at the bottom");
        try { return await Failing(depth - 1); }
        finally { await Task.Yield(); }
    }

    private static async Task<long> Work(int id, SemaphoreSlim gate)
    {
        await gate.WaitAsync();
        try
        {
            await Task.Yield();
            long acc = 0;
            for (int i = 0; i < 10000; i++) acc += (i * id) % 7;
            return acc;
        }
        finally { gate.Release(); }
    }

    private static async Task<string> Cancellable(CancellationToken token)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, token);
            return "not cancelled";
        }
        catch (OperationCanceledException) { return "cancelled"; }
    }

    public static async Task<int> Main()
    {
        Console.WriteLine($"fib(15) = {await Fib(15)}");
        Console.WriteLine($"echo: {await Echo("sync", true)} {await Echo("async", false)}");
        int sum = 0;
        await foreach (var sq in Squares(20)) sum += sq;
        Console.WriteLine($"sum of squares: {sum}");
        try { await Failing(5); }
        catch (InvalidOperationException e) { Console.WriteLine($"caught: {e.Message}"); }

        var gate = new SemaphoreSlim(3);
        var results = await Task.WhenAll(Enumerable.Range(1, 40).Select(i => Work(i, gate)));
        Console.WriteLine($"work: {results.Sum()} over {results.Length} tasks");

        using var cts = new CancellationTokenSource();
        var pending = Cancellable(cts.Token);
        cts.Cancel();
        Console.WriteLine($"cancellation: {await pending}");

        var tcs = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiter = Task.Run(async () => (await tcs.Task).Length);
        tcs.SetResult("completed by hand");
        Console.WriteLine($"tcs: {await waiter}");

        var lazy = new Lazy<Task<int>>(() => Fib(10));
        Console.WriteLine($"lazy: {await lazy.Value} {await lazy.Value}");
        return 0;
    }
}
