//! `peak_bytes` equals what the interpreter measures, on random DAGs and training graphs.

mod common;

use common::{inputs, pure_chain, random_dag, random_training};
use tc_remat::peak_bytes;

#[test]
fn peak_bytes_matches_the_interpreter() {
    let mut graphs = Vec::new();
    for seed in 0..40 {
        graphs.push(random_dag(seed, 4 + (seed as usize % 12)));
        graphs.push(random_training(seed, 2 + (seed as usize % 8)));
    }
    for seed in 0..10 {
        graphs.push(pure_chain(seed, 2 + seed as usize));
    }
    for g in &graphs {
        tc_ir::verify::verify(g).expect("generated graphs verify");
        let (_, stats) = tc_interp::run_with_stats(g, &inputs(g, 1)).expect("runs");
        assert_eq!(peak_bytes(g), stats.peak_bytes, "{}", tc_ir::text::print(g));
    }
}
