// A proxyless xDS client on gRPC's Node.js implementation (@grpc/grpc-js with @grpc/grpc-js-xds),
// driven by the e2e tests (pilot/e2e/grpc_js.go).
//
// It dials xds:/// targets, bootstrapped by GRPC_XDS_BOOTSTRAP, and makes real RPCs to the
// grpc.testing.TestService backends the tests run. One client per target is kept for the life of
// the process, so that grpc-js's one xDS client holds one ADS stream, as an application's would.
//
// Each line on stdin is a JSON request, answered by one JSON line on stdout:
//   {"target": "xds:///reviews.default.svc.cluster.local:9080", "n": 100,
//    "metadata": [["end-user", "jason"]], "timeout": 5}
//   -> {"backends": {"reviews-v2": 100}, "codes": {"OK": 100}, "last_error": ""}
// A backend is known by the hostname field of its SimpleResponse. There is no generated stub: the
// request is an empty SimpleRequest and the response is decoded here, which keeps the client to
// the two pinned modules.
'use strict';

const readline = require('readline');
const grpc = require('@grpc/grpc-js');
const xds = require('@grpc/grpc-js-xds');

const UNARY_CALL = '/grpc.testing.TestService/UnaryCall';
const HOSTNAME_FIELD = 6; // SimpleResponse.hostname in grpc/testing/messages.proto

xds.register();

function readVarint(buf, pos) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = buf[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) {
      return [value, pos];
    }
    shift += 7;
  }
}

// hostnameOf returns SimpleResponse.hostname from its wire form, skipping every other field.
function hostnameOf(buf) {
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    if (wireType === 0) {
      [, pos] = readVarint(buf, pos);
    } else if (wireType === 1) {
      pos += 8;
    } else if (wireType === 5) {
      pos += 4;
    } else if (wireType === 2) {
      let length;
      [length, pos] = readVarint(buf, pos);
      if (field === HOSTNAME_FIELD) {
        return buf.subarray(pos, pos + length).toString('utf8');
      }
      pos += length;
    } else {
      throw new Error(`unexpected wire type ${wireType} in SimpleResponse`);
    }
  }
  return '';
}

const clients = new Map();

function clientFor(target) {
  if (!clients.has(target)) {
    clients.set(target, new grpc.Client(target, grpc.credentials.createInsecure()));
  }
  return clients.get(target);
}

function unaryCall(client, metadata, timeoutSeconds) {
  return new Promise((resolve) => {
    client.makeUnaryRequest(UNARY_CALL, (req) => req, (res) => res, Buffer.alloc(0), metadata,
      { deadline: Date.now() + timeoutSeconds * 1000 }, (err, response) => resolve({ err, response }));
  });
}

async function count(request) {
  const client = clientFor(request.target);
  const metadata = new grpc.Metadata();
  for (const [key, value] of request.metadata || []) {
    metadata.add(key, value);
  }
  const backends = {};
  const codes = {};
  let lastError = '';
  for (let i = 0; i < (request.n || 1); i++) {
    const { err, response } = await unaryCall(client, metadata, request.timeout || 5);
    if (err) {
      const name = grpc.status[err.code] || String(err.code);
      codes[name] = (codes[name] || 0) + 1;
      lastError = `${name}: ${err.details}`;
      continue;
    }
    codes.OK = (codes.OK || 0) + 1;
    const name = hostnameOf(response);
    backends[name] = (backends[name] || 0) + 1;
  }
  return { backends, codes, last_error: lastError };
}

async function main() {
  const version = require('@grpc/grpc-js-xds/package.json').version;
  process.stdout.write(JSON.stringify({ ready: true, grpc_version: version }) + '\n');
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) {
      continue;
    }
    let answer;
    try {
      answer = await count(JSON.parse(line));
    } catch (err) { // report, and keep serving: the test decides what it means
      answer = { error: `${err.name}: ${err.message}` };
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  }
  for (const client of clients.values()) {
    client.close();
  }
  process.exit(0);
}

main();
