//! `tensorc systolic`: every matrix product and convolution of a program's optimised graph
//! (or of a SCALE-Sim topology CSV) mapped onto an R×C systolic array by `tc-systolic`,
//! printed as a table per layer with a total, or as one JSON object.
//!
//! A `MatMul` `[..., M, K] @ [..., K, N]` is a GEMM layer repeated once per batch element
//! (each batch element has its own right operand). A `Conv2d` `x: [N, C, H, W]`,
//! `w: [K, C, R, S]` is a convolution over N images whose ifmap is the padded extent the
//! windows read, `(Ho − 1)·stride + R` by `(Wo − 1)·stride + S`, so SCALE-Sim's output
//! size equals the graph's; a dilated convolution is its im2col GEMM
//! (`N·Ho·Wo × C·R·S` by `C·R·S × K`), which has the same cycles.

use std::fmt::Write;

use clap::Args;
use tc_ir::{Graph, NodeId, Op};
use tc_systolic::{Array, Dataflow, Report, Shape, Traffic};

use tensorc::Error;

/// The options of `tensorc systolic`.
#[derive(Args, Clone, Debug)]
pub struct Options {
    /// The array's rows and columns, RxC (TPU v1: 256x256)
    #[arg(long, value_name = "RxC", default_value = "256x256", value_parser = parse_array)]
    pub array: Array,
    /// os, ws or is, or best: per layer the dataflow with the fewest cycles
    #[arg(long, value_name = "DF", default_value = "ws", value_parser = parse_choice)]
    pub dataflow: Choice,
    /// Print one JSON object: the layers and the total
    #[arg(long)]
    pub json: bool,
}

fn parse_array(text: &str) -> Result<Array, String> {
    Array::parse(text).map_err(|e| e.to_string())
}

/// One dataflow for every layer, or the best per layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    Fixed(Dataflow),
    Best,
}

fn parse_choice(text: &str) -> Result<Choice, String> {
    match text {
        "best" => Ok(Choice::Best),
        _ => Dataflow::parse(text).map(Choice::Fixed).ok_or_else(|| format!("`{text}` is not a dataflow; expected os, ws, is or best")),
    }
}

impl Choice {
    fn name(self) -> &'static str {
        match self {
            Choice::Fixed(d) => d.name(),
            Choice::Best => "best",
        }
    }
}

/// A layer to map: what it is called, the op it came from, its shape, how many times it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    pub name: String,
    pub op: &'static str,
    pub shape: Shape,
    pub repeat: u64,
}

/// The matrix products and convolutions of `graph`, in node order. Empty ones (a zero
/// dimension) compute nothing and are left out.
pub fn graph_layers(graph: &Graph) -> Vec<Layer> {
    let mut layers = Vec::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        let id = NodeId(i as u32);
        let shape_of = |input: usize| -> &[usize] { &graph.ty(node.inputs[input]).shape };
        let dims = |values: &[usize]| values.iter().map(|&d| d as u64).collect::<Vec<u64>>();
        let (op, shape, repeat) = match &node.op {
            Op::MatMul => {
                let (a, b) = (dims(shape_of(0)), dims(shape_of(1)));
                let (batch, mk) = a.split_at(a.len() - 2);
                let shape = Shape::Gemm { m: mk[0], n: b[b.len() - 1], k: mk[1] };
                ("matmul", shape, batch.iter().product())
            }
            Op::Conv2d { stride, dilation, .. } => {
                let (x, w, out) = (dims(shape_of(0)), dims(shape_of(1)), dims(&node.ty.shape));
                let (n, c, filters, r, s) = (x[0], x[1], w[0], w[2], w[3]);
                let (ho, wo) = (out[2], out[3]);
                let stride = stride.map(|d| d as u64);
                if ho == 0 || wo == 0 {
                    continue;
                }
                if *dilation == [1, 1] {
                    let ifmap = [(ho - 1) * stride[0] + r, (wo - 1) * stride[1] + s];
                    ("conv2d", Shape::Conv { batch: n, ifmap, filter: [r, s], channels: c, filters, stride }, 1)
                } else {
                    ("conv2d (dilated, as GEMM)", Shape::Gemm { m: n * ho * wo, n: filters, k: c * r * s }, 1)
                }
            }
            _ => continue,
        };
        if shape.macs() > 0 && repeat > 0 {
            layers.push(Layer { name: format!("%{}", id.0), op, shape, repeat });
        }
    }
    layers
}

