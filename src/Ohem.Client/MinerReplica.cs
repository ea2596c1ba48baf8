using Grpc.Net.Client;
using Ohem.Protocol.V1;

namespace Ohem.Client;

/// <summary>
/// One miner replica: its address, the channel to it, and whether it has joined, i.e. holds what
/// this client wrote (the jobs' models and newest weights) and so may be given Mine streams.
/// </summary>
internal sealed class MinerReplica(string address, GrpcChannel channel) : IDisposable
{
    private volatile bool _joined;
    private volatile bool _removed;

    /// <summary>http://host:port/ (as given, for one replica; from the resolved address, for a name).</summary>
    public string Address { get; } = address;

    public HardExampleMiner.HardExampleMinerClient Client { get; } = new(channel);

    /// <summary>Set (under the client's write lock) once the replica has taken the client's writes so far.</summary>
    public bool Joined
    {
        get => _joined;
        set => _joined = value;
    }

    /// <summary>Gone from the resolution: no more writes or streams; its channel is closed.</summary>
    public bool Removed => _removed;

    /// <summary>The join in progress or last tried (under <see cref="ReplicaSet"/>'s lock).</summary>
    public Task Joining { get; set; } = Task.CompletedTask;

    public void Dispose()
    {
        _removed = true;
        channel.Dispose();
    }
}
