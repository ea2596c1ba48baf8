namespace Ohem.Onnx;

/// <summary>How scoring sessions run; bound from configuration (section OHEM__Onnx__...).</summary>
public sealed class OnnxSessionOptions
{
    /// <summary>Threads inside one operator (the GEMMs). 0 lets ONNX Runtime use every core.</summary>
    public int IntraOpThreads { get; set; } = 1;

    /// <summary>Threads across independent operators (our graphs are a chain: 1 is right).</summary>
    public int InterOpThreads { get; set; } = 1;

    public GraphOptimization GraphOptimization { get; set; } = GraphOptimization.All;

    /// <summary>Providers in order of preference: "cuda", "cpu". CPU always remains as the fallback.</summary>
    public IList<string> ExecutionProviders { get; set; } = ["cpu"];

    /// <summary>The CUDA device sessions run on, when "cuda" is listed.</summary>
    public int CudaDeviceId { get; set; }

    /// <summary>
    /// When "cuda" is listed but its provider cannot run (no CUDA 13 or cuDNN 9 libraries, no
    /// such device): fail naming what is missing (true: required), or run on the CPU after one
    /// log line (false: preferred).
    /// </summary>
    public bool CudaRequired { get; set; }

    /// <summary>
    /// On the CPU, run the model's MaxRoiPool on the host (vectorised across channels, same
    /// results bit for bit) and the rest of the head in ONNX Runtime, whose own CPU RoI pooling
    /// kernel is scalar and costs as much as the head. Ignored on CUDA, where the whole graph runs.
    /// </summary>
    public bool PoolRoisOnHost { get; set; } = true;

    internal void Validate()
    {
        if (IntraOpThreads < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "IntraOpThreads must be >= 0 (0 = all cores).");
        }

        if (InterOpThreads < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(InterOpThreads), InterOpThreads, "InterOpThreads must be >= 0.");
        }

        if (CudaDeviceId < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(CudaDeviceId), CudaDeviceId, "CudaDeviceId must be >= 0.");
        }

        foreach (var provider in ExecutionProviders)
        {
            if (provider is not ("cpu" or "cuda"))
            {
                throw new ArgumentException($"ExecutionProviders contains \"{provider}\"; expected \"cuda\" or \"cpu\".", nameof(ExecutionProviders));
            }
        }
    }
}

/// <summary>ONNX Runtime's GraphOptimizationLevel, by names that read well in configuration.</summary>
public enum GraphOptimization
{
    Disabled = 0,
    Basic = 1,
    Extended = 2,
    All = 99,
}
