#!/usr/bin/python3
"""Fuzzes a running miner with an independent client (Debian's python3-grpcio): random bytes and
mutations of valid messages on every method, sent as raw bytes so that nothing on this side
parses or fixes them.

Usage: miner_fuzz.py ADDRESS WORKDIR STUBS PID SEED MESSAGES SECONDS TOKEN
  ADDRESS   host:port of the miner (cleartext HTTP/2), started with TOKEN as its write token
  WORKDIR   model.onnx, weights.json + weights.bin (float32), batch.bin (a serialized MineRequest)
  STUBS     stubs generated from protos/ by grpc_tools.protoc
  PID       the miner's process id, for its resident memory (/proc/PID/status)
  SEED      the generator's seed: the same seed sends the same messages
  MESSAGES  how many fuzzed calls at most; SECONDS: for how long at most
First sends the exact inputs of earlier findings (a 2 GB length prefix in a packed float field;
300 back-to-back streaming calls rejected before their request stream is read). Then asserts,
and exits 1 at the first failure naming the seed, the call and its bytes:
  - every call ends within its 1 s deadline with a status from the documented set (and UNKNOWN
    only for a unary request that does not parse, grpc-dotnet's own answer);
  - the miner's resident memory stays under its start plus MAX_GROWTH_MB;
  - health stays SERVING (checked every HEALTH_EVERY calls);
  - a rejected write leaves GetStatus unchanged (jobs, versions held);
  - afterwards a valid register, publish and Mine round trip works.
Prints a summary (calls per method and status, slowest call, memory) and ALL OK.
"""
import json
import os
import random
import sys
import time
from collections import Counter

address, workdir, stubs, pid, seed, messages, seconds, token = sys.argv[1:9]
pid, seed, messages, seconds = int(pid), int(seed), int(messages), float(seconds)
sys.path.insert(0, stubs)

import grpc  # noqa: E402

grpc.__path__.append(os.path.join(stubs, "grpc"))
from ohem.v1 import miner_pb2  # noqa: E402

DEADLINE = 1.0
MAX_GROWTH_MB = 512
HEALTH_EVERY = 100
MINER = "/ohem.v1.HardExampleMiner/"
# What the API documents (miner.proto's header): the service's own codes, INTERNAL for a message
# that does not parse, UNIMPLEMENTED for a method that does not exist. Not RESOURCE_EXHAUSTED:
# every message here is far under the size limits, so it would be a refused stream (Kestrel's
# ENHANCE_YOUR_CALM) or a status too large for the client's header limit.
ALLOWED = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
           grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.FAILED_PRECONDITION,
           grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNIMPLEMENTED}
WRITES = {"RegisterModel", "PublishWeights", "DeleteJob"}
UNARY = {"RegisterModel", "GetStatus", "DeleteJob", "Health"}

rng = random.Random(seed)
channel = grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 64 << 20),
                                                  ("grpc.max_send_message_length", 64 << 20)])
raw = dict(request_serializer=None, response_deserializer=None)


def fail(what):
    print(f"FAIL (seed {seed}) {what}", flush=True)
    sys.exit(1)


def auth(good=True):
    return [("authorization", f"Bearer {token}")] if good else []


def rss_mb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# ---- valid seeds ----------------------------------------------------------------------------
model = open(os.path.join(workdir, "model.onnx"), "rb").read()
layout = json.load(open(os.path.join(workdir, "weights.json")))
weights = open(os.path.join(workdir, "weights.bin"), "rb").read()
batch = miner_pb2.MineRequest.FromString(open(os.path.join(workdir, "batch.bin"), "rb").read())


def publish_messages(job, version):
    out = []
    for i, w in enumerate(layout):
        chunk = miner_pb2.TensorChunk(name=w["name"], shape=w["shape"], offset=0, dtype=miner_pb2.DATA_TYPE_FLOAT32,
                                      data=weights[4 * w["offset"]:4 * (w["offset"] + w["count"])])
        out.append(miner_pb2.PublishWeightsRequest(job_id=job if i == 0 else "", version=version if i == 0 else 0,
                                                   chunk=chunk).SerializeToString())
    return out


def unary(method, body, metadata=(), compression=None):
    return channel.unary_unary(method, **raw)(body, timeout=DEADLINE, metadata=metadata, compression=compression)


def stream(method, bodies, metadata=(), compression=None):
    return list(channel.stream_stream(method, **raw)(iter(bodies), timeout=DEADLINE, metadata=metadata,
                                                     compression=compression))


