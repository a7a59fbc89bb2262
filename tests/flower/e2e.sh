#!/usr/bin/env bash
# End to end against the real Flower: a stock `flower-superlink` (flwr==1.41.0, in a
# virtualenv cached under target/), Flower's own FedAvg in the ServerApp of
# tests/flower/app, native `tensorc fed node`s, and one stock `flower-supernode`.
#
# Run 1 (Fashion-MNIST, 3 rounds of FedAvg, E = 1, B = 10, lr 0.05): three nodes on IID
# shares 0/3, 1/3, 2/3 and a fourth node (share 0/30). The ServerApp first sends every
# node a `query` (a type tensorc nodes do not handle) and a `train` with wrongly shaped
# arrays: each node answers both with an error reply, and keeps serving. The fourth node
# is killed with SIGKILL once it has answered round 1. The run must complete with the
# other three; its evaluate accuracy after round 3 must be at least 80%, within one point
# of `tensorc fed simulate` on the same three shares (run meanwhile), and its loss must
# fall; the final model has the shapes and dtypes of `init`; two nodes leave on their
# own (--max-runs 1).
#
# Then the SuperLink is restarted with a fresh state under the third node, which serves
# on (no --max-runs) and must join the new one. Run 2 (one round, no evaluation): that
# node, the killed node restarted and a stock `flower-supernode` with the NumPy ClientApp
# of the app. The aggregate must equal, to f32 rounding, the example-weighted mean of the
# three updates (the tensorc nodes write theirs with --dump-updates, recomputed here in
# NumPy): the restarted node rejoined. Last, the serving node leaves cleanly on SIGTERM.
#
#   tests/flower/e2e.sh [TENSORC]        (default target/release/tensorc)
#
# Every wait is bounded; all processes are stopped on exit (FLOWER_KEEP=1 keeps the logs).
set -euo pipefail
cd "$(dirname "$0")/../.."
tensorc=$(realpath "${1:-target/release/tensorc}")
venv=target/flwr-venv
model=examples/fed_fashion_2nn.tc
fashion=/usr/share/datasets/fashion-mnist
rounds=3
started=$SECONDS

if ! "$venv/bin/python" -c 'import flwr, sys; sys.exit(flwr.__version__ != "1.41.0")' 2>/dev/null; then
    echo "installing flwr==1.41.0 into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet flwr==1.41.0
