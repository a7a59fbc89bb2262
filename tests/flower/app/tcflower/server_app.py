"""Flower's own FedAvg over native tensorc nodes.

The initial model is the `.npy` files `tensorc run MODEL -e init -o DIR` writes (keys
"0", "1", … in the ArrayRecord); each round trains on every node and evaluates the
aggregate on every node (unless `fraction-evaluate` is 0). The result (per-round train and evaluate metrics, the final
arrays' shapes and dtypes) is written as JSON to `out-file`, and the final model as
`.npy` files to `out-arrays`, for tests and scripts.

The run starts once `wait-nodes` nodes (at least `min-nodes`) are connected. With
`probe = true` it first sends every node two instructions that a tensorc node
must refuse with an error reply (and then keep serving): a `query` message, a type it
does not handle, and a `train` message whose arrays have the wrong shapes; the replies
go into the result under "probe".

The ServerApp waits for replies by polling the SuperLink every `poll` seconds (Flower's
own `Grid.send_and_receive` sleeps 3 s between polls); the strategy is Flower's.
"""

import json
import os
import time

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.app.message import Array
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

app = ServerApp()


def load_init(folder):
    names = sorted((n for n in os.listdir(folder) if n.endswith(".npy")), key=lambda n: int(n[:-4]))
    return ArrayRecord({n[:-4]: Array(np.load(os.path.join(folder, n))) for n in names})


class PollingGrid:
    """`grid`, whose `send_and_receive` polls for replies every `poll` seconds."""

    def __init__(self, grid: Grid, poll: float):
        self._grid, self._poll = grid, poll

    def __getattr__(self, name):
        return getattr(self._grid, name)

    def send_and_receive(self, messages, *, timeout=None):
        ids = set(self._grid.push_messages(messages))
        end = time.time() + (timeout if timeout is not None else 0.0)
        replies = []
        while ids and (timeout is None or time.time() < end):
            got = list(self._grid.pull_messages(ids))
            replies.extend(got)
            ids.difference_update(m.metadata.reply_to_message_id for m in got)
            if ids:
                time.sleep(self._poll)
        return replies


def wait_for_nodes(grid, nodes: int, timeout: float) -> None:
    end = time.time() + timeout
    while len(list(grid.get_node_ids())) < nodes and time.time() < end:
        time.sleep(0.2)


def probe(grid, template: ArrayRecord, timeout: float) -> list:
    """Send each node a `query` and a `train` with wrongly shaped arrays; their replies."""
    ids = sorted(grid.get_node_ids())
    wrong = ArrayRecord({k: Array(np.zeros((3,) * (1 + len(a.shape) % 2), dtype=np.float32)) for k, a in template.items()})
    messages = []
    for node in ids:
        messages.append(Message(RecordDict({"config": ConfigRecord({"x": 1})}), dst_node_id=node, message_type="query"))
        content = RecordDict({"arrays": wrong, "config": ConfigRecord({"lr": 0.05})})
        messages.append(Message(content, dst_node_id=node, message_type="train"))
    return [
        {
            "node": m.metadata.src_node_id,
            "type": m.metadata.message_type,
            "error": m.error.reason if m.has_error() else None,
        }
        for m in grid.send_and_receive(messages, timeout=timeout)
    ]


@app.main()
def main(grid: Grid, context: Context) -> None:
    cfg = context.run_config
    nodes = int(cfg["min-nodes"])
    grid = PollingGrid(grid, float(cfg["poll"]))
    initial = load_init(str(cfg["init-dir"]))
    wait_for_nodes(grid, max(nodes, int(cfg["wait-nodes"])), float(cfg["round-timeout"]))
    probed = probe(grid, initial, float(cfg["round-timeout"])) if bool(cfg["probe"]) else None
    evaluate = float(cfg["fraction-evaluate"])
    strategy = FedAvg(
        fraction_train=1.0,
        fraction_evaluate=evaluate,
        min_train_nodes=nodes,
        min_evaluate_nodes=nodes if evaluate > 0 else 0,
        min_available_nodes=nodes,
    )
    result = strategy.start(
        grid=grid,
        initial_arrays=initial,
        num_rounds=int(cfg["num-server-rounds"]),
        timeout=float(cfg["round-timeout"]),
        train_config=ConfigRecord(
            {"lr": float(cfg["lr"]), "local-epochs": int(cfg["local-epochs"]), "batch-size": int(cfg["batch-size"])}
        ),
    )
    final = {k: a.numpy() for k, a in result.arrays.items()}
    folder = str(cfg["out-arrays"])
    if folder:
        os.makedirs(folder, exist_ok=True)
        for k, v in final.items():
            np.save(os.path.join(folder, f"{k}.npy"), v)
    out = str(cfg["out-file"])
    if out:
        with open(out, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "train": {str(r): dict(m) for r, m in result.train_metrics_clientapp.items()},
                    "evaluate": {str(r): dict(m) for r, m in result.evaluate_metrics_clientapp.items()},
                    "final_keys": list(final.keys()),
                    "final_shapes": {k: list(v.shape) for k, v in final.items()},
                    "final_dtypes": {k: str(v.dtype) for k, v in final.items()},
                    "probe": probed,
                },
                f,
                indent=1,
            )
