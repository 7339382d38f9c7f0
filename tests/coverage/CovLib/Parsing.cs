namespace CovLib;

// Exceptions: try/catch/finally, a filter, a rethrow.
public static class Parsing
{
    public static int Attempts { get; private set; }

    public static int ParseOrDefault(string text, int fallback)
    {
        try
        {
            return int.Parse(text);
        }
        catch (FormatException)
        {
            return fallback;
        }
        finally
        {
            Attempts++;
        }
    }

    public static int Checked(int a, int b)
    {
        try
        {
            return checked(a * b);
        }
        catch (OverflowException e) when (a > 0)
        {
            throw new InvalidOperationException("too large", e);
        }
    }
}