/// The layers of a SCALE-Sim topology CSV (GEMM or convolution rows).
pub fn topology_layers(text: &str) -> Result<Vec<Layer>, Error> {
    let layers = tc_systolic::parse_topology(text).map_err(|e| Error::Runtime(e.to_string()))?;
    Ok(layers.into_iter().map(|(name, shape)| Layer { name, op: "topology", shape, repeat: 1 }).collect())
}

/// Every layer's report and the totals (each layer counted `repeat` times).
pub struct Evaluation {
    pub array: Array,
    pub choice: Choice,
    pub layers: Vec<(Layer, Report)>,
    pub cycles: u64,
    pub cycles_with_prefetch: u64,
    pub macs: u64,
    pub sram: Traffic,
    pub dram: Traffic,
    pub dram_exact: bool,
}

/// Map every layer onto the array; a usage error when there is none.
pub fn evaluate(layers: Vec<Layer>, options: &Options) -> Result<Evaluation, Error> {
    if layers.is_empty() {
        return Err(Error::Usage("nothing to map onto a systolic array: no matmul or convolution".into()));
    }
    let mut total = Evaluation {
        array: options.array,
        choice: options.dataflow,
        layers: Vec::with_capacity(layers.len()),
        cycles: 0,
        cycles_with_prefetch: 0,
        macs: 0,
        sram: Traffic::default(),
        dram: Traffic::default(),
        dram_exact: true,
    };
    for layer in layers {
        let report = match options.dataflow {
            Choice::Fixed(d) => tc_systolic::simulate(layer.shape, options.array, d),
            Choice::Best => tc_systolic::best(layer.shape, options.array),
        }
        .map_err(|e| Error::Runtime(format!("layer {}: {e}", layer.name)))?;
        total.dram_exact &= report.dram_exact;
        let n = layer.repeat;
        total.cycles += n * report.cycles;
        total.cycles_with_prefetch += n * report.cycles_with_prefetch;
        total.macs += n * report.macs;
        total.sram += times(report.sram, n);
        total.dram += times(report.dram, n);
        total.layers.push((layer, report));
    }
    Ok(total)
}

fn times(t: Traffic, n: u64) -> Traffic {
    Traffic { ifmap_reads: n * t.ifmap_reads, filter_reads: n * t.filter_reads, ofmap_writes: n * t.ofmap_writes }
}

impl Evaluation {
    /// All MACs over (PEs × all cycles).
    pub fn utilisation(&self) -> f64 {
        self.macs as f64 / (self.cycles.max(1) as f64 * self.array.macs() as f64)
    }

