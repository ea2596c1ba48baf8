namespace Ohem.Grpc.Tests.Support;

/// <summary>Every wait in these tests is bounded, so a bug fails a test instead of hanging CI.</summary>
internal static class Bounded
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(Timeout);

    public static Task Within(this Task task) => task.WaitAsync(Timeout);

    /// <summary>A deadline comfortably beyond any healthy call, to bound calls that should succeed.</summary>
    public static DateTime Deadline => DateTime.UtcNow + Timeout;
}
