using Microsoft.Extensions.Logging;

namespace Ohem.Onnx;

/// <summary>The engine's log lines, as source-generated structured log methods.</summary>
internal static partial class OnnxLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "ONNX Runtime runs on the CUDA execution provider (device {Device}).")]
    public static partial void RunsOnCuda(ILogger logger, int device);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ONNX Runtime runs on the CPU: the CUDA execution provider (device {Device}) cannot run ({Reason}).")]
    public static partial void CudaFellBackToCpu(ILogger logger, int device, string reason);
}
