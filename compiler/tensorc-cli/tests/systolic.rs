//! `tensorc systolic` end to end: a program's layers, a SCALE-Sim topology file, JSON,
//! `--dataflow best`, and the error statuses (SPEC §7).

mod common;

use common::{expect_status, scratch, tensorc, write};

/// A convolution and a dense layer over annotated parameters.
const NET: &str = "fn main(x: f32[8, 3, 16, 16], k: f32[4, 3, 3, 3], w: f32[1024, 10]) -> f32[8, 10] {\n  \
    let h = conv2d(x, k, padding = 1);\n  reshape(h, (8, 1024)) @ w\n}\n";

#[test]
fn program_layers_table_and_json() {
    let dir = scratch("systolic_program");
    let file = write(&dir, "net.tc", NET);
    let out = tensorc(&["systolic", &file, "--array", "32x32", "--dataflow", "os"]);
    expect_status(&out, 0);
    assert!(out.stdout.starts_with("systolic array 32x32, dataflow os"), "{}", out.stdout);
    assert!(out.stdout.contains("conv 18x18x3 * 3x3x4 batch 8"), "{}", out.stdout);
    assert!(out.stdout.contains("gemm M=8 N=10 K=1024"), "{}", out.stdout);
    assert!(out.stdout.lines().last().is_some_and(|l| l.starts_with("total")), "{}", out.stdout);

    let json = tensorc(&["systolic", &file, "--array", "32x32", "--dataflow", "best", "--json"]);
    expect_status(&json, 0);
    assert!(json.stdout.starts_with("{\"array\": [32, 32], \"dataflow\": \"best\""), "{}", json.stdout);
    assert_eq!(json.stdout.matches("\"name\": ").count(), 2, "{}", json.stdout);
}

#[test]
fn topology_files() {
    let dir = scratch("systolic_topology");
    let csv = write(&dir, "layers.csv", "Layer, M, N, K,\nfc, 100, 50, 70,\n");
    let out = tensorc(&["systolic", &csv, "--array", "8x8", "--dataflow", "os", "--json"]);
    expect_status(&out, 0);
    // SCALE-Sim 3.0.0 reports 7643 cycles for this layer on an 8×8 output-stationary array.
    assert!(out.stdout.contains("\"cycles\": 7643"), "{}", out.stdout);
    let bad = write(&dir, "bad.csv", "Layer, M, N, K,\nfc, 100, 50,\n");
    let out = tensorc(&["systolic", &bad]);
    expect_status(&out, 3);
    assert!(out.stderr.contains("topology line 2"), "{}", out.stderr);
}

#[test]
fn errors() {
    let dir = scratch("systolic_errors");
    let file = write(&dir, "net.tc", NET);
    for (args, status, message) in [
        (vec!["--array", "32"], 2, "not an array size like 256x256"),
        (vec!["--array", "0x8"], 2, "1 to 65536 rows"),
        (vec!["--dataflow", "rs"], 2, "expected os, ws, is or best"),
        (vec!["-e", "missing"], 1, "missing"),
    ] {
        let mut full = vec!["systolic", file.as_str()];
        full.extend(args);
        let out = tensorc(&full);
        expect_status(&out, status);
        assert!(out.stderr.contains(message), "{}", out.stderr);
    }
    let plain = write(&dir, "plain.tc", "fn main(x: f32[4]) -> f32[4] { x + 1.0 }\n");
    let out = tensorc(&["systolic", &plain]);
    expect_status(&out, 2);
    assert!(out.stderr.contains("no matmul or convolution"), "{}", out.stderr);
}
