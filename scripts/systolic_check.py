"""Compare `tensorc systolic --json` with SCALE-Sim 3.0.0 layer by layer.

Each case is one layer (a GEMM `M, N, K` or a convolution `H, W, R, S, C, filters,
stride` in SCALE-Sim's topology format), one array and one dataflow. SCALE-Sim runs with
its default buffers (256/256/128 KiB) in the bandwidth-estimating mode; tensorc reads the
same topology CSV. Usage: python scripts/systolic_check.py path/to/tensorc
"""

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile

from scalesim.scale_sim import scalesim

CASES = [
    # kind, dims, array (rows, cols), dataflow
    ("gemm", (100, 50, 70), (8, 8), "os"),
    ("gemm", (100, 50, 70), (8, 16), "ws"),
    ("gemm", (100, 50, 70), (16, 8), "is"),
    ("gemm", (300, 200, 100), (32, 16), "os"),
    ("gemm", (64, 128, 1568), (256, 256), "ws"),
    ("gemm", (64, 10, 128), (256, 256), "is"),
    ("gemm", (256, 256, 256), (128, 128), "os"),
    ("gemm", (1, 1000, 512), (64, 64), "ws"),
    ("gemm", (500, 30, 40), (32, 32), "is"),
    ("gemm", (33, 77, 129), (16, 16), "ws"),
    ("gemm", (128, 64, 300), (8, 8), "ws"),
    ("conv", (14, 14, 3, 3, 5, 12, 2), (8, 8), "ws"),
    ("conv", (14, 14, 3, 3, 5, 12, 1), (32, 32), "is"),
    ("conv", (30, 30, 3, 3, 1, 16, 1), (256, 256), "ws"),
    ("conv", (16, 16, 3, 3, 16, 32, 1), (256, 256), "os"),
    ("conv", (16, 16, 3, 3, 16, 32, 1), (64, 64), "is"),
    ("conv", (31, 31, 5, 5, 3, 20, 2), (32, 32), "os"),
    ("conv", (28, 28, 1, 1, 64, 32, 1), (16, 16), "ws"),
    ("conv", (15, 15, 1, 1, 8, 16, 2), (8, 8), "os"),
    ("conv", (56, 56, 3, 3, 16, 16, 1), (128, 128), "ws"),
    ("conv", (27, 27, 5, 5, 8, 24, 1), (8, 32), "is"),
    ("conv", (13, 13, 3, 3, 32, 48, 1), (32, 8), "os"),
    ("conv", (20, 20, 7, 7, 3, 8, 3), (16, 64), "ws"),
    ("conv", (12, 12, 3, 3, 4, 300, 1), (256, 256), "is"),
]

