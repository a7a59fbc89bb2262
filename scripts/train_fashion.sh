#!/usr/bin/env bash
# Train examples/fashion_mlp.tc on Fashion-MNIST: the README's main command.
# On a fresh machine it installs the data set (the Debian package dataset-fashion-mnist,
# as root, after apt-get update) if its IDX files are missing, builds tensorc in release
# mode, and trains for 5 epochs on the default backend. Extra arguments go to
# `tensorc train` (e.g. --backend interp, --save params.safetensors, --json).
set -euo pipefail
cd "$(dirname "$0")/.."

data=/usr/share/datasets/fashion-mnist
missing=0
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [ -f "$data/$f.gz" ] || [ -f "$data/$f" ] || missing=1
done
if [ "$missing" = 1 ]; then
    echo "Fashion-MNIST is not in $data; installing the Debian package dataset-fashion-mnist"
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y dataset-fashion-mnist
fi

cargo build --release --locked -p tensorc-cli
exec target/release/tensorc train examples/fashion_mlp.tc --data fashion-mnist --epochs 5 --lr 0.001 "$@"
