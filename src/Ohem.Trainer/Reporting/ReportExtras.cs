namespace Ohem.Trainer.Reporting;

/// <summary>A section a caller adds to report.md: a heading and markdown under it.</summary>
public sealed record ReportSection(string Heading, string Markdown);

/// <summary>Where the report is: a description of the current task, and how many of the total tasks are done.</summary>
public readonly record struct ReportProgress(string Description, int Done, int Total);

/// <summary>Optional settings of <see cref="RunReport.Write"/>.</summary>
public sealed record ReportExtras
{
    /// <summary>report.md's title.</summary>
    public string Title { get; init; } = "Hard-example mining: training report";

    /// <summary>Validation canvases in the gallery (0: no gallery).</summary>
    public int GalleryCanvases { get; init; } = 4;

    /// <summary>Gallery pixels per canvas pixel.</summary>
    public int GalleryScale { get; init; } = 3;

    /// <summary>Validation canvases to re-evaluate each checkpoint on (default: each run's own ValidationImages).</summary>
    public int? ValidationImages { get; init; }

    /// <summary>libtorch threads for evaluation.</summary>
    public int Threads { get; init; } = 2;

    /// <summary>Sections appended after the report's own (notes, benchmark tables).</summary>
    public IReadOnlyList<ReportSection> Sections { get; init; } = [];

    /// <summary>Called as the report goes (the CLI shows it as a progress bar).</summary>
    public Action<ReportProgress>? Progress { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field out of range.</summary>
    public void Validate()
    {
        if (GalleryCanvases < 0)
        {
            throw new ArgumentException($"ReportExtras.GalleryCanvases is {GalleryCanvases}; expected at least 0.", nameof(GalleryCanvases));
        }

        if (GalleryScale is < 1 or > 16)
        {
            throw new ArgumentException($"ReportExtras.GalleryScale is {GalleryScale}; expected 1..16.", nameof(GalleryScale));
        }

        if (ValidationImages is < 1)
        {
            throw new ArgumentException($"ReportExtras.ValidationImages is {ValidationImages}; expected at least 1.", nameof(ValidationImages));
        }

        if (Threads < 1)
        {
            throw new ArgumentException($"ReportExtras.Threads is {Threads}; expected at least 1.", nameof(Threads));
        }
    }
}
