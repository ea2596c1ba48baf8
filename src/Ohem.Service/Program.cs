// The miner: `dotnet Ohem.Service.dll [--Miner:Listen http://0.0.0.0:50051]`, or OHEM__Miner__Listen.
await Ohem.Service.MinerHost.Build(args).RunAsync();