def jobs_snapshot():
    status = miner_pb2.GetStatusResponse.FromString(unary(MINER + "GetStatus", b""))
    return sorted((j.job_id, j.num_classes, tuple(v.version for v in j.versions)) for j in status.jobs)


def healthy():
    # HealthCheckResponse{status: SERVING} is the two bytes 08 01.
    return channel.unary_unary("/grpc.health.v1.Health/Check", **raw)(b"", timeout=5) == b"\x08\x01"


unary(MINER + "RegisterModel", miner_pb2.RegisterModelRequest(job_id="fuzz", onnx_model=model, replace=True).SerializeToString(),
      metadata=auth(), compression=None)
channel.stream_unary(MINER + "PublishWeights", **raw)(iter(publish_messages("fuzz", 1)), timeout=30, metadata=auth())
mined = [miner_pb2.MineResponse.FromString(r) for r in stream(MINER + "Mine", [batch.SerializeToString()])]
if len(mined) != 1 or mined[0].HasField("error"):
    fail(f"the valid batch before fuzzing was not mined: {mined}")

SEEDS_PUBLISH = publish_messages("fuzz", 2)
SEEDS = {
    "Mine": [batch.SerializeToString()],
    "PublishWeights": SEEDS_PUBLISH,
    "RegisterModel": [miner_pb2.RegisterModelRequest(job_id="fuzz2", onnx_model=model).SerializeToString()],
    "GetStatus": [miner_pb2.GetStatusRequest(job_id="fuzz").SerializeToString()],
    "DeleteJob": [miner_pb2.DeleteJobRequest(job_id="ghost").SerializeToString()],
}


# ---- mutations ------------------------------------------------------------------------------
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def fields(data):
    """Top-level (start, end, tag, payload_start) of each field, as far as the bytes parse."""
    out, i = [], 0
    while i < len(data):
        start = i
        tag, shift = 0, 0
        while i < len(data) and shift < 64:
            tag |= (data[i] & 0x7F) << shift
            i += 1
            if not data[i - 1] & 0x80:
                break
            shift += 7
        wire = tag & 7
        if wire == 0:
            while i < len(data) and data[i] & 0x80:
                i += 1
            i += 1
            payload = i
        elif wire == 1:
            payload, i = i, i + 8
        elif wire == 5:
            payload, i = i, i + 4
        elif wire == 2:
            length, shift = 0, 0
            while i < len(data) and shift < 64:
                length |= (data[i] & 0x7F) << shift
                i += 1
                if not data[i - 1] & 0x80:
                    break
                shift += 7
            payload, i = i, i + length
        else:
            return out
        if i > len(data):
            return out
        out.append((start, i, tag, payload))
    return out


def mutate(data, depth=0):
    data = bytearray(data)
    op = rng.randrange(11)
    fs = fields(bytes(data))
    if op == 0 and data:  # bit flips
        for _ in range(rng.randint(1, 8)):
            p = rng.randrange(len(data))
            data[p] ^= 1 << rng.randrange(8)
    elif op == 1:  # truncation
        data = data[:rng.randrange(len(data) + 1)]
    elif op == 2:  # random bytes
        n = rng.choice([0, 1, 2, 7, 64, 300, 4096])
        data = bytearray(rng.getrandbits(8) for _ in range(n))
    elif op == 3:  # a huge length prefix on a length-delimited field (packed floats, bytes, messages)
        field = rng.randint(1, 9)
        length = rng.choice([0x7FFFFFF0, 0xFFFFFFFF, 1 << 62, (1 << 64) - 1, 1 << 31])
        data += varint(field << 3 | 2) + varint(length) + bytes(rng.getrandbits(8) for _ in range(16))
    elif op == 4 and fs:  # off-by-n length of an existing length-delimited field
        candidates = [f for f in fs if f[2] & 7 == 2]
        if candidates:
            start, end, tag, payload = rng.choice(candidates)
            length = max(0, end - payload + rng.choice([-3, -2, -1, 1, 2, 3, 1000]))
            data = data[:start] + varint(tag) + varint(length) + data[payload:]
    elif op == 5 and fs:  # wrong wire type
        start, end, tag, payload = rng.choice(fs)
        data = data[:start] + varint((tag & ~7) | rng.choice([0, 1, 2, 3, 4, 5, 6, 7])) + data[start + len(varint(tag)):]
    elif op == 6:  # over-long varint (11 bytes, no end)
        data += varint(rng.randint(1, 9) << 3) + b"\xff" * rng.choice([10, 11, 20]) + b"\x01"
    elif op == 7 and fs:  # a duplicated field
        start, end, _, _ = rng.choice(fs)
        data += data[start:end]
    elif op == 8:  # deep groups
        data = bytearray(varint(1 << 3 | 3) * rng.choice([100, 1000, 20000])) + data
    elif op == 9 and fs and depth < 3:  # mutate inside a nested message, fixing its length
        candidates = [f for f in fs if f[2] & 7 == 2]
        if candidates:
            start, end, tag, payload = rng.choice(candidates)
            inner = mutate(bytes(data[payload:end]), depth + 1)
            data = data[:start] + varint(tag) + varint(len(inner)) + inner + data[end:]
    else:  # a valid message, untouched: some calls must still succeed
        pass
    return bytes(data)


