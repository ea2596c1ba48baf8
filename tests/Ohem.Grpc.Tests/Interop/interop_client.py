"""grpcio client checks against a TestService server (ours): every call kind, metadata, an error
status, a deadline, an unknown method, a big message, compression.

Prints "OK <check>" for each check that passes; exits 1 at the first failure with its reason.
Usage: interop_client.py --port N [--compression none|gzip|deflate]   (stubs on PYTHONPATH)
"""
import argparse
import os
import queue
import sys
import traceback

import grpc

import grpc_test_pb2 as pb
import grpc_test_pb2_grpc as pb_grpc

TIMEOUT = 30
MAX_MESSAGE = 64 * 1024 * 1024
UNICODE_MESSAGE = "nicht gefunden \u2013 \u2713 100% done\ttab, \U0001F680"


def expect(condition, what):
    if not condition:
        raise AssertionError(what)


def expect_error(call, code, what):
    try:
        call()
    except grpc.RpcError as error:
        expect(error.code() == code, f"{what}: expected {code}, got {error.code()} ({error.details()})")
        return error
    raise AssertionError(f"{what}: expected {code}, the call succeeded")


def check_unary(stub):
    reply = stub.Unary(pb.Payload(id=41, text="h\u00e9llo", data=b"\x00\x01\xff", values=[1.5, -2.0]), timeout=TIMEOUT)
    expect(reply.id == 42 and reply.text == "echo:h\u00e9llo", f"unary answer {reply}")
    expect(reply.data == b"\x00\x01\xff" and list(reply.values) == [1.5, -2.0], f"unary data {reply}")


def check_client_stream(stub):
    requests = [pb.Payload(id=i + 1, text=t, data=bytes([i])) for i, t in enumerate("abcd")]
    reply = stub.ClientStream(iter(requests), timeout=TIMEOUT)
    expect(reply.id == 10 and reply.count == 4 and reply.text == "a,b,c,d", f"client stream answer {reply}")
    expect(reply.data == bytes([0, 1, 2, 3]), f"client stream data {reply.data!r}")


def check_server_stream(stub):
    replies = list(stub.ServerStream(pb.Payload(id=100, count=5, text="s"), timeout=TIMEOUT))
    expect([r.id for r in replies] == [100, 101, 102, 103, 104], f"server stream ids {[r.id for r in replies]}")
    expect(all(r.text == "s" for r in replies), "server stream texts")


def check_duplex(stub):
    outgoing = queue.Queue()

    def requests():
        while True:
            item = outgoing.get(timeout=TIMEOUT)
            if item is None:
                return
            yield item

    responses = stub.Duplex(requests(), timeout=TIMEOUT)
    for i in range(5):
        outgoing.put(pb.Payload(id=10 * i, text=f"m{i}"))
    for i in range(5):
        reply = next(responses)
        expect(reply.id == 10 * i + 1 and reply.text == f"echo:m{i}", f"duplex reply {i}: {reply}")
    outgoing.put(None)
    expect(list(responses) == [], "duplex stream should end after the half-close")
    expect(responses.code() == grpc.StatusCode.OK, f"duplex status {responses.code()}")


def check_metadata(stub):
    binary = bytes([0, 1, 2, 0xFF, 0xFE, 0x80, ord(","), ord("=")])
    reply, call = stub.Unary.with_call(
        pb.Payload(id=1),
        metadata=[("echo-plain", "some value, with comma"), ("echo-data-bin", binary)],
        timeout=TIMEOUT,
    )
    expect(reply.id == 2, f"metadata call answer {reply}")
    headers = dict(call.initial_metadata())
    trailers = dict(call.trailing_metadata())
    expect(headers.get("echo-plain") == "some value, with comma", f"echoed header {headers}")
    expect(headers.get("echo-data-bin") == binary, f"echoed binary header {headers}")
    expect(trailers.get("trail-plain") == "some value, with comma", f"trailer {trailers}")
    expect(trailers.get("trail-data-bin") == binary, f"binary trailer {trailers}")


def check_error_status(stub):
    error = expect_error(
        lambda: stub.Unary(pb.Payload(status_code=grpc.StatusCode.NOT_FOUND.value[0], status_message=UNICODE_MESSAGE), timeout=TIMEOUT),
        grpc.StatusCode.NOT_FOUND,
        "error status",
    )
    expect(error.details() == UNICODE_MESSAGE, f"status message {error.details()!r}")


def check_error_after_messages(stub):
    call = stub.ServerStream(pb.Payload(id=1, count=2, status_code=grpc.StatusCode.FAILED_PRECONDITION.value[0], status_message="after two"), timeout=TIMEOUT)
    received = []
    error = expect_error(lambda: received.extend(call), grpc.StatusCode.FAILED_PRECONDITION, "error after messages")
    expect(len(received) == 2 and error.details() == "after two", f"messages before the error: {len(received)}, {error.details()!r}")


def check_deadline(stub):
    expect_error(lambda: stub.Unary(pb.Payload(delay_ms=20000), timeout=0.3), grpc.StatusCode.DEADLINE_EXCEEDED, "deadline")


def check_unimplemented(channel):
    missing = channel.unary_unary(
        "/ohem.grpctest.TestService/Missing",
        request_serializer=pb.Payload.SerializeToString,
        response_deserializer=pb.Payload.FromString,
    )
    expect_error(lambda: missing(pb.Payload(), timeout=TIMEOUT), grpc.StatusCode.UNIMPLEMENTED, "unknown method")


def check_big_message(stub):
    data = os.urandom(8 * 1024 * 1024)
    reply = stub.Unary(pb.Payload(id=1, data=data), timeout=TIMEOUT)
    expect(reply.data == data, "8 MB echo differs")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--compression", default="none", choices=["none", "gzip", "deflate"])
    args = parser.parse_args()
    compression = {"none": grpc.Compression.NoCompression, "gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate}[args.compression]
    channel = grpc.insecure_channel(
        f"127.0.0.1:{args.port}",
        compression=compression,
        options=[("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", MAX_MESSAGE)],
    )
    stub = pb_grpc.TestServiceStub(channel)
    checks = [
        ("unary", lambda: check_unary(stub)),
        ("client_stream", lambda: check_client_stream(stub)),
        ("server_stream", lambda: check_server_stream(stub)),
        ("duplex", lambda: check_duplex(stub)),
        ("metadata", lambda: check_metadata(stub)),
        ("error_status", lambda: check_error_status(stub)),
        ("error_after_messages", lambda: check_error_after_messages(stub)),
        ("deadline", lambda: check_deadline(stub)),
        ("unimplemented", lambda: check_unimplemented(channel)),
        ("big_message", lambda: check_big_message(stub)),
    ]
    for name, check in checks:
        try:
            check()
        except Exception:  # report which check failed and why, then stop
            print(f"FAIL {name}", flush=True)
            traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
            return 1
        print(f"OK {name}", flush=True)
    channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
