using System.Diagnostics;
using Ohem.Onnx.Export;

namespace Ohem.Onnx.Tests.Export;

/// <summary>
/// A fact that needs the ONNX Python package (Debian: <c>apt-get install python3-onnx</c>, loaded
/// by /usr/bin/python3). Skipped with the reason where it is missing, except under CI=true, where
/// it must run.
/// </summary>
public sealed class OnnxPythonFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Unavailable = new(() =>
    {
        var (code, output) = OnnxCheckerTests.Python("import onnx");
        return code == 0 ? null : $"/usr/bin/python3 cannot import onnx (apt-get install python3-onnx): {output.Trim()}";
    });

    public OnnxPythonFactAttribute()
    {
        var ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        if (!ci && Unavailable.Value is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>Our models against the reference implementation of the format: onnx.checker and shape inference.</summary>
public class OnnxCheckerTests
{
    private const string CheckScript = """
        import sys
        import onnx
        from onnx import shape_inference
        model = onnx.load(sys.argv[1])
        onnx.checker.check_model(model, full_check=True)
        inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
        for v in list(inferred.graph.value_info) + list(inferred.graph.output):
            dims = [d.dim_param or str(d.dim_value) for d in v.type.tensor_type.shape.dim]
            print(v.name + " " + ",".join(dims))
        """;

    public static (int ExitCode, string Output) Python(string script, params string[] args)
    {
        try
        {
            var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(script);
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, stdout + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }

    [OnnxPythonFact]
    public void The_onnx_checker_accepts_our_model_and_infers_the_declared_shapes()
    {
        var spec = new RoiHeadSpec(4, 3, 2, 0.25f, [16, 12], 3);
        var path = Path.Combine(Path.GetTempPath(), $"ohem-roi-head-{Environment.ProcessId}-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, RoiHeadExporter.Export(spec, RoiHeadExporter.RandomWeights(spec, 3)));
        try
        {
            var (code, output) = Python(CheckScript, path);

            Assert.True(code == 0, output);
            var shapes = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split(' '))
                .ToDictionary(parts => parts[0], parts => parts[1], StringComparer.Ordinal);
            Assert.Equal("R,4,3,2", shapes["pooled"]);
            Assert.Equal("R,24", shapes["flattened"]);
            Assert.Equal("R,16", shapes["fc6_relu"]);
            Assert.Equal("R,12", shapes["fc7_relu"]);
            Assert.Equal("R,4", shapes["cls_score"]);
            Assert.Equal("R,16", shapes["bbox_pred"]);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
