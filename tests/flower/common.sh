# Shared by the Flower test scripts (sourced after `cd` to the repository root): the scratch
# folder `$work`, the processes to stop on exit (`pids`, process-group leaders started with
# setsid or plain children), `fail`, `wait_for` and `free_port`.
# FLOWER_KEEP=1 keeps `$work` for a look at its logs.
export FLWR_TELEMETRY_ENABLED=0 FLWR_DISABLE_UPDATE_CHECK=1 PYTHONUNBUFFERED=1

work=$(mktemp -d)
pids=()
# Signal a process's group when it leads one, else the process alone.
signal() { kill "$1" -- "-$2" 2>/dev/null || kill "$1" "$2" 2>/dev/null; }
cleanup() {
    for p in "${pids[@]}"; do signal -TERM "$p" || true; done
    for _ in $(seq 25); do
        alive=0
        for p in "${pids[@]}"; do signal -0 "$p" && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.2
    done
    for p in "${pids[@]}"; do signal -KILL "$p" || true; done
    if [ -n "${FLOWER_KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for log in "$work"/*.log; do echo "--- $log" >&2; tail -n 30 "$log" >&2; done
    exit 1
}
wait_for() {  # wait_for SECONDS COMMAND...: until COMMAND succeeds, at most SECONDS
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.2
    done
}
free_port() { "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