def body_for(method):
    return mutate(rng.choice(SEEDS[method]))


# ---- regressions: the exact inputs an adversarial client found --------------------------------
def expect(codes, call, what):
    t0 = time.monotonic()
    try:
        call()
        code, details = grpc.StatusCode.OK, ""
    except grpc.RpcError as error:
        code, details = error.code(), error.details() or ""
    if code not in codes:
        fail(f"{what}: {code.name} ({details}) after {time.monotonic() - t0:.3f} s; expected {[c.name for c in codes]}")


# Item 1: packed floats (ImageRois.boxes, .box_targets) declaring 0x7FFFFFF0 bytes in a tiny message
# once made the server allocate about 2 GB and answer after 7-16 s.
rss_before = rss_mb()
for field in (0x0A, 0x1A):
    huge = bytes.fromhex("0a0a70726f62652d6d61696e3216") + bytes([field]) + bytes.fromhex("f0ffffff07") + bytes(range(16))
    for _ in range(20):
        expect({grpc.StatusCode.INTERNAL, grpc.StatusCode.OK}, lambda: stream(MINER + "Mine", [huge]), "a packed float field declaring 2 GB")
if rss_mb() > rss_before + MAX_GROWTH_MB:
    fail(f"resident memory {rss_mb():.0f} MB after the 2 GB length prefixes, from {rss_before:.0f} MB")

# Item 7: streaming calls rejected before their request stream is read, back to back on one
# connection, once made Kestrel refuse 10-12% of them (and GetStatus calls between them) with
# RST_STREAM ENHANCE_YOUR_CALM, seen as RESOURCE_EXHAUSTED.
wrong_token = [("authorization", "Bearer not-the-token")]
malformed = b"\x0a\xff"
for i in range(300):
    expect({grpc.StatusCode.UNAUTHENTICATED}, lambda: channel.stream_unary(MINER + "PublishWeights", **raw)(
        iter(SEEDS_PUBLISH[:1]), timeout=DEADLINE, metadata=wrong_token), f"early reject {i}: PublishWeights with a wrong token")
    expect({grpc.StatusCode.NOT_FOUND}, lambda: channel.stream_unary(MINER + "PublishWeights", **raw)(
        iter(publish_messages("ghost", 1)[:1]), timeout=DEADLINE, metadata=auth()), f"early reject {i}: PublishWeights of an unknown job")
    expect({grpc.StatusCode.INTERNAL}, lambda: stream(MINER + "Mine", [malformed]), f"early reject {i}: Mine with a malformed first message")
    expect({grpc.StatusCode.OK}, lambda: unary(MINER + "GetStatus", b""), f"GetStatus between early rejects ({i})")


