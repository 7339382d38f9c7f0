namespace CovLib;

// Branches: an if-chain, a switch expression with a guard, a short-circuit
// condition, and a method no test calls.
public static class Grades
{
    public static string Grade(int score)
    {
        if (score < 0 || score > 100)
            throw new ArgumentOutOfRangeException(nameof(score));
        if (score >= 90)
            return "A";
        if (score >= 75)
            return "B";
        if (score >= 50)
            return "C";
        return "F";
    }

    public static string Classify(int n) => n switch
    {
        < 0 => "negative",
        0 => "zero",
        _ when n % 2 == 0 => "even",
        _ => "odd",
    };

    public static int NeverCalled(int x)
    {
        var y = x * 2;
        return y + 1;
    }
}
