using System.Runtime.InteropServices;

namespace Ohem.Onnx.Native;

/// <summary>
/// The entries of ONNX Runtime's C API table (struct OrtApi in onnxruntime_c_api.h) that we call,
/// as typed function pointers. The struct is append-only, so an index never moves; every index
/// used is listed here and nowhere else. Status-returning entries give an OrtStatus* (null = ok)
/// that <see cref="Check"/> turns into an <see cref="OrtException"/> and releases.
/// </summary>
internal sealed unsafe class OrtApi
{
    private readonly nint* _table;

    public OrtApi(nint* table, string version)
    {
        _table = table;
        Version = version;
    }

    /// <summary>The library's own version string, e.g. "1.30.0".</summary>
    public string Version { get; }

    private nint this[int index] => _table[index];

    // Statuses.
    public delegate* unmanaged[Cdecl]<nint, OrtErrorCode> GetErrorCode => (delegate* unmanaged[Cdecl]<nint, OrtErrorCode>)this[1];
    public delegate* unmanaged[Cdecl]<nint, byte*> GetErrorMessage => (delegate* unmanaged[Cdecl]<nint, byte*>)this[2];
    public delegate* unmanaged[Cdecl]<nint, void> ReleaseStatus => (delegate* unmanaged[Cdecl]<nint, void>)this[93];

    // Environment.
    public delegate* unmanaged[Cdecl]<int, byte*, nint*, nint> CreateEnv => (delegate* unmanaged[Cdecl]<int, byte*, nint*, nint>)this[3];
    public delegate* unmanaged[Cdecl]<nint, void> ReleaseEnv => (delegate* unmanaged[Cdecl]<nint, void>)this[92];
    public delegate* unmanaged[Cdecl]<byte***, int*, nint> GetAvailableProviders => (delegate* unmanaged[Cdecl]<byte***, int*, nint>)this[125];
    public delegate* unmanaged[Cdecl]<byte**, int, nint> ReleaseAvailableProviders => (delegate* unmanaged[Cdecl]<byte**, int, nint>)this[126];

    // Sessions.
    public delegate* unmanaged[Cdecl]<nint, void*, nuint, nint, nint*, nint> CreateSessionFromArray => (delegate* unmanaged[Cdecl]<nint, void*, nuint, nint, nint*, nint>)this[8];
    public delegate* unmanaged[Cdecl]<nint, void> ReleaseSession => (delegate* unmanaged[Cdecl]<nint, void>)this[95];
    public delegate* unmanaged[Cdecl]<nint, nuint*, nint> SessionGetInputCount => (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)this[30];
    public delegate* unmanaged[Cdecl]<nint, nuint*, nint> SessionGetOutputCount => (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)this[31];
    public delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint> SessionGetInputTypeInfo => (delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint>)this[33];
    public delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint> SessionGetOutputTypeInfo => (delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint>)this[34];
    public delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint> SessionGetInputName => (delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint>)this[36];
    public delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint> SessionGetOutputName => (delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint>)this[37];

    // Session options.
    public delegate* unmanaged[Cdecl]<nint*, nint> CreateSessionOptions => (delegate* unmanaged[Cdecl]<nint*, nint>)this[10];
    public delegate* unmanaged[Cdecl]<nint, void> ReleaseSessionOptions => (delegate* unmanaged[Cdecl]<nint, void>)this[100];
    public delegate* unmanaged[Cdecl]<nint, int, nint> SetSessionGraphOptimizationLevel => (delegate* unmanaged[Cdecl]<nint, int, nint>)this[23];
    public delegate* unmanaged[Cdecl]<nint, int, nint> SetIntraOpNumThreads => (delegate* unmanaged[Cdecl]<nint, int, nint>)this[24];
    public delegate* unmanaged[Cdecl]<nint, int, nint> SetInterOpNumThreads => (delegate* unmanaged[Cdecl]<nint, int, nint>)this[25];
    public delegate* unmanaged[Cdecl]<nint, byte*, byte*, nint> AddSessionConfigEntry => (delegate* unmanaged[Cdecl]<nint, byte*, byte*, nint>)this[130];
    public delegate* unmanaged[Cdecl]<nint, byte*, nint, nint> AddInitializer => (delegate* unmanaged[Cdecl]<nint, byte*, nint, nint>)this[150];
    public delegate* unmanaged[Cdecl]<nint*, nint> CreateCUDAProviderOptions => (delegate* unmanaged[Cdecl]<nint*, nint>)this[205];
    public delegate* unmanaged[Cdecl]<nint, byte**, byte**, nuint, nint> UpdateCUDAProviderOptions => (delegate* unmanaged[Cdecl]<nint, byte**, byte**, nuint, nint>)this[206];
    public delegate* unmanaged[Cdecl]<nint, void> ReleaseCUDAProviderOptions => (delegate* unmanaged[Cdecl]<nint, void>)this[208];
    public delegate* unmanaged[Cdecl]<nint, nint, nint> SessionOptionsAppendExecutionProvider_CUDA_V2 => (delegate* unmanaged[Cdecl]<nint, nint, nint>)this[204];

