using Ohem.Onnx;

namespace Ohem.Service.Tests;

/// <summary>The miner decides its execution provider at start: required CUDA that cannot run stops it there.</summary>
public class ExecutionProviderStartTests
{
    [Fact]
    public async Task Required_cuda_that_cannot_run_fails_at_start_and_preferred_cuda_starts_on_the_cpu()
    {
        if (OnnxSessions.ExecutionProvider(new OnnxSessionOptions { ExecutionProviders = ["cuda", "cpu"] }) == OnnxSessions.Cuda)
        {
            return; // CUDA 13 and cuDNN 9 present: the parity runs on such a machine cover it
        }

        var e = await Assert.ThrowsAsync<CudaUnavailableException>(() =>
            LoopbackMiner.StartAsync(("Miner:Onnx:ExecutionProviders:0", "cuda"), ("Miner:Onnx:CudaRequired", "true")));
        Assert.Contains("CudaRequired", e.Message);
        Assert.Contains("CUDA 13", e.Message);

        await using var miner = await LoopbackMiner.StartAsync(("Miner:Onnx:ExecutionProviders:0", "cuda"), ("Miner:Onnx:ExecutionProviders:1", "cpu"));
        Assert.NotNull(miner.Address);
    }
}
