"""Train examples/fashion_mlp.tc on Fashion-MNIST from a Python loop around its `step`,
and `tensorc train` on the same model and data, and print both throughputs.

    python bindings/python/examples/train_fashion.py [--tensorc target/release/tensorc]

The loop is what `tensorc train` does: `init(seed)`, then per epoch a shuffled pass in
batches of 64 (the last partial batch dropped), one call of the model's Adam `step` per
batch, the loss read after every step, test accuracy after every epoch. Examples/s count
the training steps only (the shuffle included, the evaluation not), as `tensorc train`
counts them. Both are run `--rounds` times, alternating, and each keeps its best epoch
rate, so that a busy machine penalises neither more. The step donates its parameters
(`m.step.donating("p")`, as `tensorc train` donates them): each new parameter is written
into the array of the old one and returned as it, so the loop reuses one set of
parameter arrays instead of allocating new ones at every step. Each batch is gathered
from the epoch's shuffled order into the same two C-contiguous buffers, which the step
reads in place.
"""

import argparse
import gzip
import pathlib
import re
import subprocess
import sys
import time

import numpy as np

import tensorc

ROOT = pathlib.Path(__file__).resolve().parents[3]
MODEL = ROOT / "examples" / "fashion_mlp.tc"
DATA = pathlib.Path("/usr/share/datasets/fashion-mnist")


def idx(path):
    """The array in an IDX file (`.gz` or not): uint8 images or labels."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(directory, split):
    find = lambda name: next(p for p in [directory / f"{name}.gz", directory / name] if p.exists())
    images = idx(find(f"{split}-images-idx3-ubyte"))
    labels = idx(find(f"{split}-labels-idx1-ubyte"))
    # As tensorc train reads them: pixels / 255 as f32, flattened; labels as i32.
    return (images.reshape(len(images), -1).astype(np.float32) / 255.0), labels.astype(np.int32)


def accuracy(m, params, x, y, batch=1000):
    correct = 0
    for i in range(0, len(x), batch):
        logits = m.predict(params, x[i:i + batch])
        correct += int((logits.argmax(axis=1) == y[i:i + batch]).sum())
    return correct / len(x)


def train_python(epochs, lr, batch, seed, data):
    m = tensorc.compile_file(MODEL)
    (x_train, y_train), (x_test, y_test) = data
    params = m.init(seed)
    step = m.step.donating("p")
    rng = np.random.default_rng(seed)
    steps = len(x_train) // batch
    # The batch buffers, gathered into at every step (C-contiguous: read in place).
    xb = np.empty((batch, x_train.shape[1]), np.float32)
    yb = np.empty(batch, np.int32)
    rates = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(len(x_train))
        total = 0.0
        for i in range(steps):
            chunk = order[i * batch:(i + 1) * batch]
            np.take(x_train, chunk, axis=0, out=xb)
            np.take(y_train, chunk, out=yb)
            params, loss = step(params, xb, yb, lr)
            loss = float(loss)
            if not np.isfinite(loss):
                sys.exit(f"the loss is {loss} at step {i + 1} of epoch {epoch}")
            total += loss
        elapsed = time.perf_counter() - start
        rates.append(steps * batch / elapsed)
        acc = accuracy(m, params, x_test, y_test)
        print(f"python  epoch {epoch}/{epochs}  loss {total / steps:.4f}  test acc {100 * acc:.2f}%  "
              f"{rates[-1]:.0f} examples/s  (train {elapsed:.1f} s)", flush=True)
    return sum(rates) / len(rates)


def train_cli(binary, epochs, lr, batch, seed):
    cmd = [str(binary), "train", str(MODEL), "--data", "fashion-mnist", "--epochs", str(epochs),
           "--lr", str(lr), "--batch", str(batch), "--seed", str(seed)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rates = []
    for line in out.splitlines():
        if line.startswith("epoch "):
            print("tensorc " + line.strip(), flush=True)
            rates.append(float(re.search(r"(\d+) examples/s", line).group(1)))
    return sum(rates) / len(rates)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tensorc", default=str(ROOT / "target" / "release" / "tensorc"),
                        help="the tensorc binary to compare with (default target/release/tensorc)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3,
                        help="train both this many times, alternating, and keep each one's best (default 3)")
    args = parser.parse_args()
    data = (load(DATA, "train"), load(DATA, "t10k"))
    cli, py = 0.0, 0.0
    for _ in range(args.rounds):
        cli = max(cli, train_cli(args.tensorc, args.epochs, args.lr, args.batch, args.seed))
        py = max(py, train_python(args.epochs, args.lr, args.batch, args.seed, data))
    print(f"\n| loop | examples/s (best of {args.rounds}) |\n|---|---:|\n| `tensorc train` | {cli:.0f} |\n"
          f"| Python loop around `step` | {py:.0f} |\n\nPython / tensorc train: {py / cli:.3f}")


if __name__ == "__main__":
    main()
