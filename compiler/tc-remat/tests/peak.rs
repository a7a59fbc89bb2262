//! `peak_bytes` equals what the interpreter measures, on random DAGs and training graphs,
//! with and without donated parameters.

mod common;

use common::{inputs, pure_chain, random_dag, random_training, random_update, with_random_donations};
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

#[test]
fn peak_bytes_matches_the_interpreter_with_donations() {
    let mut graphs = Vec::new();
    for seed in 0..30 {
        graphs.push(random_update(seed, 2 + seed as usize % 8, seed % 2 == 1));
        graphs.push(with_random_donations(random_dag(seed, 4 + seed as usize % 12), seed));
        graphs.push(with_random_donations(random_training(seed, 2 + seed as usize % 8), seed));
    }
    let (mut donated, mut declined) = (0, 0);
    for g in &graphs {
        tc_ir::verify::verify(g).expect("generated graphs verify");
        let (_, stats) = tc_interp::run_with_stats(g, &inputs(g, 1)).expect("runs");
        assert_eq!(peak_bytes(g), stats.peak_bytes, "{}", tc_ir::text::print(g));
        let fired = tc_ir::donate::donated_nodes(g).iter().filter(|&&d| d).count();
        donated += fired;
        declined += g.donations.len() - fired;
        // Without the donations the outputs cost their bytes again.
        let mut plain = g.clone();
        plain.donations.clear();
        assert!(peak_bytes(&plain) >= peak_bytes(g));
    }
    // Both cases of the rule occur.
    assert!(donated > 50 && declined > 5, "{donated} donations held, {declined} did not");
}
