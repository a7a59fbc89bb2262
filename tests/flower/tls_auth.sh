#!/usr/bin/env bash
# TLS and node authentication against the real Flower SuperLink (flwr==1.41.0, the
# virtualenv tests/flower/e2e.sh made): a CA and a server certificate for 127.0.0.1 made
# here with openssl, `flower-superlink --enable-supernode-auth` over TLS, the node's
# public key registered with Flower's own CLI (`flwr supernode register`), then
#  - a node with that key (--auth-key, OpenSSH format) and --root-certificates connects, and leaves
#    cleanly (deactivate, unregister) on SIGTERM;
#  - a node with a fresh, unregistered key is refused: a clear error, exit status 3;
#  - a node that trusts another CA cannot connect (TLS error).
#
#   tests/flower/tls_auth.sh [TENSORC]
set -euo pipefail
cd "$(dirname "$0")/../.."
tensorc=$(realpath "${1:-target/release/tensorc}")
venv=target/flwr-venv
model=examples/fed_fashion_2nn.tc
"$venv/bin/python" -c 'import flwr' || { echo "run tests/flower/e2e.sh first (it installs flwr)"; exit 1; }
. tests/flower/common.sh
export PATH="$PWD/$venv/bin:$PATH"

# A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated CA.
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=tensorc test CA" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.pem -days 2 -subj "/CN=other CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf 2>/dev/null
# The node's P-384 key in OpenSSH format (what `ssh-keygen -t ecdsa -b 384` writes and
# `flower-supernode --auth-supernode-private-key` reads), its OpenSSH public key for
# `flwr supernode register`.
"$OLDPWD/$venv/bin/python" - <<'PY'
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import ec
k = ec.generate_private_key(ec.SECP384R1())
open("node.key", "wb").write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.OpenSSH, s.NoEncryption()))
open("node.pub", "wb").write(k.public_key().public_bytes(s.Encoding.OpenSSH, s.PublicFormat.OpenSSH))
PY
grep -q 'BEGIN OPENSSH PRIVATE KEY' node.key
cd "$OLDPWD"

port=$(free_port)
mkdir -p "$work/link" "$work/cli"
setsid env FLWR_HOME="$work/link" "$venv/bin/flower-superlink" --host 127.0.0.1 --port "$port" \
    --ssl-ca-certfile "$work/ca.pem" --ssl-certfile "$work/server.pem" --ssl-keyfile "$work/server.key" \
    --enable-supernode-auth --disable-runtime-dependency-installation > "$work/superlink.log" 2>&1 &
pids+=($!)
disown $!
cat > "$work/cli/config.toml" <<TOML
[superlink]
default = "tls"

[superlink.tls]
address = "127.0.0.1:$port"
root-certificates = "$work/ca.pem"
TOML
for _ in $(seq 50); do
    FLWR_HOME="$work/cli" "$venv/bin/flwr" supernode register "$work/node.pub" tls > "$work/register.log" 2>&1 && break
    sleep 0.3
done
grep -q "registered successfully" "$work/register.log" || fail "flwr supernode register failed"

node() {  # node LOG EXTRA...
    local log=$1
    shift
    setsid "$tensorc" fed node "$model" --superlink "127.0.0.1:$port" --data synthetic:100 --heartbeat 10 \
        --timeout 10 "$@" > "$work/$log" 2>&1 &
}

# The registered key over TLS: connects, and SIGTERM makes it leave cleanly.
node auth.log --root-certificates "$work/ca.pem" --auth-key "$work/node.key"
p=$!
pids+=($p)
for _ in $(seq 100); do grep -q '^connected' "$work/auth.log" && break; sleep 0.2; done
grep -q '^connected' "$work/auth.log" || fail "the authenticated TLS node did not connect"
kill -TERM "$p"
for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
wait "$p" || fail "the authenticated node exited with status $?"
grep -q '^left the federation' "$work/auth.log" || fail "the authenticated node did not leave cleanly"

# A fresh key is not registered: refused.
node fresh.log --root-certificates "$work/ca.pem"
p=$!
pids+=($p)
for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
status=0
wait "$p" || status=$?
[ "$status" = 3 ] || fail "an unregistered node exited with status $status, not 3"
grep -qi 'refused `activate-node`' "$work/fresh.log" || fail "no clear refusal for the unregistered node"

# A node that trusts another CA: TLS fails (retried until it is stopped).
node other.log --root-certificates "$work/other-ca.pem" --auth-key "$work/node.key"
p=$!
pids+=($p)
for _ in $(seq 100); do grep -q 'retrying' "$work/other.log" && break; sleep 0.2; done
grep -qi 'certificate\|UnknownIssuer\|tls' "$work/other.log" || fail "no TLS error for a node trusting another CA"
kill -TERM "$p"
for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
kill -0 "$p" 2>/dev/null && fail "the node retrying TLS did not stop on SIGTERM"
tail -n 1 "$work/fresh.log"
grep -m 1 'retrying' "$work/other.log"
echo "flower TLS and node authentication: ok"
