using static TorchSharp.torch;

namespace Ohem.Torch;

/// <summary>torch's default initialisation of Conv2d and Linear, drawn from a given generator so a seed fixes it.</summary>
internal static class SeededInit
{
    /// <summary>
    /// Fills <paramref name="value"/> (a layer's weight or bias) uniformly in ±1/sqrt(fan_in), where
    /// fan_in is the product of the layer's weight shape after its first dimension.
    /// </summary>
    public static void FanInUniform(Tensor value, long[] weightShape, Generator generator)
    {
        var fanIn = weightShape.Skip(1).Aggregate(1L, (a, b) => a * b);
        var bound = 1.0 / Math.Sqrt(fanIn);
        value.uniform_(-bound, bound, generator);
    }
}
