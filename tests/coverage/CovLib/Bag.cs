namespace CovLib;

// Generics (a generic type and a generic method) and a nested type.
public sealed class Bag<T>
{
    private Node? head;

    public int Count { get; private set; }

    public void Add(T item)
    {
        head = new Node(item, head);
        Count++;
    }

    public T Take()
    {
        if (head is null)
            throw new InvalidOperationException("empty");
        var item = head.Item;
        head = head.Next;
        Count--;
        return item;
    }

    public TAcc Fold<TAcc>(TAcc seed, Func<TAcc, T, TAcc> f)
    {
        var acc = seed;
        for (var n = head; n is not null; n = n.Next)
            acc = f(acc, n.Item);
        return acc;
    }

    public sealed class Node
    {
        public Node(T item, Node? next)
        {
            Item = item;
            Next = next;
        }

        public T Item { get; }
        public Node? Next { get; }

        public int Depth() => Next is null ? 1 : 1 + Next.Depth();
    }

    public int Depth() => head?.Depth() ?? 0;
}
