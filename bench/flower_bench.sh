#!/usr/bin/env bash
# What a Flower round costs a node, on a loopback federation: a `tensorc fed node` (the
# release binary) beside a stock `flower-supernode` running the NumPy ClientApp of
# tests/flower/app, for the 2NN (examples/fed_fashion_2nn.tc, 199,210 parameters) and the
# CNN of McMahan et al. (examples/fed_fashion_cnn.tc, 1,663,370 parameters).
#
# For each model and node kind: a SuperLink (flwr==1.41.0), one node, and ROUNDS rounds of
# Flower's FedAvg (a `train` and an `evaluate` message per round: the model goes down
# twice and comes up once). Per round, the node's protocol overhead, from the moment
# `pull-messages` hands it an instruction to the moment the last object of its reply is
# pushed, without the handler's own work (training; the NumPy ClientApp only echoes):
#  - tensorc: the node's own timers (receive = fetching the objects and confirming,
#    decode = checking and inflating them, encode, send = push-messages and the objects);
#  - flower-supernode: timestamps of its log lines (receive = "Receiving" to "Received
#    successfully", ClientApp = from there to "Sending" (the hand-over to the ClientApp
#    process, decoding, the handler, encoding, and the SuperNode's 0.5 s polls for the
#    reply), send = "Sending" to "Sent successfully").
# Medians over rounds 2..ROUNDS (round 1 compiles the model). Peak RSS: the largest
# resident memory, sampled every 0.1 s, of the node's processes together (for the Python
# node: flower-supernode, the flower-superexec it starts, and the flwr-clientapp
# processes that one starts).
#
#   bench/flower_bench.sh [ROUNDS]      (default 4; needs target/release/tensorc)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-4}
tensorc=$(realpath target/release/tensorc)
venv=target/flwr-venv
[ -x "$tensorc" ] || { echo "build it first: cargo build --release -p tensorc-cli"; exit 1; }
if ! "$venv/bin/python" -c 'import flwr, sys; sys.exit(flwr.__version__ != "1.41.0")' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet flwr==1.41.0
fi
export PATH="$PWD/$venv/bin:$PATH"
# The scratch folder `$work`, the process groups to stop on exit (`pids`), wait_for, free_port.
. tests/flower/common.sh
listening() { (: > "/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# peak_rss PID OUT: while the process PID (a process group's leader) lives, every 0.1 s
# the resident memory of all the processes of its group together (kB); the largest sum
# is written to OUT.
peak_rss() {
    local peak=0 total kb
    while kill -0 "$1" 2>/dev/null; do
        total=0
        for p in $(pgrep -g "$1"); do
            kb=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
            total=$((total + ${kb:-0}))
        done
        if [ "$total" -gt "$peak" ]; then
            peak=$total
            echo "$peak" > "$2"
        fi
        sleep 0.1
    done
}
# A flower-supernode whose Flower log lines carry timestamps.
cat > "$work/supernode.py" <<'PY'
import logging, sys
from flwr.supercore.logger import FLOWER_LOGGER
handler = logging.FileHandler(sys.argv.pop(1))
handler.setFormatter(logging.Formatter("%(created).6f %(message)s"))
FLOWER_LOGGER.addHandler(handler)
from flwr.supernode.cli import flower_supernode
sys.argv[0] = "flower-supernode"
flower_supernode()
PY

# run MODEL KIND: one federation; the node's log in $work/MODEL-KIND.log
run() {
    local model=$1 kind=$2 name
    name=$(basename "$model" .tc)-$kind
    local port home="$work/$name"
    port=$(free_port)
    mkdir -p "$home/link" "$home/cli" "$home/node"
    rm -rf "$work/init" && "$tensorc" run "$model" -e init seed=0 -o "$work/init" > /dev/null
    setsid env FLWR_HOME="$home/link" flower-superlink --insecure --host 127.0.0.1 --port "$port" \
        --disable-runtime-dependency-installation > "$home/superlink.log" 2>&1 &
    pids+=($!)
    local link=$!
    wait_for 60 listening "$port" || { echo "the SuperLink did not start"; exit 1; }
    if [ "$kind" = tensorc ]; then
        setsid "$tensorc" fed node "$model" --superlink "127.0.0.1:$port" --insecure --data synthetic:100 \
            --heartbeat 30 --max-runs 1 --backend cpu > "$work/$name.log" 2>&1 &
    else
        setsid env FLWR_HOME="$home/node" "$venv/bin/python" "$work/supernode.py" "$work/$name.log" \
            --insecure --superlink "127.0.0.1:$port" --host 127.0.0.1 --port "$(free_port)" > "$home/supernode.out" 2>&1 &
    fi
    local node=$!
    pids+=($node)
    peak_rss "$node" "$work/$name.rss" &
    cat > "$home/cli/config.toml" <<TOML
[superlink]
default = "loopback"

[superlink.loopback]
address = "127.0.0.1:$port"
insecure = true
TOML
    FLWR_HOME="$home/cli" timeout 600 flwr run tests/flower/app loopback --stream \
        --run-config "num-server-rounds=$rounds init-dir='$work/init' min-nodes=1 round-timeout=120" \
        > "$home/flwr-run.log" 2>&1 || { echo "flwr run failed:"; tail -n 20 "$home/flwr-run.log"; exit 1; }
    # The Python node's last reply is logged just after the run ends.
    sleep 2
    kill -TERM -- "-$node" 2>/dev/null || true
    wait_for 30 eval "! kill -0 -- -$node 2>/dev/null" || kill -KILL -- "-$node" 2>/dev/null || true
    kill -TERM -- "-$link" 2>/dev/null || true
    wait_for 30 eval "! kill -0 -- -$link 2>/dev/null" || kill -KILL -- "-$link" 2>/dev/null || true
    echo "$name: $rounds rounds done" >&2
}

for model in examples/fed_fashion_2nn.tc examples/fed_fashion_cnn.tc; do
    run "$model" tensorc
    run "$model" python
done

"$venv/bin/python" - "$work" "$rounds" <<'PY'
import os, re, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])

