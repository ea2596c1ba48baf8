using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ohem.Torch;

/// <summary>
/// SGD with momentum and weight decay, torch.optim.SGD's update (dampening 0, no Nesterov), op for
/// op: d = g + decay p; v = d at the first step, then v = momentum v + d; p -= lr v.
/// Not TorchSharp's <c>optim.SGD</c>: its step hands native calls Scalars converted implicitly from
/// numbers, which nothing keeps alive during the call, so a GC can finalize (free) one mid-call
/// (dotnet/TorchSharp#1434, #1496). Under GC pressure (DOTNET_GCgen0size=0x80000) that corrupted
/// updates in 3 of 11 training tests; a CI run once saw NaN. Here every Scalar is made and disposed
/// explicitly, and every temporary is disposed when the step ends.
/// </summary>
internal sealed class MomentumSgd : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly Tensor?[] _velocity;
    private readonly double _momentum;
    private readonly double _weightDecay;

    public MomentumSgd(IEnumerable<Parameter> parameters, double momentum, double weightDecay)
    {
        _parameters = [.. parameters];
        _velocity = new Tensor?[_parameters.Length];
        _momentum = momentum;
        _weightDecay = weightDecay;
    }

    /// <summary>One update of every parameter that has a gradient; gradients are left as they are.</summary>
    public void Step(double learningRate)
    {
        using var noGrad = no_grad();
        using var decay = _weightDecay.ToScalar();
        using var momentum = _momentum.ToScalar();
        using var one = 1.0.ToScalar();
        using var descend = (-learningRate).ToScalar();
        for (var i = 0; i < _parameters.Length; i++)
        {
            var parameter = _parameters[i];
            using var gradient = parameter.grad;
            if (gradient is null)
            {
                continue;
            }

            using var direction = _weightDecay != 0 ? gradient.add(parameter, decay) : gradient.alias();
            if (_momentum == 0)
            {
                parameter.add_(direction, descend);
                continue;
            }

            if (_velocity[i] is { } velocity)
            {
                velocity.mul_(momentum).add_(direction, one);
            }
            else
            {
                velocity = direction.clone().DetachFromDisposeScope();
                _velocity[i] = velocity;
            }

            parameter.add_(velocity, descend);
        }
    }

    /// <summary>Zeroes every parameter's gradient (where it has one).</summary>
    public void ZeroGradients()
    {
        using var noGrad = no_grad();
        foreach (var parameter in _parameters)
        {
            using var gradient = parameter.grad;
            gradient?.zero_();
        }
    }

    /// <summary>Writes each parameter's momentum, in order: whether it has one yet, then its values.</summary>
    public void Write(BinaryWriter writer)
    {
        foreach (var velocity in _velocity)
        {
            writer.Write(velocity is not null);
            if (velocity is not null)
            {
                writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(RoiPooling.Floats(velocity)));
            }
        }
    }

    /// <summary>Reads what <see cref="Write"/> wrote, checking nothing but lengths; changes nothing yet.</summary>
    public float[]?[] Read(BinaryReader reader)
    {
        var read = new float[]?[_parameters.Length];
        for (var i = 0; i < _parameters.Length; i++)
        {
            if (reader.ReadBoolean())
            {
                read[i] = new float[_parameters[i].numel()];
                reader.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(read[i].AsSpan()));
            }
        }

        return read;
    }

    /// <summary>Replaces the momentum with what <see cref="Read"/> returned.</summary>
    public void Restore(float[]?[] velocity)
    {
        for (var i = 0; i < _parameters.Length; i++)
        {
            _velocity[i]?.Dispose();
            _velocity[i] = velocity[i] is { } values
                ? tensor(values, _parameters[i].shape).DetachFromDisposeScope()
                : null;
        }
    }

    public void Dispose()
    {
        foreach (var velocity in _velocity)
        {
            velocity?.Dispose();
        }

        Array.Clear(_velocity);
    }
}