fi
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [ -f "$fashion/$f.gz" ] || [ -f "$fashion/$f" ] || { echo "Fashion-MNIST is not in $fashion (scripts/train_fashion.sh installs it)"; exit 1; }
done
. tests/flower/common.sh
# The SuperLink starts its helpers (flower-superexec, flwr-serverapp) from PATH.
export PATH="$PWD/$venv/bin:$PATH"
count() { cat "$@" 2>/dev/null | grep -c '^connected' || true; }
# connected N LOG...: whether the logs hold N `connected` lines in all.
connected() {
    local n=$1
    shift
    [ "$(count "$@")" = "$n" ]
}
listening() { (: > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
# gone PID...: true once none of the processes is alive.
gone() { for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }

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
cat > "$work/cli/config.toml" <<TOML
[superlink]
default = "loopback"

[superlink.loopback]
address = "127.0.0.1:$port"
insecure = true
TOML

node() {  # node LOG ARGS...: a tensorc node in its own process group; its pid in $node_pid
    local log=$1
    shift
    setsid "$tensorc" fed node "$model" --superlink "127.0.0.1:$port" --insecure --heartbeat 10 --backend cpu \
        "$@" > "$work/$log" 2>&1 &
    node_pid=$!
    pids+=($!)
}

# The same three shares through `fed simulate`, meanwhile (its own CPU time is small).
"$tensorc" fed simulate "$model" --data fashion-mnist --clients 3 --fraction 1 --rounds $rounds \
    --local-epochs 1 --batch 10 --lr 0.05 --split iid --seed 0 --threads 1 --backend cpu --json \
    > "$work/simulate.json" 2> "$work/simulate.log" &
simulate=$!
pids+=($simulate)

# Run 1: Fashion-MNIST, three shares and a fourth node that dies after round 1 (started
# once the SuperLink listens, so that they do not back off).
wait_for 60 listening || fail "the SuperLink did not start"
nodes=()
for i in 0 1; do
    node "fmnist$i.log" --data fashion-mnist --partition "$i/3" --seed 0 --max-runs 1
    nodes+=($node_pid)
done
# The third serves on: it joins the restarted SuperLink and run 2.
node fmnist2.log --data fashion-mnist --partition 2/3 --seed 0 --dump-updates "$work/dump1"
serving=$node_pid
node victim.log --data fashion-mnist --partition 0/30 --seed 0
victim=$node_pid
# The run starts while the nodes start; the ServerApp waits for the four.
FLWR_HOME="$work/cli" timeout 170 "$venv/bin/flwr" run tests/flower/app loopback --stream \
    --run-config "num-server-rounds=$rounds init-dir='$work/init' out-file='$work/result.json' min-nodes=3 wait-nodes=4 round-timeout=60 probe=true" \
    > "$work/flwr-run.log" 2>&1 &
run=$!
pids+=($run)
wait_for 60 connected 4 "$work"/{fmnist0,fmnist1,fmnist2,victim}.log || fail "the four nodes did not connect"
wait_for 120 grep -q '^run .* round 1 evaluate' "$work/victim.log" || fail "the fourth node did not answer round 1"
kill -KILL -- "-$victim"
disown $victim
wait "$run" || fail "flwr run failed"
wait_for 60 test -s "$work/result.json" || fail "the ServerApp wrote no result"

# Two nodes see the run finish and leave (deactivate, unregister) on their own.
wait_for 60 gone "${nodes[@]}" || fail "a node did not leave after the run"
for p in "${nodes[@]}"; do wait "$p" || fail "node $p exited with status $?"; done
grep -q '^left the federation' "$work/fmnist0.log" || fail "node 0 did not leave cleanly"
grep -q '^left the federation' "$work/fmnist1.log" || fail "node 1 did not leave cleanly"
wait_for 30 grep -q '^run .* finished' "$work/fmnist2.log" || fail "node 2 did not see the run finish"
for i in 0 1 2; do
    grep -q '^run .* round 3 train: 20000 examples' "$work/fmnist$i.log" || fail "node $i: no round 3 train line with its 20000 examples"
    grep -q '^run .* round 3 evaluate: 333[34] test examples' "$work/fmnist$i.log" || fail "node $i: no round 3 evaluate line with its share of the test set"
done
grep -q '^run .* round 1 train: 2000 examples' "$work/victim.log" || fail "the fourth node did not train in round 1"
for log in fmnist0 fmnist1 fmnist2 victim; do
    grep -q '^run .* query: .*error reply: message type `query` is not supported' "$work/$log.log" ||
        fail "$log: no error reply to the query"
    grep -q "^run .* train: .*error reply: parameter [0-9]* is .*, the model's is" "$work/$log.log" ||
        fail "$log: no error reply to the wrong shapes"
done
grep -q '^run .* round 2 ' "$work/victim.log" && fail "the killed node answered round 2"
wait_for 120 gone $simulate || fail "fed simulate did not finish"
wait $simulate || fail "fed simulate failed"

"$venv/bin/python" - "$work/result.json" "$work/init" "$rounds" "$work/simulate.json" <<'PY' || fail "the Fashion-MNIST federation"
import json, os, sys
import numpy as np
result, init, rounds = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3])
simulated = json.load(open(sys.argv[4]))["final_accuracy"]
probe = result["probe"]
refused = [p for p in probe if p["error"] and ("not supported by a tensorc node" in p["error"] or "the model's is" in p["error"])]
assert len(probe) == 8 and len(refused) == 8, probe
print(f"error replies to all {len(probe)} probes (a query and wrong shapes to each node)")
ev = result["evaluate"]
assert sorted(ev, key=int) == [str(r) for r in range(1, rounds + 1)], ev
first, last = ev["1"], ev[str(rounds)]
print(f"Flower FedAvg on Fashion-MNIST: round 1 loss {first['loss']:.4f} accuracy {first['accuracy']:.4f}; "
      f"round {rounds} loss {last['loss']:.4f} accuracy {last['accuracy']:.4f}; fed simulate {simulated:.4f}")
