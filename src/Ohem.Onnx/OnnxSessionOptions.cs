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

    public int CudaDeviceId { get; set; }

    /// <summary>When "cuda" is listed but cannot be appended: fail (true) or run on CPU (false).</summary>
    public bool CudaRequired { get; set; }

    /// <summary>
    /// On the CPU, run the model's MaxRoiPool on the host (vectorised across channels, same
    /// results bit for bit) and the rest of the head in ONNX Runtime, whose own CPU RoI pooling
    /// kernel is scalar and costs as much as the head. Ignored on CUDA, where the whole graph runs.
    /// </summary>
    public bool PoolRoisOnHost { get; set; } = true;

    /// <summary>The native library to load; null: ORT_LIBRARY_PATH, then beside the binaries.</summary>
    public string? LibraryPath { get; set; }

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

        foreach (var provider in ExecutionProviders)
        {
            if (provider is not ("cpu" or "cuda"))
            {
                throw new ArgumentException($"ExecutionProviders contains \"{provider}\"; expected \"cuda\" or \"cpu\".", nameof(ExecutionProviders));
            }
        }
    }
}

/// <summary>GraphOptimizationLevel.</summary>
public enum GraphOptimization
{
    Disabled = 0,
    Basic = 1,
    Extended = 2,
    All = 99,
}
