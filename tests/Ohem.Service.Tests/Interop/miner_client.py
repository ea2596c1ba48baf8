#!/usr/bin/python3
"""A grpcio client (Debian's python3-grpcio) calling every RPC of a running miner.

Usage: miner_client.py ADDRESS WORKDIR STUBS
  ADDRESS  host:port of the miner (cleartext HTTP/2)
  WORKDIR  holds model.onnx, weights.json + weights.bin (float32), batch.bin (a serialized
           MineRequest); responses.bin is written there (length-prefixed MineResponses)
  STUBS    folder with the stubs generated from protos/ by grpc_tools.protoc
Prints one line per check; exits 1 at the first failure.
"""
import json
import os
import struct
import sys

address, workdir, stubs = sys.argv[1:4]
sys.path.insert(0, stubs)

import grpc  # noqa: E402

grpc.__path__.append(os.path.join(stubs, "grpc"))  # the generated grpc/health/v1 beside the installed grpc package
from grpc.health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from ohem.v1 import miner_pb2, miner_pb2_grpc  # noqa: E402


def check(condition, what):
    if not condition:
        print(f"FAIL {what}", flush=True)
        sys.exit(1)
    print(f"ok {what}", flush=True)


def expect_status(code, call, what):
    try:
        call()
    except grpc.RpcError as error:
        check(error.code() == code, f"{what}: {error.code()} ({error.details()})")
        return
    check(False, f"{what}: no error")


channel = grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 64 << 20),
                                                  ("grpc.max_send_message_length", 64 << 20)])
miner = miner_pb2_grpc.HardExampleMinerStub(channel)
health = health_pb2_grpc.HealthStub(channel)

serving = health.Check(health_pb2.HealthCheckRequest(service="ohem.v1.HardExampleMiner"), timeout=10)
check(serving.status == health_pb2.HealthCheckResponse.SERVING, "Health.Check SERVING")

with open(os.path.join(workdir, "model.onnx"), "rb") as f:
    registered = miner.RegisterModel(miner_pb2.RegisterModelRequest(job_id="py", onnx_model=f.read()), timeout=30)
check(registered.num_classes == 3 and len(registered.weights) > 0, f"RegisterModel: {registered.num_classes} classes")

layout = json.load(open(os.path.join(workdir, "weights.json")))
data = open(os.path.join(workdir, "weights.bin"), "rb").read()


def chunks():
    first = True
    for weight in layout:
        start, count = weight["offset"], weight["count"]
        half = count // 2  # two chunks per tensor, second one first: order must not matter
        for offset, length in ((half, count - half), (0, half)):
            if length == 0:
                continue
            chunk = miner_pb2.TensorChunk(name=weight["name"], shape=weight["shape"], offset=offset,
                                          dtype=miner_pb2.DATA_TYPE_FLOAT32,
                                          data=data[4 * (start + offset):4 * (start + offset + length)])
            yield miner_pb2.PublishWeightsRequest(job_id="py" if first else "", version=1 if first else 0, chunk=chunk)
            first = False


published = miner.PublishWeights(chunks(), timeout=30)
check(list(published.versions_held) == [1], f"PublishWeights: held {list(published.versions_held)}")

status = miner.GetStatus(miner_pb2.GetStatusRequest(job_id="py"), timeout=10)
check([v.version for v in status.jobs[0].versions] == [1], "GetStatus: version 1 held")

batch = miner_pb2.MineRequest.FromString(open(os.path.join(workdir, "batch.bin"), "rb").read())
second = miner_pb2.MineRequest()
second.CopyFrom(batch)
second.batch_id = batch.batch_id + 1
responses = list(miner.Mine(iter([batch, second]), timeout=60))
check([r.batch_id for r in responses] == [batch.batch_id, second.batch_id], "Mine: one response per batch, in order")
check(all(not r.HasField("error") and r.weights_version == 1 for r in responses), "Mine: scored with version 1")
with open(os.path.join(workdir, "responses.bin"), "wb") as out:
    for r in responses:
        payload = r.SerializeToString()
        out.write(struct.pack("<i", len(payload)))
        out.write(payload)

expect_status(grpc.StatusCode.NOT_FOUND, lambda: miner.GetStatus(miner_pb2.GetStatusRequest(job_id="ghost"), timeout=10),
              "GetStatus of an unknown job")

waiting = miner_pb2.MineRequest()
waiting.CopyFrom(batch)
waiting.weights_version = 99  # not installed: the miner waits for it; our deadline ends the call first
expect_status(grpc.StatusCode.DEADLINE_EXCEEDED, lambda: list(miner.Mine(iter([waiting]), timeout=0.5)),
              "Mine past its deadline")

miner.DeleteJob(miner_pb2.DeleteJobRequest(job_id="py"), timeout=10)
expect_status(grpc.StatusCode.NOT_FOUND, lambda: miner.DeleteJob(miner_pb2.DeleteJobRequest(job_id="py"), timeout=10),
              "DeleteJob twice")
print("ALL OK", flush=True)