def tensorc(path):
    per_round = {}
    pat = re.compile(r"^run \d+ round (\d+) (train|evaluate): .*?([\d.]+) s \(handler ([\d.]+) s; receive ([\d.]+) s, "
                     r"decode ([\d.]+) s, encode ([\d.]+) s, send ([\d.]+) s\)")
    for line in open(path):
        m = pat.match(line)
        if m:
            r = int(m.group(1))
            total, handler, *phases = map(float, m.groups()[2:])
            acc = per_round.setdefault(r, [0.0] * 5)
            for i, v in enumerate(phases + [total - handler]):
                acc[i] += v
    return per_round

def python(path):
    # Each round is a `train` message and then an `evaluate` one.
    per_round, rnd, t = {}, 0, {}
    for line in open(path):
        ts, _, msg = line.rstrip("\n").partition(" ")
        ts = float(ts)
        if msg.startswith("Receiving:"):
            rnd += msg.startswith("Receiving: train")
            t = {"recv": ts}
        elif msg.startswith("Received successfully"):
            t["received"] = ts
        elif msg.startswith("Sending:"):
            t["sending"] = ts
        elif msg.startswith("Sent successfully") and len(t) == 3:
            acc = per_round.setdefault(rnd, [0.0] * 4)
            parts = [t["received"] - t["recv"], t["sending"] - t["received"], ts - t["sending"], ts - t["recv"]]
            for i, v in enumerate(parts):
                acc[i] += v
    return per_round

def med(per_round, i):
    vals = [v[i] for r, v in per_round.items() if r >= 2]
    assert len(vals) >= rounds - 1, (len(vals), per_round)
    return statistics.median(vals)

ms = lambda s: f"{1000 * s:.0f} ms" if s >= 0.01 else f"{1000 * s:.1f} ms"
print("| node | model | receive | decode | encode | send | overhead per round | peak RSS |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for model, label in (("fed_fashion_2nn", "2NN (199,210)"), ("fed_fashion_cnn", "CNN (1,663,370)")):
    t = tensorc(f"{work}/{model}-tensorc.log")
    rss = int(open(f"{work}/{model}-tensorc.rss").read()) / 1024
    print(f"| tensorc | {label} | {ms(med(t, 0))} | {ms(med(t, 1))} | {ms(med(t, 2))} | {ms(med(t, 3))} | {ms(med(t, 4))} | {rss:.0f} MiB |")
    p = python(f"{work}/{model}-python.log")
    rss = int(open(f"{work}/{model}-python.rss").read()) / 1024
    print(f"| flower-supernode | {label} | {ms(med(p, 0))} | ClientApp: {ms(med(p, 1))} | (in ClientApp) | {ms(med(p, 2))} | {ms(med(p, 3))} | {rss:.0f} MiB |")
PY
