using System.Globalization;
using System.Text.Json;
using Ohem.Trainer.Evaluation;
using Ohem.Trainer.Tests.Support;

namespace Ohem.Trainer.Tests.Evaluation;

public sealed class VocEvaluatorTests
{
    [Fact]
    public void Perfect_detections_score_one_and_no_detections_zero()
    {
        var perfect = new VocEvaluator(3);
        var empty = new VocEvaluator(3);
        float[] boxes = [0, 0, 10, 10, 20, 20, 40, 30, 5, 50, 25, 90];
        int[] classes = [1, 2, 3];
        for (var img = 0; img < 4; img++)
        {
            var detections = Enumerable.Range(0, 3).Select(j => new Detection(classes[j], 0.9f - (0.1f * j), boxes[4 * j], boxes[(4 * j) + 1], boxes[(4 * j) + 2], boxes[(4 * j) + 3])).ToList();
            perfect.Add(boxes, classes, detections);
            empty.Add(boxes, classes, []);
        }

        var p = perfect.Compute();
        Assert.All(p.ApPerClass, ap => Assert.Equal(1f, ap));
        Assert.Equal(1f, p.MeanAp);
        var e = empty.Compute();
        Assert.All(e.ApPerClass, ap => Assert.Equal(0f, ap));
        Assert.Equal(0f, e.MeanAp);
    }

    [Fact]
    public void A_hand_computed_precision_recall_curve()
    {
        // Three ground truths of class 1 in two images; detections by score: TP, FP, TP, FP, TP.
        // precision 1, 1/2, 2/3, 1/2, 3/5 at recall 1/3, 1/3, 2/3, 2/3, 1.
        // All points: 1/3 x 1 + 1/3 x 2/3 + 1/3 x 3/5 = 0.755556.
        // 11 points: recall >= 0, .1, .2, .3 -> 1; .4, .5, .6 -> 2/3; .7 .. 1 -> 3/5: (4 + 2 + 2.4) / 11 = 0.763636.
        foreach (var (use07, expected) in new[] { (false, (1.0 + (2.0 / 3) + 0.6) / 3), (true, 8.4 / 11) })
        {
            var voc = new VocEvaluator(1, use07Metric: use07);
            voc.Add([0, 0, 10, 10, 20, 0, 30, 10], [1, 1], [
                new Detection(1, 0.9f, 0, 0, 10, 10), // TP
                new Detection(1, 0.8f, 50, 50, 60, 60), // FP: nothing there
                new Detection(1, 0.7f, 20, 0, 30, 11), // TP (IoU 10/11)
            ]);
            voc.Add([5, 5, 25, 25], [1], [
                new Detection(1, 0.6f, 60, 60, 70, 70), // FP
                new Detection(1, 0.5f, 5, 5, 25, 24), // TP (IoU 0.95)
            ]);
            var result = voc.Compute();
            Assert.Equal(expected, result.ApPerClass[0], 6);
            Assert.Equal(expected, result.MeanAp, 6);
        }
    }

    [Fact]
    public void A_duplicate_is_a_false_positive()
    {
        // Two ground truths; the duplicate of the first (0.8) ranks above the second's match (0.7):
        // precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 -> AP = 1/2 + 1/2 x 2/3 = 0.8333 (1 if duplicates were free).
        var voc = new VocEvaluator(1);
        voc.Add([0, 0, 10, 10, 30, 30, 40, 40], [1, 1], [
            new Detection(1, 0.9f, 0, 0, 10, 10),
            new Detection(1, 0.8f, 0, 0, 10, 10),
            new Detection(1, 0.7f, 30, 30, 40, 40),
        ]);
        Assert.Equal(0.5 + (0.5 * 2.0 / 3), voc.Compute().MeanAp, 6);
    }

    [Fact]
    public void Iou_must_exceed_the_threshold_and_the_class_must_match()
    {
        var voc = new VocEvaluator(2);
        voc.Add([0, 0, 10, 10], [1], [new Detection(1, 0.9f, 0, 0, 10, 20)]); // IoU exactly 0.5: not a match (voc_eval's >)
        voc.Add([0, 0, 10, 10], [1], [new Detection(2, 0.9f, 0, 0, 10, 10)]); // right box, wrong class
        var result = voc.Compute();
        Assert.Equal(0f, result.ApPerClass[0]);
        Assert.True(float.IsNaN(result.ApPerClass[1])); // class 2 has no ground truth: undefined, left out of the mean
        Assert.Equal(0f, result.MeanAp);

        var justOver = new VocEvaluator(1);
        justOver.Add([0, 0, 10, 10], [1], [new Detection(1, 0.9f, 0, 0, 10, 19.9f)]);
        Assert.Equal(1f, justOver.Compute().MeanAp);
        Assert.True(float.IsNaN(new VocEvaluator(2).Compute().MeanAp));
    }

    [Fact]
    public void Bad_input_is_rejected_by_name()
    {
        var voc = new VocEvaluator(2);
        Assert.Equal("gtClasses", Assert.Throws<ArgumentException>(() => voc.Add([0, 0, 1, 1], [3], [])).ParamName);
        Assert.Equal("gtClasses", Assert.Throws<ArgumentException>(() => voc.Add([0, 0, 1, 1], [], [])).ParamName);
        Assert.Equal("detections", Assert.Throws<ArgumentException>(() => voc.Add([], [], [new Detection(0, 1, 0, 0, 1, 1)])).ParamName);
        Assert.Equal("detections", Assert.Throws<ArgumentException>(() => voc.Add([], [], [new Detection(1, float.NaN, 0, 0, 1, 1)])).ParamName);
        Assert.Equal("gtBoxes", Assert.Throws<ArgumentException>(() => voc.Add([0, 0, 1], [1], [])).ParamName);
        Assert.Equal(0, voc.ImageCount);
    }

