using System.Runtime.InteropServices;

namespace Ohem.Torch;

/// <summary>A libtorch call failed; the message names the call, then libtorch's (or our kernel's) reason.</summary>
public sealed class TorchException : Exception
{
    public TorchException(string message) : base(message)
    {
    }

    public TorchException(string message, Exception inner) : base(message, inner)
    {
    }

    /// <summary>Runs <paramref name="body"/>, turning a libtorch failure into "<paramref name="what"/>: reason".</summary>
    internal static T Wrap<T>(string what, Func<T> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is ExternalException or EngineException)
        {
            throw new TorchException($"{what}: {e.Message}", e);
        }
    }

    /// <summary>As <see cref="Wrap{T}"/> for a call without a result.</summary>
    internal static void Wrap(string what, Action body) => Wrap(what, () =>
    {
        body();
        return 0;
    });
}

/// <summary>A failure inside the engine's own kernels or checkpoint code, reported like libtorch's.</summary>
internal sealed class EngineException : Exception
{
    public EngineException(string message) : base(message)
    {
    }

    public EngineException(string message, Exception inner) : base(message, inner)
    {
    }
}
