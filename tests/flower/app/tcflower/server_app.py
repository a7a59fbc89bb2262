"""Flower's own FedAvg over native tensorc nodes.

The initial model is the `.npy` files `tensorc run MODEL -e init -o DIR` writes (keys
"0", "1", … in the ArrayRecord); each round trains on every node and evaluates the
aggregate on every node. The result (per-round train and evaluate metrics, the final
arrays' shapes and dtypes) is written as JSON to `out-file`, and the final model as
`.npy` files to `out-arrays`, for tests and scripts.
"""

import json
import os

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context
from flwr.app.message import Array
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

app = ServerApp()


def load_init(folder):
    names = sorted((n for n in os.listdir(folder) if n.endswith(".npy")), key=lambda n: int(n[:-4]))
    return ArrayRecord({n[:-4]: Array(np.load(os.path.join(folder, n))) for n in names})


@app.main()
def main(grid: Grid, context: Context) -> None:
    cfg = context.run_config
    nodes = int(cfg["min-nodes"])
    strategy = FedAvg(
        fraction_train=1.0,
        fraction_evaluate=1.0,
        min_train_nodes=nodes,
        min_evaluate_nodes=nodes,
        min_available_nodes=nodes,
    )
    result = strategy.start(
        grid=grid,
        initial_arrays=load_init(str(cfg["init-dir"])),
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
                },
                f,
                indent=1,
            )
