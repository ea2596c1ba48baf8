using Microsoft.AspNetCore.Http;

namespace Ohem.Service.Transport;

/// <summary>
/// Reads what is left of a request body after the call has answered, before the response ends.
/// A call rejected before it read its request stream (a wrong token, an unknown job, a message
/// that does not parse) otherwise ends while the client's last frames are still in flight; Kestrel
/// then keeps tracking the stream, and after twice its concurrent-stream limit of such streams on
/// one connection it refuses new ones with ENHANCE_YOUR_CALM (RESOURCE_EXHAUSTED to the client,
/// other calls included; grpc/grpc-dotnet#2010). Bounded in bytes and time, so a client that keeps
/// sending is still cut off.
/// </summary>
public sealed class RequestDrainMiddleware(RequestDelegate next)
{
    /// <summary>The most read and dropped after an answered call.</summary>
    public const int MaxDrainBytes = 1 << 20;

    /// <summary>The longest wait for the client to finish its request.</summary>
    public static readonly TimeSpan MaxDrainTime = TimeSpan.FromSeconds(1);

    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await next(context).ConfigureAwait(false);
        if (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(MaxDrainTime);
        var reader = context.Request.BodyReader;
        long drained = 0;
        try
        {
            while (drained <= MaxDrainBytes)
            {
                var read = await reader.ReadAsync(timeout.Token).ConfigureAwait(false);
                drained += read.Buffer.Length;
                reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The client reset the stream, the wait ran out, or the body was already consumed to its end.
        }
    }
}
