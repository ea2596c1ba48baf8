using Ohem.Reference;

namespace Ohem.Testing;

/// <summary>A fact that needs Debian's torch and torchvision (<see cref="TorchReference"/>).</summary>
public sealed class TorchFactAttribute() : ReferenceFactAttribute(TorchReference.UnavailableReason);
