namespace Ohem.Torch;

/// <summary>A call into libtorch (through the native shim) failed; the message is the shim's, prefixed with the call.</summary>
public sealed class TorchException : Exception
{
    public TorchException(string message) : base(message)
    {
    }

    public TorchException(string message, Exception inner) : base(message, inner)
    {
    }
}