    // Type information.
    public delegate* unmanaged[Cdecl]<nint, nint*, nint> CastTypeInfoToTensorInfo => (delegate* unmanaged[Cdecl]<nint, nint*, nint>)this[55];
    public delegate* unmanaged[Cdecl]<nint, int*, nint> GetOnnxTypeFromTypeInfo => (delegate* unmanaged[Cdecl]<nint, int*, nint>)this[56];
    public delegate* unmanaged[Cdecl]<nint, OrtElementType*, nint> GetTensorElementType => (delegate* unmanaged[Cdecl]<nint, OrtElementType*, nint>)this[60];
    public delegate* unmanaged[Cdecl]<nint, nuint*, nint> GetDimensionsCount => (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)this[61];
    public delegate* unmanaged[Cdecl]<nint, long*, nuint, nint> GetDimensions => (delegate* unmanaged[Cdecl]<nint, long*, nuint, nint>)this[62];
    public delegate* unmanaged[Cdecl]<nint, void> ReleaseTypeInfo => (delegate* unmanaged[Cdecl]<nint, void>)this[98];

    // Values and memory.
    public delegate* unmanaged[Cdecl]<int, int, nint*, nint> CreateCpuMemoryInfo => (delegate* unmanaged[Cdecl]<int, int, nint*, nint>)this[69];
    public delegate* unmanaged[Cdecl]<nint, void> ReleaseMemoryInfo => (delegate* unmanaged[Cdecl]<nint, void>)this[94];
    public delegate* unmanaged[Cdecl]<nint, void*, nuint, long*, nuint, OrtElementType, nint*, nint> CreateTensorWithDataAsOrtValue => (delegate* unmanaged[Cdecl]<nint, void*, nuint, long*, nuint, OrtElementType, nint*, nint>)this[49];
    public delegate* unmanaged[Cdecl]<nint, void> ReleaseValue => (delegate* unmanaged[Cdecl]<nint, void>)this[96];
    public delegate* unmanaged[Cdecl]<nint*, nint> GetAllocatorWithDefaultOptions => (delegate* unmanaged[Cdecl]<nint*, nint>)this[78];
    public delegate* unmanaged[Cdecl]<nint, void*, nint> AllocatorFree => (delegate* unmanaged[Cdecl]<nint, void*, nint>)this[76];

    // Running.
    public delegate* unmanaged[Cdecl]<nint, nint*, nint> CreateIoBinding => (delegate* unmanaged[Cdecl]<nint, nint*, nint>)this[134];
    public delegate* unmanaged[Cdecl]<nint, void> ReleaseIoBinding => (delegate* unmanaged[Cdecl]<nint, void>)this[135];
    public delegate* unmanaged[Cdecl]<nint, byte*, nint, nint> BindInput => (delegate* unmanaged[Cdecl]<nint, byte*, nint, nint>)this[136];
    public delegate* unmanaged[Cdecl]<nint, byte*, nint, nint> BindOutput => (delegate* unmanaged[Cdecl]<nint, byte*, nint, nint>)this[137];
    public delegate* unmanaged[Cdecl]<nint, nint, nint, nint> RunWithBinding => (delegate* unmanaged[Cdecl]<nint, nint, nint, nint>)this[133];

    /// <summary>Throws for a non-null status (after releasing it); <paramref name="what"/> says which call failed.</summary>
    public void Check(nint status, string what)
    {
        if (status == 0)
        {
            return;
        }

        var code = GetErrorCode(status);
        var message = Marshal.PtrToStringUTF8((nint)GetErrorMessage(status)) ?? "";
        ReleaseStatus(status);
        throw new OrtException(code, $"{what}: {message}");
    }

    /// <summary>Copies a name ORT allocated with the default allocator, then frees it there.</summary>
    public string TakeString(byte* utf8)
    {
        try
        {
            return Marshal.PtrToStringUTF8((nint)utf8) ?? "";
        }
        finally
        {
            Check(AllocatorFree(OrtEnvironment.Instance.DefaultAllocator, utf8), "AllocatorFree");
        }
    }
}

/// <summary>OrtErrorCode.</summary>
public enum OrtErrorCode
{
    Ok = 0,
    Fail = 1,
    InvalidArgument = 2,
    NoSuchFile = 3,
    NoModel = 4,
    EngineError = 5,
    RuntimeException = 6,
    InvalidProtobuf = 7,
    ModelLoaded = 8,
    NotImplemented = 9,
    InvalidGraph = 10,
    ExecutionProviderFail = 11,
}

/// <summary>ONNXTensorElementDataType (the values we use).</summary>
#pragma warning disable CA1720 // ONNX's own names for its element types
public enum OrtElementType
{
    Undefined = 0,
    Float = 1,
    Int32 = 6,
    Int64 = 7,
    Float16 = 10,
}
#pragma warning restore CA1720