assert last["loss"] < first["loss"], "loss did not fall"
assert last["accuracy"] >= 0.80, f"accuracy {last['accuracy']:.4f} below 80%"
assert abs(last["accuracy"] - simulated) <= 0.01, f"Flower {last['accuracy']:.4f}, fed simulate {simulated:.4f}"
assert all(np.isfinite(result["train"][str(r)]["train-loss"]) for r in range(1, rounds + 1))
for k in result["final_keys"]:
    a = np.load(os.path.join(init, f"{k}.npy"))
    assert result["final_shapes"][k] == list(a.shape) and result["final_dtypes"][k] == str(a.dtype), k
PY
echo "flower: error replies; three tensorc nodes reach 80% on Fashion-MNIST as fed simulate does; a node killed after round 1: ok ($((SECONDS - started)) s)"

# The SuperLink restarts (with a fresh state): the serving node joins it again. Run 2:
# that node, the killed node restarted and a stock flower-supernode; one round of FedAvg.
rm -rf "$work/dump1"
kill -TERM -- "-$superlink_pid"
wait_for 10 gone "$superlink_pid" || kill -KILL -- "-$superlink_pid" 2>/dev/null || true
superlink "$work/link2" "$work/superlink2.log"
wait_for 60 listening || fail "the SuperLink did not restart"
qport=$(free_port)
mkdir -p "$work/supernode"
setsid env FLWR_HOME="$work/supernode" "$venv/bin/flower-supernode" --insecure --superlink "127.0.0.1:$port" \
    --host 127.0.0.1 --port "$qport" > "$work/supernode.log" 2>&1 &
pids+=($!)
disown $!
node restarted.log --data fashion-mnist --partition 0/30 --seed 0 --max-runs 1 --dump-updates "$work/dump0"
restarted=$node_pid
wait_for 60 connected 2 "$work/fmnist2.log" || fail "the serving node did not join the restarted SuperLink"
wait_for 60 connected 1 "$work/restarted.log" || fail "the restarted node did not connect"
FLWR_HOME="$work/cli" timeout 150 "$venv/bin/flwr" run tests/flower/app loopback --stream \
    --run-config "num-server-rounds=1 init-dir='$work/init' out-arrays='$work/final' min-nodes=3 round-timeout=60 fraction-evaluate=0" \
    > "$work/flwr-run2.log" 2>&1 || fail "flwr run 2 failed"
wait_for 60 test -s "$work/final/0.npy" || fail "the ServerApp wrote no model in run 2"
wait_for 60 gone $restarted || fail "the restarted node did not leave after run 2"
wait $restarted || fail "the restarted node exited with status $?"
grep -q '^run .* round 1 train: 2000 examples' "$work/restarted.log" || fail "the restarted node did not train"
[ "$(grep -c '^run .* round 1 train: 20000 examples' "$work/fmnist2.log")" = 2 ] || fail "the serving node did not train in run 2"
"$venv/bin/python" - "$work" <<'PY' || fail "run 2: error replies or FedAvg's aggregate"
import json, os, sys
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
print(f"aggregate = weighted mean of "
      f"{len(updates)} updates ({total} examples); worst relative error {worst:.1e}")
PY
echo "flower: a restarted SuperLink joined again; a restarted node rejoining; FedAvg's aggregate with a stock flower-supernode: ok ($((SECONDS - started)) s)"
kill -TERM "$serving"
wait_for 20 gone "$serving" || fail "the node did not stop on SIGTERM"
wait "$serving" || fail "the node exited with status $? after SIGTERM"
grep -q '^left the federation' "$work/fmnist2.log" || fail "the serving node did not leave cleanly"
grep -q 'panicked' "$work"/*.log && fail "a panic"
echo "flower end-to-end: ok ($((SECONDS - started)) s)"
