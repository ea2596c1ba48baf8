using System.Runtime.InteropServices;

namespace Ohem.Torch.Native;

/// <summary>A native detector (ohem_detector*), freed exactly once, by the finalizer if nobody disposed it.</summary>
internal sealed class DetectorHandle() : SafeHandle(0, ownsHandle: true)
{
    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle() => TorchNative.ohem_detector_free(handle) == 0;
}

/// <summary>Native feature maps with their backbone graph (ohem_features*).</summary>
internal sealed class FeatureMapsHandle() : SafeHandle(0, ownsHandle: true)
{
    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle() => TorchNative.ohem_features_free(handle) == 0;
}
