using System.Runtime.InteropServices;

namespace Ohem.Onnx.Native;

/// <summary>
/// A native ONNX Runtime object owned by a SafeHandle: released exactly once, by the finalizer if
/// nobody disposed it. Subclasses name the Release entry to call.
/// </summary>
internal abstract class OrtHandle : SafeHandle
{
    protected OrtHandle() : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    /// <summary>Takes ownership of a pointer ORT just created.</summary>
    public void Attach(nint created) => SetHandle(created);

    public nint Pointer => handle;
}

internal sealed unsafe class OrtEnvHandle : OrtHandle
{
    protected override bool ReleaseHandle()
    {
        OrtLibrary.Api().ReleaseEnv(handle);
        return true;
    }
}

internal sealed unsafe class OrtSessionHandle : OrtHandle
{
    protected override bool ReleaseHandle()
    {
        OrtLibrary.Api().ReleaseSession(handle);
        return true;
    }
}

internal sealed unsafe class OrtSessionOptionsHandle : OrtHandle
{
    protected override bool ReleaseHandle()
    {
        OrtLibrary.Api().ReleaseSessionOptions(handle);
        return true;
    }
}

internal sealed unsafe class OrtValueHandle : OrtHandle
{
    protected override bool ReleaseHandle()
    {
        OrtLibrary.Api().ReleaseValue(handle);
        return true;
    }
}

internal sealed unsafe class OrtMemoryInfoHandle : OrtHandle
{
    protected override bool ReleaseHandle()
    {
        OrtLibrary.Api().ReleaseMemoryInfo(handle);
        return true;
    }
}

internal sealed unsafe class OrtIoBindingHandle : OrtHandle
{
    protected override bool ReleaseHandle()
    {
        OrtLibrary.Api().ReleaseIoBinding(handle);
        return true;
    }
}

internal sealed unsafe class OrtTypeInfoHandle : OrtHandle
{
    protected override bool ReleaseHandle()
    {
        OrtLibrary.Api().ReleaseTypeInfo(handle);
        return true;
    }
}

internal sealed unsafe class OrtCudaOptionsHandle : OrtHandle
{
    protected override bool ReleaseHandle()
    {
        OrtLibrary.Api().ReleaseCUDAProviderOptions(handle);
        return true;
    }
}
