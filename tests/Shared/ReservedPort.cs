using System.Net;
using System.Net.Sockets;

namespace Ohem.Testing;

/// <summary>
/// A loopback TCP port held for as long as this lives by a bound socket that never listens.
/// Connecting to it is refused at once, like a dead server, and no other socket can be given the
/// port meanwhile: bind(0) and outgoing connections skip ports that are bound. A port that was
/// only probed and then let go can be taken by a server in another test (the test assemblies run
/// in parallel). Our own server can still listen on the port to play a miner that restarts at the
/// same address: both sockets set SO_REUSEADDR (.NET does so for every TCP bind on Linux), and
/// only one of them listens.
/// </summary>
internal sealed class ReservedPort : IDisposable
{
    private readonly Socket _socket;

    private ReservedPort(Socket socket)
    {
        _socket = socket;
        Port = ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public int Port { get; }

    /// <summary>http://127.0.0.1:port, for clients and for a server's listen address.</summary>
    public Uri Http => new($"http://127.0.0.1:{Port}");

    public static ReservedPort Reserve()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return new ReservedPort(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => _socket.Dispose();
}
