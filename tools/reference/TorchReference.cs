using System.Diagnostics;

namespace Ohem.Reference;

/// <summary>One NMS problem for torchvision, and what it answered.</summary>
internal sealed record NmsCase(bool PerClass, float[] Boxes, float[] Scores, int[] Classes, float IouThreshold, int Repeats = 1);

internal sealed record NmsAnswer(int[] Kept, double MedianSeconds);

/// <summary>
/// Drives tools/reference/torch_reference.py under Debian's /usr/bin/python3 (torch 1.13,
/// torchvision 0.14): the independent implementation our kernels are checked and timed against.
/// </summary>
internal static class TorchReference
{
    private static readonly Lazy<string?> Unavailable = new(Probe);

    /// <summary>The interpreter: OHEM_PYTHON, else Debian's (the pyenv python3 on PATH cannot import torch).</summary>
    public static string Python => Environment.GetEnvironmentVariable("OHEM_PYTHON") ?? "/usr/bin/python3";

    /// <summary>Null when torchvision can be run; otherwise why not.</summary>
    public static string? UnavailableReason => Unavailable.Value;

    public static IReadOnlyList<NmsAnswer> Nms(IReadOnlyList<NmsCase> cases, int threads = 1)
    {
        return Exchange("nms", threads, w =>
        {
            foreach (var c in cases)
            {
                w.Write(c.PerClass ? 1 : 0);
                w.Write(c.Scores.Length);
                w.Write((double)c.IouThreshold); // the float's exact value: torch compares float IoU > double
                w.Write(c.Repeats);
                Write(w, c.Boxes);
                Write(w, c.Scores);
                foreach (var k in c.Classes)
                {
                    w.Write(k);
                }
            }
        },
        output =>
        {
            using var r = new BinaryReader(File.OpenRead(output));
            var answers = new List<NmsAnswer>(cases.Count);
            for (var i = 0; i < cases.Count; i++)
            {
                var kept = new int[r.ReadInt32()];
                for (var j = 0; j < kept.Length; j++)
                {
                    kept[j] = r.ReadInt32();
                }

                answers.Add(new NmsAnswer(kept, r.ReadDouble()));
            }

            return answers;
        });
    }

    /// <summary>Per-RoI cross-entropy + [label &gt;= 1] smooth-L1 computed by torch.nn.functional.</summary>
    public static (float[] Loss, double MedianSeconds) Loss(
        float[] logits, float[] deltas, int[] labels, float[] targets, int numClasses, int repeats, int threads = 1)
    {
        return Exchange("loss", threads, w =>
        {
            w.Write(labels.Length);
            w.Write(numClasses + 1);
            w.Write(repeats);
            Write(w, logits);
            Write(w, deltas);
            foreach (var l in labels)
            {
                w.Write(l);
            }

            Write(w, targets);
        },
        output =>
        {
            using var r = new BinaryReader(File.OpenRead(output));
            var loss = new float[labels.Length];
            for (var i = 0; i < loss.Length; i++)
            {
                loss[i] = r.ReadSingle();
            }

            return (loss, r.ReadDouble());
        });
    }

    /// <summary>
    /// The Fast R-CNN head in PyTorch eager on the same inputs: per-RoI loss from its outputs, the
    /// median seconds for all RoIs and for a single RoI (the fixed per-call cost).
    /// </summary>
    public static (float[] Loss, double MedianSeconds, double OneRoiSeconds) Head(
        (int N, int C, int H, int W) shape, int pooledH, int pooledW, float scale, int[] hidden, int classes,
        IReadOnlyList<float[]> weightsInOrder, float[] features, float[] rois, int[] labels, float[] targets, int repeats, int threads)
    {
        return Exchange("head", threads, w =>
        {
            foreach (var v in new[] { shape.N, shape.C, shape.H, shape.W, pooledH, pooledW })
            {
                w.Write(v);
            }

            w.Write(scale);
            w.Write(hidden.Length);
            foreach (var v in hidden)
            {
                w.Write(v);
            }

            w.Write(classes);
            w.Write(labels.Length);
            w.Write(repeats);
            foreach (var weight in weightsInOrder)
            {
                Write(w, weight);
            }

            Write(w, features);
            Write(w, rois);
            foreach (var l in labels)
            {
                w.Write(l);
            }

            Write(w, targets);
        },
        output =>
        {
            using var r = new BinaryReader(File.OpenRead(output));
            var loss = new float[labels.Length];
            for (var i = 0; i < loss.Length; i++)
            {
                loss[i] = r.ReadSingle();
            }

            return (loss, r.ReadDouble(), r.ReadDouble());
        });
    }

