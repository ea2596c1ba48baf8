"""ohem.grpctest.TestService on grpcio: the third-party server our client is checked against.

Behaves as Protos/grpc_test.proto describes, like Support/TestServiceImpl.cs: request metadata
"echo-*" comes back as response headers (same key) and trailers ("trail-*"). Prints "PORT <n>"
once listening on 127.0.0.1, and serves until its stdin closes.

Usage: interop_server.py [--compression none|gzip|deflate]   (stubs on PYTHONPATH)
"""
import argparse
import sys
import time
from concurrent import futures

import grpc

import grpc_test_pb2 as pb
import grpc_test_pb2_grpc as pb_grpc

MAX_MESSAGE = 64 * 1024 * 1024
CODES = {code.value[0]: code for code in grpc.StatusCode}


def echo_metadata(context):
    echoed = [(key, value) for key, value in context.invocation_metadata() if key.startswith("echo-")]
    if echoed:
        context.send_initial_metadata(echoed)
    context.set_trailing_metadata([("trail-" + key[len("echo-"):], value) for key, value in echoed])


def delay(request, context):
    """Waits delay_ms, giving up early when the call is cancelled or past its deadline."""
    end = time.monotonic() + request.delay_ms / 1000.0
    while time.monotonic() < end and context.is_active():
        time.sleep(0.01)


def fail_if_asked(request, context):
    if request.status_code:
        context.abort(CODES[request.status_code], request.status_message)


def answer(request):
    return pb.Payload(id=request.id + 1, text="echo:" + request.text, data=request.data, values=request.values)


class TestService(pb_grpc.TestServiceServicer):
    def Unary(self, request, context):
        echo_metadata(context)
        delay(request, context)
        fail_if_asked(request, context)
        return answer(request)

    def ClientStream(self, request_iterator, context):
        echo_metadata(context)
        ids, texts, data = 0, [], b""
        count = 0
        for request in request_iterator:
            fail_if_asked(request, context)
            ids += request.id
            count += 1
            texts.append(request.text)
            data += request.data
            delay(request, context)
        return pb.Payload(id=ids, count=count, text=",".join(texts), data=data)

    def ServerStream(self, request, context):
        echo_metadata(context)
        for i in range(request.count):
            delay(request, context)
            yield pb.Payload(id=request.id + i, text=request.text, data=request.data)
        fail_if_asked(request, context)

    def Duplex(self, request_iterator, context):
        echo_metadata(context)
        for request in request_iterator:
            delay(request, context)
            fail_if_asked(request, context)
            yield answer(request)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--compression", default="none", choices=["none", "gzip", "deflate"])
    args = parser.parse_args()
    compression = {"none": grpc.Compression.NoCompression, "gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate}[args.compression]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=32),
        compression=compression,
        options=[("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", MAX_MESSAGE)],
    )
    pb_grpc.add_TestServiceServicer_to_server(TestService(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"PORT {port}", flush=True)
    sys.stdin.read()  # until the test closes our stdin (or kills us)
    server.stop(0)


if __name__ == "__main__":
    main()
