using Ohem.Onnx.Native;

namespace Ohem.Onnx;

/// <summary>A failed ONNX Runtime call: ORT's error code and message, prefixed with the call.</summary>
public sealed class OrtException(OrtErrorCode code, string message) : Exception(message)
{
    public OrtErrorCode Code { get; } = code;
}
