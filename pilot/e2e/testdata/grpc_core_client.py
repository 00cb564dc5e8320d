"""A proxyless xDS client on gRPC's C core (Debian's python3-grpcio), driven by the e2e tests.

It dials xds:/// targets, bootstrapped by GRPC_XDS_BOOTSTRAP, and makes real RPCs to the
grpc.testing.TestService backends the tests run. One channel per target is kept for the life of
the process, so that the core's one xDS client holds one ADS stream, as an application's would.

Each line on stdin is a JSON request, answered by one JSON line on stdout:
  {"target": "xds:///reviews.default.svc.cluster.local:9080", "n": 100,
   "metadata": [["end-user", "jason"]], "timeout": 5}
  -> {"backends": {"reviews-v2": 100}, "codes": {"OK": 100}, "last_error": ""}
A backend is known by the hostname field of its SimpleResponse. There is no generated stub: the
request is an empty SimpleRequest and the response is decoded here, which keeps the client to
what the Debian package ships.
"""

import json
import sys

import grpc

UNARY_CALL = "/grpc.testing.TestService/UnaryCall"
HOSTNAME_FIELD = 6  # SimpleResponse.hostname in grpc/testing/messages.proto


def read_varint(data, pos):
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def hostname_of(response):
    """Returns SimpleResponse.hostname from its wire form, skipping every other field."""
    pos = 0
    while pos < len(response):
        key, pos = read_varint(response, pos)
        field, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, pos = read_varint(response, pos)
        elif wire_type == 1:
            pos += 8
        elif wire_type == 5:
            pos += 4
        elif wire_type == 2:
            length, pos = read_varint(response, pos)
            if field == HOSTNAME_FIELD:
                return response[pos:pos + length].decode()
            pos += length
        else:
            raise ValueError("unexpected wire type %d in SimpleResponse" % wire_type)
    return ""


class Client:
    def __init__(self):
        self.calls = {}

    def call_for(self, target):
        if target not in self.calls:
            channel = grpc.insecure_channel(target)
            self.calls[target] = channel.unary_unary(
                UNARY_CALL, request_serializer=lambda r: r, response_deserializer=lambda r: r)
        return self.calls[target]

    def count(self, request):
        call = self.call_for(request["target"])
        metadata = [tuple(kv) for kv in request.get("metadata", [])]
        backends, codes, last_error = {}, {}, ""
        for _ in range(request.get("n", 1)):
            try:
                response = call(b"", metadata=metadata, timeout=request.get("timeout", 5))
            except grpc.RpcError as err:
                codes[err.code().name] = codes.get(err.code().name, 0) + 1
                last_error = "%s: %s" % (err.code().name, err.details())
                continue
            codes["OK"] = codes.get("OK", 0) + 1
            name = hostname_of(response)
            backends[name] = backends.get(name, 0) + 1
        return {"backends": backends, "codes": codes, "last_error": last_error}


def main():
    client = Client()
    print(json.dumps({"ready": True, "grpc_version": grpc.__version__}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = client.count(json.loads(line))
        except Exception as err:  # report, and keep serving: the test decides what it means
            answer = {"error": "%s: %s" % (type(err).__name__, err)}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
