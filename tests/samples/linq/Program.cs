// LINQ: query and method syntax, grouping, joins, ordering, set operations,
// aggregation, lookups, deferred execution, and an expression tree compiled
// at run time.
using System.Linq.Expressions;

namespace Samples.Linq;

public sealed record Employee(int Id, string Name, string Dept, decimal Salary, int ManagerId);
public sealed record Dept(string Code, string Title, string City);

public static class Program
{
    public static void Main()
    {
        var depts = new[]
        {
            new Dept("ENG", "Engineering", "Oslo"), new Dept("OPS", "Operations", "Lyon"),
            new Dept("FIN", "Finance", "Oslo"), new Dept("HR", "People", "Porto"),
        };
        var names = new[] { "Ada", "Brian", "Chen", "Dana", "Eve", "Farid", "Gita", "Hugo", "Iris", "Jon", "Kemal", "Lena" };
        var staff = names.Select((n, i) => new Employee(i + 1, n, depts[i % 3].Code, 3000m + (i * 377 % 1000), i < 3 ? 0 : (i % 3) + 1)).ToList();

        var byDept = from e in staff
                     group e by e.Dept into g
                     orderby g.Key
                     select new { Dept = g.Key, Count = g.Count(), Total = g.Sum(x => x.Salary), Top = g.MaxBy(x => x.Salary).Name };
        foreach (var d in byDept) Console.WriteLine($"dept {d.Dept}: {d.Count} people, total {d.Total}, top {d.Top}");

        var joined = staff.Join(depts, e => e.Dept, d => d.Code, (e, d) => (e.Name, d.City))
                          .OrderBy(x => x.City).ThenByDescending(x => x.Name);
        Console.WriteLine("joined: " + string.Join(", ", joined.Select(x => $"{x.Name}@{x.City}")));

        var withManagers = from e in staff
                           join m in staff on e.ManagerId equals m.Id into ms
                           from m in ms.DefaultIfEmpty()
                           select $"{e.Name}->{m?.Name ?? "none"}";
        Console.WriteLine("managers: " + string.Join(" ", withManagers));

        var emptyDepts = depts.GroupJoin(staff, d => d.Code, e => e.Dept, (d, es) => new { d.Code, N = es.Count() })
                              .Where(x => x.N == 0).Select(x => x.Code);
        Console.WriteLine("empty depts: " + string.Join(",", emptyDepts));

        var lookup = staff.ToLookup(e => e.Name.Length);
        foreach (var g in lookup.OrderBy(g => g.Key)) Console.WriteLine($"name length {g.Key}: {string.Join("/", g.Select(e => e.Name))}");

        var primes = Enumerable.Range(2, 200).Where(n => Enumerable.Range(2, (int)Math.Sqrt(n) - 1).All(k => n % k != 0)).ToArray();
        Console.WriteLine($"primes: {primes.Length}, last {primes[^1]}, sum {primes.Sum()}");
        Console.WriteLine($"set ops: {string.Join(",", primes.Take(10).Intersect(Enumerable.Range(1, 20)))} | {string.Join(",", new[] { 1, 2, 3, 4 }.Except(new[] { 2, 4 }))} | {new[] { 1, 1, 2, 3, 3 }.Distinct().Count()}");
        Console.WriteLine($"zip: {string.Join(" ", names.Zip(primes, (n, p) => n[0] + p.ToString()).Take(6))}");
        Console.WriteLine($"aggregate: {names.Aggregate((a, b) => a.Length >= b.Length ? a : b)} {Enumerable.Range(1, 10).Aggregate(1L, (a, b) => a * b)}");
        Console.WriteLine($"chunks: {string.Join(" ", Enumerable.Range(1, 10).Chunk(4).Select(c => "[" + string.Join(",", c) + "]"))}");
        Console.WriteLine($"selectmany: {string.Join("", depts.SelectMany(d => d.Title.Take(2)))}");

        int evaluated = 0;
        var deferred = staff.Where(e => { evaluated++; return e.Salary > 3500m; });
        Console.WriteLine($"deferred before: {evaluated}");
        Console.WriteLine($"deferred count: {deferred.Count()} after: {evaluated}");

        var order = staff.OrderBy(e => e.Salary).ThenBy(e => e.Name).Select(e => e.Id).Skip(2).Take(5);
        Console.WriteLine($"paged ids: {string.Join(",", order)}");

        Expression<Func<int, int, int>> expr = (a, b) => a * a + b * 3 - (a % (b + 1));
        var compiled = expr.Compile();
        Console.WriteLine($"expression {expr.Body.NodeType}: {compiled(7, 4)} {compiled(12, 0)}");
        var param = Expression.Parameter(typeof(string), "s");
        var lengthPlusOne = Expression.Lambda<Func<string, int>>(Expression.Add(Expression.Property(param, "Length"), Expression.Constant(1)), param).Compile();
        Console.WriteLine($"built expression: {lengthPlusOne("methodmalloc")}");
    }
}