CONFIG = """[general]
run_name = run

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: 256
FilterSramSzkB: 256
OfmapSramSzkB: 128
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Dataflow: {dataflow}
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport: false
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 8
RandomNumberGeneratorSeed: 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

GEMM_HEADER = "Layer, M, N, K,\n"
CONV_HEADER = "Layer name, IFMAP height, IFMAP width, Filter height, Filter width, Channels, Num filter, Strides,\n"
# SCALE-Sim reads a layout file even when custom layouts are off; its values are unused.
LAYOUT = "Layer name," + ",".join(f"f{i}" for i in range(20)) + ",\nL0," + ",".join(["1"] * 6 + ["0"] * 14) + ",\n"


def csv_rows(path):
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    return [[x.strip() for x in line.split(",")] for line in lines[1:]]


def scalesim_run(directory, kind, dims, array, dataflow):
    """SCALE-Sim's numbers for one layer."""
    topology = os.path.join(directory, "topology.csv")
    with open(os.path.join(directory, "scale.cfg"), "w") as f:
        f.write(CONFIG.format(rows=array[0], cols=array[1], dataflow=dataflow))
    with open(topology, "w") as f:
        f.write((GEMM_HEADER if kind == "gemm" else CONV_HEADER) + "L0, " + ", ".join(map(str, dims)) + ",\n")
    with open(os.path.join(directory, "layout.csv"), "w") as f:
        f.write(LAYOUT)
    with contextlib.redirect_stdout(io.StringIO()):
        sim = scalesim(save_disk_space=True, verbose=False, config=os.path.join(directory, "scale.cfg"),
                       topology=topology, layout=os.path.join(directory, "layout.csv"),
                       input_type_gemm=(kind == "gemm"))
        sim.run_scale(top_path=os.path.join(directory, "out"))
    compute = csv_rows(os.path.join(directory, "out", "run", "COMPUTE_REPORT.csv"))[0]
    detail = csv_rows(os.path.join(directory, "out", "run", "DETAILED_ACCESS_REPORT.csv"))[0]
    return {
        "cycles_with_prefetch": int(compute[1]),
        "cycles": int(compute[2]),
        "stalls": int(compute[3]),
        "overall_utilisation": float(compute[4]) / 100,
        "mapping_efficiency": float(compute[5]) / 100,
        "compute_utilisation": float(compute[6]) / 100,
        "sram": [int(float(detail[i])) for i in (3, 6, 9)],
        "dram": [int(float(detail[i])) for i in (12, 15, 18)],
    }, topology


def tensorc_run(tensorc, topology, array, dataflow):
    out = subprocess.run([tensorc, "systolic", topology, "--array", f"{array[0]}x{array[1]}",
                          "--dataflow", dataflow, "--json"], check=True, capture_output=True, text=True)
    layer = json.loads(out.stdout)["layers"][0]
    traffic = lambda t: [t["ifmap_reads"], t["filter_reads"], t["ofmap_writes"]]
    layer["sram"], layer["dram"] = traffic(layer["sram"]), traffic(layer["dram"])
    return layer


def close(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


def main():
    tensorc = sys.argv[1]
    rows, failures, dram_exact, dram_match = [], 0, 0, 0
    print(f"{'#':>2}  {'layer':<34} {'array':>7} {'df':>2}  {'SCALE-Sim':>9} {'tensorc':>9}  cycles  sram  util  dram")
    for i, (kind, dims, array, dataflow) in enumerate(CASES, 1):
        with tempfile.TemporaryDirectory() as directory:
            ref, topology = scalesim_run(directory, kind, dims, array, dataflow)
            got = tensorc_run(tensorc, topology, array, dataflow)
        same_cycles = ref["cycles"] == got["cycles"] and ref["stalls"] == 0
        same_sram = ref["sram"] == got["sram"]
        same_util = all(close(got[k], ref[k]) for k in ("overall_utilisation", "mapping_efficiency", "compute_utilisation"))
        same_dram = ref["dram"] == got["dram"] and ref["cycles_with_prefetch"] == got["cycles_with_prefetch"]
        if got["dram_exact"]:
            dram_exact += 1
            dram_match += same_dram
            dram = "ok" if same_dram else "DIFF"
        else:
            dram = "est" + ("=" if same_dram else "")
        ok = same_cycles and same_sram and same_util and (same_dram or not got["dram_exact"])
        failures += not ok
        name = f"{kind} {'x'.join(map(str, dims))}"
        mark = lambda b: "ok" if b else "DIFF"
        print(f"{i:>2}  {name:<34} {array[0]:>3}x{array[1]:<3} {dataflow:>2}  {ref['cycles']:>9} {got['cycles']:>9}"
              f"  {mark(same_cycles):>6}  {mark(same_sram):>4}  {mark(same_util):>4}  {dram:>4}")
        if not ok:
            print(f"    SCALE-Sim {ref}\n    tensorc   {got}")
    print(f"{len(CASES) - failures}/{len(CASES)} layers match SCALE-Sim's cycles, SRAM accesses and utilisation; "
          f"DRAM traffic and cycles incl. prefetch match on {dram_match}/{dram_exact} layers the model calls exact")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
