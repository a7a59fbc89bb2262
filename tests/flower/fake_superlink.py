"""A fake Flower SuperLink for tests/flower/fake_superlink.sh: it speaks the Fleet API's
HTTP+protobuf (with flwr's own generated messages) but answers with what a broken or
hostile server could send.

    python fake_superlink.py MODE PORT_FILE LOG_FILE

MODE `garbage`: every call gets HTTP 200 with bytes that are not a protobuf message.
MODE `objects`: registering, activating and heartbeats work; `pull-messages` then hands
out, one per pull, instructions that are broken in different ways (see INSTRUCTIONS),
and nothing after them. Each `push-messages` (the node's replies) is appended to
LOG_FILE as a JSON line: the reply's message type and its error reason.
The server listens on a free loopback port, written to PORT_FILE.
"""

import hashlib
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from flwr.proto import fleet_pb2, message_pb2

mode, port_file, log_file = sys.argv[1], sys.argv[2], sys.argv[3]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fake_id(n: int) -> str:
    return sha(b"fake object %d" % n)


# Each instruction: (name, message id, object tree, {object id: pull-object reply bytes}).
INSTRUCTIONS = []


def add(name, tree, objects, message_id=None):
    INSTRUCTIONS.append((name, message_id or tree.object_id, tree, objects))


# An object whose content does not hash to its id.
child = message_pb2.ObjectTree(object_id=fake_id(1))
add("hash", message_pb2.ObjectTree(object_id=fake_id(2), children=[child]), {fake_id(1): b"not what the id says"})
# A tree of 70,000 objects (the node allows 65,536).
many = [message_pb2.ObjectTree(object_id=fake_id(10 + i)) for i in range(70_000)]
add("many", message_pb2.ObjectTree(object_id=fake_id(3), children=many), {})
# An object of 20 MB (the node reads at most 17 MiB per reply).
add("huge", message_pb2.ObjectTree(object_id=fake_id(4), children=[message_pb2.ObjectTree(object_id=fake_id(5))]),
    {fake_id(5): b"\x00" * (20 << 20)})
# A message object that hashes right but is not a Flower object.
junk = b"junk that is no object"
add("junk", message_pb2.ObjectTree(object_id=sha(junk)), {sha(junk): junk})
# A message whose id is not its tree's root (no reply can be addressed: a log line).
add("root", message_pb2.ObjectTree(object_id=fake_id(6)), {}, message_id=fake_id(7))


def varint(n: int) -> bytes:
    out = b""
    while n >= 0x80:
        out += bytes([n & 0x7F | 0x80])
        n >>= 7
    return out + bytes([n])


def field(tag: int, data: bytes) -> bytes:
    return bytes([tag]) + varint(len(data)) + data


# A tree nested 200 deep, encoded by hand (protobuf refuses to build it): the reply to
# `pull-messages` itself cannot be decoded.
deep = field(0x0A, fake_id(8).encode())
for _ in range(200):
    deep = field(0x0A, fake_id(8).encode()) + field(0x12, deep)
add("deep", deep, {}, message_id=fake_id(8))

lock = threading.Lock()
served = 0
objects = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, body: bytes, status: int = 200):
        self.send_response(status)
        self.send_header("Content-Type", "application/protobuf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        global served
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        call = self.path.rsplit("/", 1)[-1]
        if mode == "garbage":
            return self.reply(b"\x0a\x7fthis is not protobuf")
        if call == "activate-node":
            return self.reply(fleet_pb2.ActivateNodeResponse(node_id=4242).SerializeToString())
        if call == "pull-messages":
            with lock:
                if served >= len(INSTRUCTIONS):
                    return self.reply(b"")
                name, message_id, tree, objs = INSTRUCTIONS[served]
                served += 1
                objects.update(objs)
            metadata = message_pb2.Metadata(
                run_id=1, message_id=message_id, src_node_id=1, dst_node_id=4242, group_id=name,
                ttl=3600.0, message_type="train", created_at=time.time())
            response = fleet_pb2.PullMessagesResponse(messages_list=[message_pb2.Message(metadata=metadata)])
            # Field 3, `message_object_trees`.
            trees = field(0x1A, tree if isinstance(tree, bytes) else tree.SerializeToString())
            return self.reply(response.SerializeToString() + trees)
        if call == "pull-object":
            request = message_pb2.PullObjectRequest.FromString(body)
            content = objects.get(request.object_id)
            response = message_pb2.PullObjectResponse(
                object_found=content is not None, object_available=content is not None, object_content=content or b"")
            return self.reply(response.SerializeToString())
        if call == "push-messages":
            request = fleet_pb2.PushMessagesRequest.FromString(body)
            with open(log_file, "a", encoding="utf-8") as f:
                for m in request.messages_list:
                    f.write(json.dumps({"group": m.metadata.group_id, "error": m.error.reason}) + "\n")
            return self.reply(fleet_pb2.PushMessagesResponse(session_id="s").SerializeToString())
        # register, heartbeat, confirm, get-run, deactivate, unregister: an empty reply.
        return self.reply(b"")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w", encoding="utf-8") as f:
    f.write(str(server.server_address[1]))
os.replace(port_file + ".tmp", port_file)
server.serve_forever()
