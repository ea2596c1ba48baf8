namespace Ohem.Trainer.Evaluation;

/// <summary>One detected object: class 1..K, its probability, and the box (x1, y1, x2, y2) in image pixels.</summary>
public readonly record struct Detection(int Class, float Score, float X1, float Y1, float X2, float Y2);