    [NeedsFact(Needs.Numpy)]
    public void Ap_equals_py_faster_rcnns_voc_eval_on_random_detections()
    {
        var problems = new List<(int Classes, float Iou, bool Use07, List<(float[] Boxes, int[] Classes, Detection[] Detections)> Images)>();
        for (var seed = 0; seed < 40; seed++)
        {
            problems.Add(RandomProblem(seed));
        }

        var directory = Directory.CreateTempSubdirectory("ohem-voc-").FullName;
        try
        {
            var input = Path.Combine(directory, "problems.json");
            var output = Path.Combine(directory, "aps.txt");
            WriteProblems(input, problems);
            DebianPython.Run(DebianPython.ReferenceScript("voc_reference.py"), input, output);
            var lines = File.ReadAllLines(output);
            var line = 0;
            var compared = 0;
            foreach (var (classes, iou, use07, images) in problems)
            {
                var voc = new VocEvaluator(classes, iou, use07);
                foreach (var (boxes, gtClasses, detections) in images)
                {
                    voc.Add(boxes, gtClasses, detections);
                }

                var result = voc.Compute();
                foreach (var ours in result.ApPerClass.Append(result.MeanAp))
                {
                    var reference = double.Parse(lines[line++], CultureInfo.InvariantCulture);
                    if (double.IsNaN(reference))
                    {
                        Assert.True(float.IsNaN(ours), $"line {line}: reference NaN, ours {ours}");
                    }
                    else
                    {
                        Assert.True(Math.Abs(ours - reference) < 1e-6, $"line {line}: ours {ours}, voc_eval {reference}");
                        compared += reference is > 0 and < 1 ? 1 : 0;
                    }
                }
            }

            Assert.Equal(lines.Length, line);
            Assert.True(compared > 100, $"only {compared} APs strictly between 0 and 1 were compared");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Images with 0-5 objects; detections jittered around them (some duplicates, some misses) and random boxes, with distinct scores.</summary>
    private static (int, float, bool, List<(float[], int[], Detection[])>) RandomProblem(int seed)
    {
        var rng = new Random(seed);
        var classes = 1 + rng.Next(5);
        var iou = seed % 3 == 0 ? 0.5f : (float)(0.3 + (0.5 * rng.NextDouble()));
        var images = new List<(float[], int[], Detection[])>();
        var scores = new HashSet<float>();
        float NextScore()
        {
            float s;
            do
            {
                s = (float)rng.NextDouble();
            }
            while (!scores.Add(s));
            return s;
        }

        for (var img = 0; img < 3 + rng.Next(10); img++)
        {
            var g = rng.Next(6);
            var boxes = new float[4 * g];
            var gtClasses = new int[g];
            var detections = new List<Detection>();
            for (var j = 0; j < g; j++)
            {
                float x = rng.Next(100), y = rng.Next(100), w = 5 + rng.Next(40), h = 5 + rng.Next(40);
                (boxes[4 * j], boxes[(4 * j) + 1], boxes[(4 * j) + 2], boxes[(4 * j) + 3]) = (x, y, x + w, y + h);
                gtClasses[j] = 1 + rng.Next(classes);
                for (var d = rng.Next(4); d > 0; d--)
                {
                    var jx = (float)(rng.NextDouble() - 0.5) * 0.6f * w;
                    var jy = (float)(rng.NextDouble() - 0.5) * 0.6f * h;
                    var c = rng.NextDouble() < 0.85 ? gtClasses[j] : 1 + rng.Next(classes);
                    detections.Add(new Detection(c, NextScore(), x + jx, y + jy, x + w + jx, y + h + jy));
                }
            }

            for (var d = rng.Next(5); d > 0; d--)
            {
                float x = rng.Next(120), y = rng.Next(120);
                detections.Add(new Detection(1 + rng.Next(classes), NextScore(), x, y, x + 3 + rng.Next(40), y + 3 + rng.Next(40)));
            }

            images.Add((boxes, gtClasses, detections.OrderBy(_ => rng.Next()).ToArray()));
        }

        return (classes, iou, seed % 4 == 1, images);
    }

    private static void WriteProblems(string path, List<(int Classes, float Iou, bool Use07, List<(float[] Boxes, int[] Classes, Detection[] Detections)> Images)> problems)
    {
        using var file = File.Create(path);
        using var json = new Utf8JsonWriter(file);
        json.WriteStartArray();
        foreach (var (classes, iou, use07, images) in problems)
        {
            json.WriteStartObject();
            json.WriteNumber("num_classes", classes);
            json.WriteNumber("iou", (double)iou); // the float's exact value, as our comparison sees it
            json.WriteBoolean("use_07_metric", use07);
            json.WriteStartArray("images");
            foreach (var (boxes, gtClasses, detections) in images)
            {
                json.WriteStartObject();
                json.WriteStartArray("gt_boxes");
                for (var j = 0; j < gtClasses.Length; j++)
                {
                    WriteDoubles(json, boxes.AsSpan(4 * j, 4).ToArray());
                }

                json.WriteEndArray();
                json.WriteStartArray("gt_classes");
                foreach (var c in gtClasses)
                {
                    json.WriteNumberValue(c);
                }

                json.WriteEndArray();
                json.WriteStartArray("detections");
                foreach (var d in detections)
                {
                    WriteDoubles(json, [d.Class, d.Score, d.X1, d.Y1, d.X2, d.Y2]);
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteDoubles(Utf8JsonWriter json, float[] values)
    {
        json.WriteStartArray();
        foreach (var v in values)
        {
            json.WriteNumberValue((double)v); // exact float32 values
        }

        json.WriteEndArray();
    }
}
