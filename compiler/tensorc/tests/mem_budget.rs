//! `--mem-budget` through the embedding API: a training step of an MLP, rematerialised
//! to fit a budget, gives bit-identical outputs with a measured peak within the budget
//! on every backend; a budget below the feasible minimum is an error stating it.

use tensorc::{Backend, Error, Session, Tensor, Value};

const STEP: &str = "
use nn;
fn loss(w1, b1, w2, b2, w3, b3, x, y) {
    let h = nn::gelu(x @ w1 + b1);
    let h = nn::gelu(h @ w2 + b2);
    nn::cross_entropy(h @ w3 + b3, y)
}
fn main(w1, b1, w2, b2, w3, b3, x, y) {
    let l = loss(w1, b1, w2, b2, w3, b3, x, y);
    let (g1, gb1, g2, gb2, g3, gb3) = grad(l, (w1, b1, w2, b2, w3, b3));
    (w1 - 0.1 * g1, b1 - 0.1 * gb1, w2 - 0.1 * g2, b2 - 0.1 * gb2, w3 - 0.1 * g3, b3 - 0.1 * gb3, l)
}
";

fn f32s(shape: &[usize], seed: u32) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|i| (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 1000.0 - 0.5) * 0.2).collect();
    Tensor::from_slice(shape.to_vec(), &v).unwrap()
}

fn inputs() -> Vec<Tensor> {
    // A wide batch and narrow layers: activations outweigh parameters, as in real training.
    let y: Vec<i32> = (0..512).map(|i| i % 10).collect();
    let layers = [f32s(&[16, 64], 1), f32s(&[64], 2), f32s(&[64, 64], 3), f32s(&[64], 4), f32s(&[64, 10], 5), f32s(&[10], 6)];
    layers.into_iter().chain([f32s(&[512, 16], 7), Tensor::from_slice(vec![512], &y).unwrap()]).collect()
}

/// Outputs and measured peak of `main` under an optional budget.
fn run(backend: Backend, budget: Option<u64>) -> Result<(Vec<Tensor>, usize), Error> {
    let module = Session::new(backend)?.with_mem_budget(budget).compile_source("step.tc", STEP)?;
    let args: Vec<Option<tensorc::ArgValue>> = inputs().iter().map(|t| Some(Value::Tensor(t.clone()).arg_type())).collect();
    let compiled = module.compile("main", &args)?;
    module.run_measured(&compiled, &inputs())
}

#[test]
fn budgeted_step_is_identical_and_within_budget() {
    for backend in [Backend::Interp, Backend::Cpu, Backend::Wgpu] {
        let (want, peak) = run(backend, None).unwrap();
        // The tightest of these budgets that the planner can meet (each is below the
        // unconstrained peak, so something must be recomputed).
        let fits: Vec<(u64, Vec<Tensor>, usize)> = [60, 75, 90]
            .into_iter()
            .map(|percent| peak as u64 * percent / 100)
            .filter_map(|budget| run(backend, Some(budget)).ok().map(|(got, measured)| (budget, got, measured)))
            .collect();
        let (budget, got, measured) = fits.into_iter().next().unwrap_or_else(|| panic!("{backend}: no budget below the peak {peak} fits"));
        assert_eq!(got, want, "{backend}: outputs differ under the budget");
        assert!(measured as u64 <= budget, "{backend}: peak {measured} above budget {budget} (unconstrained {peak})");
    }
}

#[test]
fn infeasible_budget_states_the_minimum() {
    // Above the largest tensor (an f32[512, 64] activation, 131,072 bytes), below what
    // the tensors live together need.
    let budget = 140_000;
    match run(Backend::Interp, Some(budget)) {
        Err(Error::Usage(message)) => assert!(message.contains("smallest feasible peak"), "{message}"),
        other => panic!("expected a usage error, got {:?}", other.map(|(_, p)| p)),
    }
    match run(Backend::Cpu, Some(budget)) {
        Err(Error::Usage(message)) => assert!(message.contains("smallest peak"), "{message}"),
        other => panic!("expected a usage error, got {:?}", other.map(|(_, p)| p)),
    }
}

#[test]
fn a_tensor_larger_than_the_budget_is_a_compile_error() {
    for backend in [Backend::Interp, Backend::Cpu] {
        match run(backend, Some(100_000)) {
            Err(Error::Compile(d)) => assert_eq!(d.diagnostics[0].code, "E0307", "{backend}: {:?}", d.diagnostics),
            other => panic!("{backend}: expected E0307, got {:?}", other.map(|(_, p)| p)),
        }
    }
}