    /// The table: one line per layer, then the total.
    pub fn table(&self) -> String {
        let mut out = format!(
            "systolic array {}, dataflow {} (SCALE-Sim v3 cycles; SRAM/DRAM in elements)\n",
            self.array,
            self.choice.name()
        );
        let header = ["layer", "op", "shape", "df", "folds", "cycles", "util%", "map%", "SRAM rd", "SRAM wr", "DRAM rd", "DRAM wr"];
        let mut rows: Vec<[String; 12]> = vec![header.map(String::from)];
        let mut estimated = false;
        for (layer, r) in &self.layers {
            let shape = if layer.repeat == 1 { layer.shape.to_string() } else { format!("{} ×{}", layer.shape, layer.repeat) };
            let mark = if r.dram_exact { "" } else { "~" };
            estimated |= !r.dram_exact;
            rows.push([
                layer.name.clone(),
                layer.op.to_string(),
                shape,
                r.dataflow.to_string(),
                format!("{}x{}", r.row_folds, r.col_folds),
                r.cycles.to_string(),
                format!("{:.2}", 100.0 * r.overall_utilisation),
                format!("{:.2}", 100.0 * r.mapping_efficiency),
                (r.sram.ifmap_reads + r.sram.filter_reads).to_string(),
                r.sram.ofmap_writes.to_string(),
                format!("{mark}{}", r.dram.ifmap_reads + r.dram.filter_reads),
                r.dram.ofmap_writes.to_string(),
            ]);
        }
        let mark = if self.dram_exact { "" } else { "~" };
        rows.push([
            "total".into(),
            String::new(),
            format!("{} layers", self.layers.iter().map(|(l, _)| l.repeat).sum::<u64>()),
            String::new(),
            String::new(),
            self.cycles.to_string(),
            format!("{:.2}", 100.0 * self.utilisation()),
            String::new(),
            (self.sram.ifmap_reads + self.sram.filter_reads).to_string(),
            self.sram.ofmap_writes.to_string(),
            format!("{mark}{}", self.dram.ifmap_reads + self.dram.filter_reads),
            self.dram.ofmap_writes.to_string(),
        ]);
        let widths: Vec<usize> = (0..12).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
        for row in &rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                // Text columns align left, numbers right.
                if c < 4 {
                    let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
                } else {
                    let _ = write!(line, "{}{cell}  ", " ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        if estimated {
            out.push_str("~ DRAM traffic estimated: an operand exceeds half of its SRAM buffer (see docs/systolic.md)\n");
        }
        out
    }

    /// `{"array", "dataflow", "layers": [...], "total": {...}}`; a layer's numbers are for
    /// one run of it, the total counts each layer `repeat` times.
    pub fn json(&self) -> String {
        let layers: Vec<serde_json::Value> = self.layers.iter().map(|(layer, r)| layer_json(layer, r)).collect();
        crate::json::line(&serde_json::json!({
            "array": [self.array.rows, self.array.cols],
            "dataflow": self.choice.name(),
            "layers": layers,
            "total": {
                "cycles": self.cycles,
                "cycles_with_prefetch": self.cycles_with_prefetch,
                "macs": self.macs,
                "overall_utilisation": self.utilisation(),
                "sram": traffic_json(&self.sram),
                "dram": traffic_json(&self.dram),
                "dram_exact": self.dram_exact,
            },
        }))
    }
}

fn layer_json(layer: &Layer, r: &Report) -> serde_json::Value {
    let [m, n, k] = layer.shape.gemm();
    let kind = match layer.shape {
        Shape::Gemm { .. } => "gemm",
        Shape::Conv { .. } => "conv",
    };
    serde_json::json!({
        "name": layer.name,
        "op": layer.op.to_string(),
        "kind": kind,
        "shape": layer.shape.to_string(),
        "m": m, "n": n, "k": k,
        "repeat": layer.repeat,
        "dataflow": r.dataflow.to_string(),
        "sr": r.sr, "sc": r.sc, "t": r.t,
        "row_folds": r.row_folds,
        "col_folds": r.col_folds,
        "cycles": r.cycles,
        "cycles_with_prefetch": r.cycles_with_prefetch,
        "mapping_efficiency": r.mapping_efficiency,
        "compute_utilisation": r.compute_utilisation,
        "overall_utilisation": r.overall_utilisation,
        "macs": r.macs,
        "sram": traffic_json(&r.sram),
        "dram": traffic_json(&r.dram),
        "dram_exact": r.dram_exact,
    })
}

fn traffic_json(t: &Traffic) -> serde_json::Value {
    serde_json::json!({ "ifmap_reads": t.ifmap_reads, "filter_reads": t.filter_reads, "ofmap_writes": t.ofmap_writes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tc_ir::Type;
    use tc_tensor::DType;

    fn options(array: &str, dataflow: &str) -> Options {
        Options { array: parse_array(array).expect("valid"), dataflow: parse_choice(dataflow).expect("valid"), json: false }
    }

    /// x: f32[2, 1, 28, 28] → conv 3×3 (16), padding 1 → batched matmul [4, 6, 5] @ [4, 5, 7].
    fn graph() -> Graph {
        let f32 = |shape: Vec<usize>| Type::new(DType::F32, shape);
        let mut g = Graph::new("main");
        let x = g.push(Op::Param(0), vec![], f32(vec![2, 1, 28, 28]));
        let w = g.push(Op::Param(1), vec![], f32(vec![16, 1, 3, 3]));
        let conv = Op::Conv2d { stride: [1, 1], pad: [(1, 1), (1, 1)], dilation: [1, 1] };
        let y = g.push(conv, vec![x, w], f32(vec![2, 16, 28, 28]));
        let dilated = Op::Conv2d { stride: [1, 1], pad: [(0, 0), (0, 0)], dilation: [2, 2] };
        let z = g.push(dilated, vec![x, w], f32(vec![2, 16, 24, 24]));
        let a = g.push(Op::Param(2), vec![], f32(vec![4, 6, 5]));
        let b = g.push(Op::Param(3), vec![], f32(vec![4, 5, 7]));
        let m = g.push(Op::MatMul, vec![a, b], f32(vec![4, 6, 7]));
        g.outputs = vec![y, z, m];
        g
    }

    #[test]
    fn layers_of_a_graph() {
        let layers = graph_layers(&graph());
        let conv = Shape::Conv { batch: 2, ifmap: [30, 30], filter: [3, 3], channels: 1, filters: 16, stride: [1, 1] };
        assert_eq!(layers[0], Layer { name: "%2".into(), op: "conv2d", shape: conv, repeat: 1 });
        assert_eq!(conv.ofmap(), [28, 28]);
        assert_eq!(layers[1].shape, Shape::Gemm { m: 2 * 24 * 24, n: 16, k: 9 });
        assert_eq!(layers[2], Layer { name: "%6".into(), op: "matmul", shape: Shape::Gemm { m: 6, n: 7, k: 5 }, repeat: 4 });
    }

    #[test]
    fn totals_count_repeats() {
        let e = evaluate(graph_layers(&graph()), &options("8x8", "os")).expect("layers");
        let sum: u64 = e.layers.iter().map(|(l, r)| l.repeat * r.cycles).sum();
        assert_eq!(e.cycles, sum);
        // One 8×8 fold of T = 5 for each of the 4 batch elements: (5 + 14) − 1 cycles.
        assert_eq!(e.layers[2].1.cycles, 18);
        assert_eq!(e.macs, 2 * 28 * 28 * 16 * 9 + 2 * 24 * 24 * 16 * 9 + 4 * 6 * 7 * 5);
    }

    #[test]
    fn best_is_never_worse() {
        let layers = graph_layers(&graph());
        let best = evaluate(layers.clone(), &options("16x16", "best")).expect("layers");
        for d in ["os", "ws", "is"] {
            let fixed = evaluate(layers.clone(), &options("16x16", d)).expect("layers");
            assert!(best.cycles <= fixed.cycles, "best {} vs {d} {}", best.cycles, fixed.cycles);
        }
    }

    #[test]
    fn table_and_json() {
        let layers = topology_layers("Layer, M, N, K,\nfc\"1, 64, 128, 1568,\nconv1, 30, 30, 3, 3, 1, 16, 1,\n").expect("valid");
        let e = evaluate(layers, &options("32x32", "ws")).expect("layers");
        insta::assert_snapshot!(e.table());
        let text = e.json();
        assert!(text.starts_with("{\"array\": [32, 32], \"dataflow\": \"ws\", \"layers\": [{\"name\": \"fc\\\"1\""), "{text}");
        let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(json["total"]["cycles"], e.cycles, "{text}");
    }

    #[test]
    fn errors() {
        assert!(matches!(evaluate(vec![], &options("8x8", "ws")), Err(Error::Usage(m)) if m.contains("no matmul or convolution")));
        assert!(parse_array("8by8").unwrap_err().contains("256x256"));
        assert!(parse_choice("rs").unwrap_err().contains("os, ws, is or best"));
        assert!(matches!(topology_layers("h\nx, 1,\n"), Err(Error::Runtime(m)) if m.contains("line 2")));
    }
}
