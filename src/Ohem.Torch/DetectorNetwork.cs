using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ohem.Torch;

/// <summary>
/// The backbone: conv3x3 (pad 1) + ReLU per <see cref="DetectorOptions.BackboneChannels"/> entry, a
/// 2x2 stride-2 max pool after each of the first log2(stride) convs. Parameters conv1.weight, ...
/// </summary>
internal sealed class BackboneNetwork : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d[] _convs;
    private readonly int _pools;

    public BackboneNetwork(DetectorOptions options) : base("backbone")
    {
        var channels = options.InputChannels;
        _convs = new Conv2d[options.BackboneChannels.Count];
        for (var i = 0; i < _convs.Length; i++)
        {
            _convs[i] = nn.Conv2d(channels, options.BackboneChannels[i], 3, padding: 1);
            register_module($"conv{i + 1}", _convs[i]);
            channels = options.BackboneChannels[i];
        }

        _pools = options.PoolCount;
    }

    /// <summary>The convs, in order.</summary>
    public IReadOnlyList<Conv2d> Layers => _convs;

    public override Tensor forward(Tensor images)
    {
        var x = images;
        for (var i = 0; i < _convs.Length; i++)
        {
            x = nn.functional.relu(_convs[i].call(x));
            if (i < _pools)
            {
                x = nn.functional.max_pool2d(x, 2, 2);
            }
        }

        return x;
    }
}

/// <summary>
/// The RoI head as RoiHeadExporter writes it: RoI max pool -> flatten -> (fc + ReLU)* -> cls_score
/// and bbox_pred. Parameters fc6.weight, ..., cls_score.*, bbox_pred.*.
/// </summary>
internal sealed class HeadNetwork : nn.Module<Tensor, float[], (Tensor Scores, Tensor Deltas)>
{
    private readonly Linear[] _hidden;
    private readonly Linear cls_score;
    private readonly Linear bbox_pred;
    private readonly int _pooled;
    private readonly float _scale;

    public HeadNetwork(DetectorOptions options) : base("head")
    {
        long width = options.FeatureChannels * options.PooledSize * options.PooledSize;
        _hidden = new Linear[options.HiddenSizes.Count];
        for (var i = 0; i < _hidden.Length; i++)
        {
            _hidden[i] = nn.Linear(width, options.HiddenSizes[i]);
            register_module($"fc{6 + i}", _hidden[i]);
            width = options.HiddenSizes[i];
        }

        cls_score = nn.Linear(width, options.NumClasses + 1);
        bbox_pred = nn.Linear(width, 4 * (options.NumClasses + 1));
        _pooled = options.PooledSize;
        _scale = options.SpatialScale;
        RegisterComponents();
    }

    public override (Tensor Scores, Tensor Deltas) forward(Tensor features, float[] rois)
    {
        var x = RoiPooling.Pool(features, rois, _pooled, _pooled, _scale).flatten(1);
        foreach (var fc in _hidden)
        {
            x = nn.functional.relu(fc.call(x));
        }

        return (cls_score.call(x), bbox_pred.call(x));
    }
}
