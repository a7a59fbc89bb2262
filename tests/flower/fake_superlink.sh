#!/usr/bin/env bash
# A node against a fake SuperLink (tests/flower/fake_superlink.py, flwr's own protobuf
# messages) that answers with garbage: the node must fail with clear errors, never panic.
#  - Every reply is bytes that are no protobuf: the node stops at `register-node` with
#    "invalid data from the SuperLink" (exit status 3).
#  - Registering works, then the instructions are broken: an object that does not hash
#    to its id, a tree of 70,000 objects, a 20 MB object, a message object that is no
#    Flower object (each answered with an error reply naming the problem), a message
#    whose id is not its tree's root and a tree nested 200 deep (each a log line). The
#    node keeps serving, and leaves cleanly on SIGTERM.
#
#   tests/flower/fake_superlink.sh [TENSORC]
set -euo pipefail
cd "$(dirname "$0")/../.."
tensorc=$(realpath "${1:-target/release/tensorc}")
venv=target/flwr-venv
model=examples/fed_fashion_2nn.tc
"$venv/bin/python" -c 'import flwr' || { echo "run tests/flower/e2e.sh first (it installs flwr)"; exit 1; }
started=$SECONDS

. tests/flower/common.sh
gone() { ! kill -0 "$1" 2>/dev/null; }
fake() {  # fake MODE: a fake SuperLink; its port in $fake_port
    "$venv/bin/python" tests/flower/fake_superlink.py "$1" "$work/$1.port" "$work/$1-replies.jsonl" \
        > "$work/fake-$1.log" 2>&1 &
    pids+=($!)
    wait_for 30 test -s "$work/$1.port" || fail "the fake SuperLink ($1) did not start"
    fake_port=$(cat "$work/$1.port")
}
node() {  # node LOG: a node of the fake SuperLink on $fake_port; its pid in $node_pid
    "$tensorc" fed node "$model" --superlink "127.0.0.1:$fake_port" --insecure --data synthetic:100 \
        --heartbeat 10 --timeout 10 --backend cpu > "$work/$1" 2>&1 &
    node_pid=$!
    pids+=($!)
}

fake garbage
node garbage.log
wait_for 60 gone $node_pid || fail "the node kept going on garbage"
status=0
wait $node_pid || status=$?
[ $status = 3 ] || fail "the node exited with status $status on garbage, not 3 (a runtime error)"
grep -q 'invalid data from the SuperLink: `register-node`: the reply is not a valid protobuf' "$work/garbage.log" ||
    fail "no clear error for garbage"

fake objects
node objects.log
replies() { [ "$(cat "$work/objects-replies.jsonl" 2>/dev/null | wc -l)" -ge 4 ]; }
wait_for 90 replies || fail "the node sent no error replies"
wait_for 30 grep -q 'not a valid protobuf' "$work/objects.log" || fail "no log line for the tree nested 200 deep"
kill -0 $node_pid 2>/dev/null || fail "the node stopped serving"
"$venv/bin/python" - "$work/objects-replies.jsonl" <<'PY' || fail "the error replies"
import json, sys
replies = {r["group"]: r["error"] for r in map(json.loads, open(sys.argv[1]))}
expected = {"hash": "hashes to", "many": "more than 65536 objects", "huge": "larger than", "junk": ""}
assert sorted(replies) == sorted(expected), replies
for group, words in expected.items():
    assert replies[group] and words in replies[group], (group, replies[group])
    print(f"{group}: error reply: {replies[group][:110]}")
PY
grep -q "is not its object tree's root" "$work/objects.log" || fail "no log line for a message id that is not the tree's root"
kill -TERM $node_pid
wait_for 30 gone $node_pid || fail "the node did not stop on SIGTERM"
wait $node_pid || fail "the node exited with status $? after SIGTERM"
grep -q '^left the federation' "$work/objects.log" || fail "the node did not leave"
grep -q 'panicked' "$work"/*.log && fail "a panic"
echo "flower: a fake SuperLink sending garbage gets clear errors, no panic: ok ($((SECONDS - started)) s)"