# ---- the run --------------------------------------------------------------------------------
methods = ["Mine", "PublishWeights", "RegisterModel", "GetStatus", "DeleteJob", "Unknown", "Reflection", "Health"]
tally = Counter()
slowest = (0.0, "")
start_rss = rss_mb()
peak_rss = start_rss
snapshot = jobs_snapshot()
began = time.monotonic()
sent = 0
while sent < messages and time.monotonic() - began < seconds:
    method = rng.choice(methods)
    compression = grpc.Compression.Gzip if rng.random() < 0.1 else None
    metadata = auth(rng.random() < 0.85)
    if rng.random() < 0.05:
        metadata = [("authorization", "Bearer " + "x" * rng.choice([0, 1, 100]))]
    if method == "Mine":
        bodies = [body_for("Mine") if rng.random() < 0.7 else SEEDS["Mine"][0] for _ in range(rng.randint(1, 3))]
        call = lambda: stream(MINER + "Mine", bodies, metadata, compression)  # noqa: E731
        shown = bodies
    elif method == "PublishWeights":
        chosen = [body_for("PublishWeights") if rng.random() < 0.3 else m for m in SEEDS["PublishWeights"]]
        bodies = chosen[:rng.randint(0, len(chosen))] if rng.random() < 0.3 else chosen
        call = lambda: channel.stream_unary(MINER + "PublishWeights", **raw)(  # noqa: E731
            iter(bodies), timeout=DEADLINE, metadata=metadata, compression=compression)
        shown = bodies
    elif method == "Unknown":
        body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 32)))
        # (Not a case variant of a real method: ASP.NET Core's routing, and so grpc-dotnet's, ignores case.)
        name = rng.choice([MINER + "Nope", "/ohem.v1.Other/Mine", "/x", MINER + "Mine2", "/"])
        call = lambda: unary(name, body, metadata, compression)  # noqa: E731
        shown = [body]
    elif method == "Reflection":
        service = rng.choice(["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"])
        body = mutate(b"\x3a\x00")  # list_services
        call = lambda: stream(f"/{service}/ServerReflectionInfo", [body], metadata, compression)  # noqa: E731
        shown = [body]
    elif method == "Health":
        body = mutate(b"\x0a\x18ohem.v1.HardExampleMiner")
        call = lambda: unary("/grpc.health.v1.Health/Check", body, metadata, compression)  # noqa: E731
        shown = [body]
    else:
        body = body_for(method)
        call = lambda: unary(MINER + method, body, metadata, compression)  # noqa: E731
        shown = [body]

    t0 = time.monotonic()
    try:
        call()
        code = grpc.StatusCode.OK
    except grpc.RpcError as error:
        code = error.code()
        details = error.details() or ""
    elapsed = time.monotonic() - t0
    sent += 1
    tally[(method, code.name)] += 1
    if elapsed > slowest[0]:
        slowest = (elapsed, f"{method} {code.name}")
    # grpc-dotnet answers a unary request that does not parse with UNKNOWN ("Exception was thrown
    # by handler."): it parses before any interceptor of ours runs.
    unparsed_unary = code == grpc.StatusCode.UNKNOWN and method in UNARY and details == "Exception was thrown by handler."
    if (code not in ALLOWED and not unparsed_unary) or (method == "Unknown" and code != grpc.StatusCode.UNIMPLEMENTED):
        fail(f"call {sent} {method}{' ' + name if method == 'Unknown' else ''} ended {code.name} ({details}) after {elapsed:.3f} s; bytes {[b.hex()[:200] for b in shown]}")

    if method in WRITES:
        now = jobs_snapshot()
        if code != grpc.StatusCode.OK and now != snapshot:
            fail(f"call {sent}: a rejected {method} ({code.name}: {details}) changed the jobs: {snapshot} -> {now}; "
                 f"bytes {[b.hex()[:200] for b in shown]}")
        snapshot = now
    if sent % HEALTH_EVERY == 0:
        if not healthy():
            fail(f"health is not SERVING after call {sent}")
        peak_rss = max(peak_rss, rss_mb())
        if peak_rss > start_rss + MAX_GROWTH_MB:
            fail(f"resident memory {peak_rss:.0f} MB after call {sent}, from {start_rss:.0f} MB")

# ---- afterwards: health, memory, and a valid round trip ---------------------------------------
if not healthy():
    fail("health is not SERVING after the run")
peak_rss = max(peak_rss, rss_mb())
if peak_rss > start_rss + MAX_GROWTH_MB:
    fail(f"resident memory {peak_rss:.0f} MB at the end, from {start_rss:.0f} MB")
unary(MINER + "RegisterModel", miner_pb2.RegisterModelRequest(job_id="after", onnx_model=model, replace=True).SerializeToString(),
      metadata=auth())
channel.stream_unary(MINER + "PublishWeights", **raw)(iter(publish_messages("after", 7)), timeout=30, metadata=auth())
after = miner_pb2.MineRequest()
after.CopyFrom(batch)
after.job_id = "after"
mined = [miner_pb2.MineResponse.FromString(r) for r in stream(MINER + "Mine", [after.SerializeToString()])]
if len(mined) != 1 or mined[0].HasField("error") or mined[0].weights_version != 7:
    fail(f"the valid round trip after fuzzing failed: {mined}")

elapsed = time.monotonic() - began
print(f"seed {seed}: {sent} calls in {elapsed:.1f} s; slowest {slowest[0] * 1000:.0f} ms ({slowest[1]}); "
      f"resident memory {start_rss:.0f} MB at the start, peak {peak_rss:.0f} MB", flush=True)
for (method, code), n in sorted(tally.items()):
    print(f"  {method:15} {code:20} {n}", flush=True)
print("ALL OK", flush=True)
