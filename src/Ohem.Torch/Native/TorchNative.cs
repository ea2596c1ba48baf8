using System.Reflection;
using System.Runtime.InteropServices;

namespace Ohem.Torch.Native;

/// <summary>
/// The entry points of libohem_torch.so (native/ohem_torch.h), one table. Each returns a status:
/// 0 = ok; otherwise <see cref="Check"/> throws a <see cref="TorchException"/> with the shim's
/// message, read on the same thread right after the call.
/// </summary>
internal static unsafe partial class TorchNative
{
    private const string Library = "ohem_torch";

    static TorchNative() => NativeLibrary.SetDllImportResolver(typeof(TorchNative).Assembly, Resolve);

    /// <summary>Throws the shim's message when <paramref name="status"/> is not 0.</summary>
    public static void Check(int status, string call)
    {
        if (status != 0)
        {
            var message = Marshal.PtrToStringUTF8(ohem_torch_last_error()) ?? "unknown error";
            throw new TorchException($"{call}: {message}");
        }
    }

    // The shim lives beside this assembly (the build copies it there); libtorch comes from the system.
    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library)
        {
            return 0;
        }

        // libgomp reads its wait policy once, when it loads with libtorch. Its default spins idle
        // workers, and on a busy machine (the miner's threads, other processes) a spinning worker
        // steals the core another worker needs to finish the region: measured on 2 loaded cores,
        // one training iteration took 250 ms at 2 threads spinning, 76 ms passive (80 ms at 1 thread).
        // An explicit OMP_WAIT_POLICY in the environment wins (overwrite = 0).
        try
        {
            _ = setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: keep libgomp's default.
        }

        var path = Path.Combine(Path.GetDirectoryName(assembly.Location) ?? AppContext.BaseDirectory, "libohem_torch.so");
        try
        {
            return NativeLibrary.Load(File.Exists(path) ? path : "libohem_torch.so");
        }
        catch (DllNotFoundException e)
        {
            throw new DllNotFoundException(
                $"libohem_torch.so (the libtorch shim) could not be loaded from {path}: {e.Message} "
                + "Build the solution with libtorch installed (scripts/setup.sh installs libtorch-dev).", e);
        }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);

    [LibraryImport(Library)]
    internal static partial nint ohem_torch_last_error();

    [LibraryImport(Library)]
    internal static partial int ohem_torch_version(out nint version);

    [LibraryImport(Library)]
    internal static partial int ohem_torch_set_threads(int threads);

    [LibraryImport(Library)]
    internal static partial int ohem_torch_get_threads(out int threads);

    [LibraryImport(Library)]
    internal static partial int ohem_detector_create(
        int inputChannels, int* backboneChannels, int backboneCount, int stride, int pooledSize,
        int* hiddenSizes, int hiddenCount, int numClasses, float momentum, float weightDecay, long seed,
        out DetectorHandle detector);

    [LibraryImport(Library)]
    internal static partial int ohem_detector_free(nint detector);

    [LibraryImport(Library)]
    internal static partial int ohem_detector_backbone(
        DetectorHandle detector, float* images, int count, int height, int width, out FeatureMapsHandle features, long* shape);

    [LibraryImport(Library)]
    internal static partial int ohem_features_free(nint features);

    [LibraryImport(Library)]
    internal static partial int ohem_features_copy(FeatureMapsHandle features, float* destination, long length);

    [LibraryImport(Library)]
    internal static partial int ohem_detector_infer_head(
        DetectorHandle detector, FeatureMapsHandle features, float* rois, long count, float* clsScores, float* bboxPred);

    [LibraryImport(Library)]
    internal static partial int ohem_detector_train_head(
        DetectorHandle detector, FeatureMapsHandle features, float* rois, long count, int* labels, float* targets,
        float* weights, float* perRoiLoss, out float loss);

    [LibraryImport(Library)]
    internal static partial int ohem_detector_step(DetectorHandle detector, float learningRate);

    [LibraryImport(Library)]
    internal static partial int ohem_detector_parameter_count(DetectorHandle detector, out int count);

    [LibraryImport(Library)]
    internal static partial int ohem_detector_parameter_info(DetectorHandle detector, int index, out nint name, out int rank, long* shape);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ohem_detector_copy_parameter(DetectorHandle detector, string name, float* destination, long length);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ohem_detector_copy_gradient(DetectorHandle detector, string name, float* destination, long length);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ohem_detector_set_parameter(DetectorHandle detector, string name, float* source, long length);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ohem_detector_save(DetectorHandle detector, string path);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ohem_detector_load(DetectorHandle detector, string path);

    [LibraryImport(Library)]
    internal static partial int ohem_roi_max_pool(
        float* features, long n, long c, long h, long w, float* rois, long count, int pooledH, int pooledW,
        float spatialScale, float* output);

    [LibraryImport(Library)]
    internal static partial int ohem_roi_max_pool_backward(
        float* features, long n, long c, long h, long w, float* rois, long count, int pooledH, int pooledW,
        float spatialScale, float* gradOutput, float* gradFeatures);
}
