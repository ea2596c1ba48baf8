namespace Ohem.Trainer.Data;

/// <summary>
/// A small deterministic generator (xoshiro256**, seeded through SplitMix64) for the bundled data.
/// System.Random's seeded sequence is not promised to stay the same across .NET versions, and
/// HashCode is randomised per process; the data must be the same on every machine and run.
/// A mutable struct: pass it by reference.
/// </summary>
internal struct SeededRandom
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>A generator for one (seed, stream, index) triple; different triples give independent sequences.</summary>
    public SeededRandom(int seed, ulong stream, long index = 0)
    {
        var x = Mix(seed, stream, index);
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>A 31-bit seed derived from the three parts, for handing to another seeded component.</summary>
    public static int DeriveSeed(int seed, ulong stream, long index)
    {
        var x = Mix(seed, stream, index);
        return (int)(SplitMix(ref x) >> 33);
    }

    public ulong NextUInt64()
    {
        var result = RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1).</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform in [0, 1), double precision.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public float Uniform(float low, float high) => low + (high - low) * NextFloat();

    /// <summary>Uniform integer in [0, <paramref name="maxExclusive"/>); <paramref name="maxExclusive"/> &gt; 0.</summary>
    public int Next(int maxExclusive) => (int)(((NextUInt64() >> 32) * (ulong)maxExclusive) >> 32);

    /// <summary>Uniform integer in [<paramref name="min"/>, <paramref name="maxInclusive"/>].</summary>
    public int NextInclusive(int min, int maxInclusive) => min + Next(maxInclusive - min + 1);

    /// <summary>Log-uniform in [<paramref name="low"/>, <paramref name="high"/>], both positive.</summary>
    public float LogUniform(float low, float high) => low * MathF.Exp(NextFloat() * MathF.Log(high / low));

    /// <summary>A standard normal sample (Box-Muller, one of the pair).</summary>
    public float Gaussian()
    {
        var u = 1.0 - NextDouble(); // (0, 1]: the log stays finite
        var v = NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2.0 * Math.PI * v));
    }

    private static ulong Mix(int seed, ulong stream, long index)
    {
        var x = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL;
        x ^= stream * 0xC2B2AE3D27D4EB4FUL + 0x165667B19E3779F9UL;
        x = Finalize(x);
        x ^= (ulong)index * 0xD6E8FEB86659FD93UL;
        return Finalize(x);
    }

    private static ulong Finalize(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong SplitMix(ref ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        return Finalize(x);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
