#!/usr/bin/env bash
# End to end against the real Flower: a stock `flower-superlink` (flwr==1.41.0, in a
# virtualenv cached under target/), Flower's own FedAvg in the ServerApp of
# tests/flower/app, and two native `tensorc fed node`s on shares of synthetic data.
# Checks that the run completes, that the federated evaluate loss falls from round 1 to
# the last round and accuracy does not fall, that the final model has the shapes and
# dtypes of `init`, and that both nodes leave cleanly after the run (--max-runs 1).
# Then a second run of one round with two new tensorc nodes beside a stock
# `flower-supernode` (the NumPy ClientApp of the app): the aggregated model must equal,
# to f32 rounding, the example-weighted mean of the three updates (the tensorc nodes
# write theirs with --dump-updates, recomputed here in NumPy). Last, the SuperLink is
# restarted under a serving node, which must join it again.
#
#   tests/flower/e2e.sh [TENSORC]        (default target/release/tensorc)
#
# Every wait is bounded; all processes are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
tensorc=$(realpath "${1:-target/release/tensorc}")
venv=target/flwr-venv
model=examples/fed_fashion_2nn.tc
rounds=3

if ! "$venv/bin/python" -c 'import flwr, sys; sys.exit(flwr.__version__ != "1.41.0")' 2>/dev/null; then
    echo "installing flwr==1.41.0 into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet flwr==1.41.0