    /// <summary>torchvision.ops.roi_pool on [n, c, h, w] features: the pooled output and the gradient of sum(pooled * gradOutput).</summary>
    public static (float[] Pooled, float[] GradFeatures) RoiPool(
        (int N, int C, int H, int W) shape, int pooledH, int pooledW, float scale, float[] features, float[] rois, float[] gradOutput)
    {
        return Exchange("roipool", 1, w =>
        {
            foreach (var v in new[] { shape.N, shape.C, shape.H, shape.W, pooledH, pooledW })
            {
                w.Write(v);
            }

            w.Write(scale);
            w.Write(rois.Length / 5);
            Write(w, features);
            Write(w, rois);
            Write(w, gradOutput);
        },
        output =>
        {
            using var r = new BinaryReader(File.OpenRead(output));
            var pooled = new float[gradOutput.Length];
            var grad = new float[features.Length];
            for (var i = 0; i < pooled.Length; i++)
            {
                pooled[i] = r.ReadSingle();
            }

            for (var i = 0; i < grad.Length; i++)
            {
                grad[i] = r.ReadSingle();
            }

            return (pooled, grad);
        });
    }

    /// <summary>torchvision's BoxCoder (weights 10, 10, 5, 5): encode gt against rois, decode deltas on rois.</summary>
    public static (float[] Encoded, float[] Decoded) BoxCoder(float[] rois, float[] groundTruth, float[] deltas)
    {
        return Exchange("boxcoder", 1, w =>
        {
            w.Write(rois.Length / 4);
            Write(w, rois);
            Write(w, groundTruth);
            Write(w, deltas);
        },
        output =>
        {
            var bytes = File.ReadAllBytes(output);
            var all = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
            return (all[..rois.Length], all[rois.Length..]);
        });
    }

    /// <summary>
    /// One round with the script: the request written to a temp file, the script run, the answer
    /// read from another temp file; both files removed whatever happens.
    /// </summary>
    private static T Exchange<T>(string command, int threads, Action<BinaryWriter> write, Func<string, T> read)
    {
        var input = Path.GetTempFileName();
        var output = Path.GetTempFileName();
        try
        {
            using (var w = new BinaryWriter(File.Create(input)))
            {
                write(w);
            }

            Run(command, input, output, threads);
            return read(output);
        }
        finally
        {
            File.Delete(input);
            File.Delete(output);
        }
    }

    private static void Write(BinaryWriter w, float[] values) =>
        w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));

    private static string Script => Path.Combine(AppContext.BaseDirectory, "reference", "torch_reference.py");

    private static void Run(string command, string input, string output, int threads)
    {
        var psi = new ProcessStartInfo(Python)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { Script, command, input, output, threads.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Python}");
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Python} {Script} {command} exited {p.ExitCode}: {stderr.Result}");
        }
    }

    private static string? Probe()
    {
        if (!File.Exists(Python))
        {
            return $"{Python} not found (install Debian's python3-torchvision; the README's test command does)";
        }

        try
        {
            var psi = new ProcessStartInfo(Python, ["-c", "import torchvision"])
            {
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0 ? null : $"{Python} cannot import torchvision: {err.Trim().Split('\n')[^1]}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"{Python} could not run: {e.Message}";
        }
    }
}