fi
export FLWR_TELEMETRY_ENABLED=0 FLWR_DISABLE_UPDATE_CHECK=1 PYTHONUNBUFFERED=1
# The SuperLink starts its helpers (flower-superexec, flwr-serverapp) from PATH.
export PATH="$PWD/$venv/bin:$PATH"

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
    for _ in $(seq 25); do
        alive=0
        for p in "${pids[@]}"; do kill -0 -- "-$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.2
    done
    for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for log in "$work"/*.log; do echo "--- $log" >&2; tail -n 30 "$log" >&2; done
    exit 1
}

free_port() { "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)

# The initial model: exactly what `tensorc run -e init -o DIR` writes (0.npy, 1.npy, ...).
"$tensorc" run "$model" -e init seed=0 -o "$work/init" > /dev/null

mkdir -p "$work/link" "$work/cli"
superlink() {  # superlink FLWR_HOME LOG: a SuperLink on $port, its process group in $superlink_pid
    mkdir -p "$1"
    setsid env FLWR_HOME="$1" "$venv/bin/flower-superlink" --insecure --host 127.0.0.1 --port "$port" \
        --disable-runtime-dependency-installation > "$2" 2>&1 &
    superlink_pid=$!
    pids+=($!)
    disown $!  # killed at exit: no job notice
}
superlink "$work/link" "$work/superlink.log"

nodes=()
for i in 0 1; do
    setsid "$tensorc" fed node "$model" --superlink "127.0.0.1:$port" --insecure --data synthetic:1000 \
        --partition "$i/2" --seed 1 --heartbeat 10 --max-runs 1 --backend cpu > "$work/node$i.log" 2>&1 &
    pids+=($!)
    nodes+=($!)
done

for _ in $(seq 100); do
    [ "$(grep -c '^connected' "$work"/node*.log 2>/dev/null | awk -F: '{s += $2} END {print s}')" = 2 ] && break
    sleep 0.2
done
[ "$(cat "$work"/node*.log | grep -c '^connected')" = 2 ] || fail "the nodes did not connect"

cat > "$work/cli/config.toml" <<TOML
[superlink]
default = "loopback"

[superlink.loopback]
address = "127.0.0.1:$port"
insecure = true
TOML
FLWR_HOME="$work/cli" timeout 150 "$venv/bin/flwr" run tests/flower/app loopback --stream \
    --run-config "num-server-rounds=$rounds init-dir='$work/init' out-file='$work/result.json' round-timeout=60" \
    > "$work/flwr-run.log" 2>&1 || fail "flwr run failed"
for _ in $(seq 300); do [ -s "$work/result.json" ] && break; sleep 0.2; done
[ -s "$work/result.json" ] || fail "the ServerApp wrote no result"

# Both nodes see the run finish and leave (deactivate, unregister) on their own.
for p in "${nodes[@]}"; do
    for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$p" 2>/dev/null && fail "node $p did not leave after the run"
    wait "$p" || fail "node $p exited with status $?"
done
grep -q '^left the federation' "$work/node0.log" || fail "node 0 did not leave cleanly"
grep -q '^left the federation' "$work/node1.log" || fail "node 1 did not leave cleanly"

"$venv/bin/python" - "$work/result.json" "$work/init" "$rounds" <<'PY' || fail "the federation did not learn"
import json, os, sys
import numpy as np
result, init, rounds = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3])
ev = result["evaluate"]
assert sorted(ev, key=int) == [str(r) for r in range(1, rounds + 1)], ev
first, last = ev["1"], ev[str(rounds)]
print(f"evaluate: round 1 loss {first['loss']:.4f} accuracy {first['accuracy']:.3f}; "
      f"round {rounds} loss {last['loss']:.4f} accuracy {last['accuracy']:.3f}")
assert last["loss"] < first["loss"], "loss did not fall"
assert last["accuracy"] >= first["accuracy"] and last["accuracy"] > 0.5, "accuracy did not rise"
assert all(np.isfinite(result["train"][str(r)]["train-loss"]) for r in range(1, rounds + 1))
for k in result["final_keys"]:
    a = np.load(os.path.join(init, f"{k}.npy"))
    assert result["final_shapes"][k] == list(a.shape) and result["final_dtypes"][k] == str(a.dtype), k
PY
# Each node logged its share: 500 training and 100 test examples of synthetic:1000.
for i in 0 1; do
    grep -q '^run .* train: 500 examples' "$work/node$i.log" || fail "node $i: no train line with its 500 examples"
    grep -q '^run .* evaluate: 100 test examples' "$work/node$i.log" || fail "node $i: no evaluate line with its 100 examples"
done
grep -h '^run ' "$work"/node0.log | head -n 2
echo "flower: two tensorc nodes learn with FedAvg: ok"

# Run 2: two tensorc nodes and a stock flower-supernode, one round; FedAvg's aggregate
# against the mean recomputed from what each node sent.
qport=$(free_port)
mkdir -p "$work/supernode"
setsid env FLWR_HOME="$work/supernode" "$venv/bin/flower-supernode" --insecure --superlink "127.0.0.1:$port" \
    --host 127.0.0.1 --port "$qport" > "$work/supernode.log" 2>&1 &
pids+=($!)
disown $!
nodes=()
for i in 0 1; do
    setsid "$tensorc" fed node "$model" --superlink "127.0.0.1:$port" --insecure --data synthetic:600 \
        --partition "$i/2" --split shards:2 --seed 2 --heartbeat 10 --max-runs 1 --backend cpu \
        --dump-updates "$work/dump$i" > "$work/mixed-node$i.log" 2>&1 &
    pids+=($!)
    nodes+=($!)
done
for _ in $(seq 100); do
    [ "$(cat "$work"/mixed-node*.log | grep -c '^connected')" = 2 ] && break
    sleep 0.2
done
FLWR_HOME="$work/cli" timeout 150 "$venv/bin/flwr" run tests/flower/app loopback --stream \
    --run-config "num-server-rounds=1 init-dir='$work/init' out-arrays='$work/final' min-nodes=3 round-timeout=60" \
    > "$work/flwr-run2.log" 2>&1 || fail "flwr run (mixed) failed"
for _ in $(seq 300); do [ -s "$work/final/0.npy" ] && break; sleep 0.2; done
for p in "${nodes[@]}"; do
    for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    wait "$p" || fail "node $p exited with status $?"
done
"$venv/bin/python" - "$work" <<'PY' || fail "FedAvg's aggregate is not the weighted mean of the updates"
import os, sys
import numpy as np
work = sys.argv[1]
keys = sorted((f[:-4] for f in os.listdir(f"{work}/final")), key=int)
# The stock ClientApp returns the global model with num-examples = 1.
updates = [({k: np.load(f"{work}/init/{k}.npy") for k in keys}, 1)]
for i in (0, 1):
    d = f"{work}/dump{i}"
    n = int(open(f"{d}/round1-num-examples.txt").read())
    updates.append(({k: np.load(f"{d}/round1-{k}.npy") for k in keys}, n))
total = sum(n for _, n in updates)
worst = 0.0
for k in keys:
    mean = sum(u[k].astype(np.float64) * n for u, n in updates) / total
    final = np.load(f"{work}/final/{k}.npy")
    assert final.shape == mean.shape and final.dtype == np.float32, k
    err = float(np.max(np.abs(final - mean) / (np.abs(mean) + 1e-6))) if final.size else 0.0
    worst = max(worst, err)
    assert np.allclose(final, mean, rtol=1e-5, atol=1e-7), (k, err)
print(f"aggregate = weighted mean of {len(updates)} updates ({total} examples); worst relative error {worst:.1e}")
PY
echo "flower: FedAvg's aggregate with a stock flower-supernode: ok"

# The SuperLink restarts (with a fresh state): a serving node joins it again, and leaves
# cleanly on SIGTERM.
setsid "$tensorc" fed node "$model" --superlink "127.0.0.1:$port" --insecure --data synthetic:100 \
    --heartbeat 10 --backend cpu > "$work/restart-node.log" 2>&1 &
node=$!
pids+=($node)
for _ in $(seq 100); do grep -q '^connected' "$work/restart-node.log" && break; sleep 0.2; done
kill -TERM -- "-$superlink_pid"
for _ in $(seq 50); do kill -0 -- "-$superlink_pid" 2>/dev/null || break; sleep 0.2; done
superlink "$work/link2" "$work/superlink2.log"
for _ in $(seq 200); do [ "$(grep -c '^connected' "$work/restart-node.log")" = 2 ] && break; sleep 0.2; done
[ "$(grep -c '^connected' "$work/restart-node.log")" = 2 ] || fail "the node did not join the restarted SuperLink"
kill -TERM "$node"
for _ in $(seq 100); do kill -0 "$node" 2>/dev/null || break; sleep 0.2; done
wait "$node" || fail "the node exited with status $? after SIGTERM"
grep -q '^left the federation' "$work/restart-node.log" || fail "the node did not leave cleanly"
echo "flower: a restarted SuperLink is joined again: ok"
echo "flower end-to-end: ok"
