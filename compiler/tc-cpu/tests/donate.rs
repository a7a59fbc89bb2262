//! Donated parameters: an output the graph's donations place in a parameter is written
//! into that input's storage when the caller hands its inputs over (`run_donated`) or
//! lends them (`run_lent`, a host's writable buffers), and the results equal `run`'s,
//! which keeps its inputs and allocates every output.

mod common;

use common::{graph, random_tensor, Rng};
use tc_ir::{Donation, Graph, Type};
use tc_kernel::target::Returned;
use tc_tensor::{Arg, DType, Tensor};

/// An Adam step of a two-layer MLP: outputs `(w1, b1, w2, b2, m.., v.., l)`, each
/// parameter donated to its update.
const ADAM: &str = "use nn;
use optim;
fn main(w1, b1, w2, b2, m1, mb1, m2, mb2, v1, vb1, v2, vb2, x, y: i32[B]) {
    let l = nn::cross_entropy(nn::relu(x @ w1 + b1) @ w2 + b2, y);
    let (g1, gb1, g2, gb2) = grad(l, (w1, b1, w2, b2));
    let (w1, m1, v1) = optim::adam(w1, g1, m1, v1, 1, 0.01);
    let (b1, mb1, vb1) = optim::adam(b1, gb1, mb1, vb1, 1, 0.01);
    let (w2, m2, v2) = optim::adam(w2, g2, m2, v2, 1, 0.01);
    let (b2, mb2, vb2) = optim::adam(b2, gb2, mb2, vb2, 1, 0.01);
    (w1, b1, w2, b2, m1, mb1, m2, mb2, v1, vb1, v2, vb2, l)
}";

fn f32t(shape: &[usize]) -> Type {
    Type::new(DType::F32, shape.to_vec())
}

fn adam() -> Graph {
    let layers = [f32t(&[12, 16]), f32t(&[16]), f32t(&[16, 10]), f32t(&[10])];
    let mut args: Vec<Type> = layers.iter().cycle().take(12).cloned().collect();
    args.extend([f32t(&[8, 12]), Type::new(DType::I32, vec![8])]);
    let mut g = graph(ADAM, &args);
    g.donations = (0..12).map(|i| Donation { param: i, output: i }).collect();
    tc_ir::verify::verify(&g).unwrap();
    g
}

/// Random inputs; floats made non-negative (Adam's second moments must be), labels
/// among the 10 classes.
fn inputs(g: &Graph, seed: u64) -> Vec<Tensor> {
    let mut rng = Rng(seed | 1);
    let fit = |t: Tensor| match (t.as_f32(), t.as_i32()) {
        (Some(v), _) => Tensor::from_f32(t.shape().to_vec(), v.iter().map(|x| x.abs()).collect()).unwrap(),
        (_, Some(v)) => Tensor::from_i32(t.shape().to_vec(), v.iter().map(|x| x.rem_euclid(10)).collect()).unwrap(),
        _ => t,
    };
    g.param_types().iter().map(|t| fit(random_tensor(&mut rng, t))).collect()
}

fn bits(ts: &[Tensor]) -> Vec<Vec<u8>> {
    ts.iter().map(|t| t.data().to_le_bytes()).collect()
}

fn address(t: &Tensor) -> usize {
    t.as_f32().map_or(0, |v| v.as_ptr() as usize)
}

#[test]
fn donated_outputs_reuse_the_inputs_storage() {
    let g = adam();
    let program = tc_cpu::compile(&g).unwrap();
    let kernels = program.kernel_program();
    assert_eq!(kernels.donated.len(), 12, "{}", program.kernels_text());
    assert_eq!(program.donated_peak_bytes(), program.peak_bytes() - kernels.donated_bytes());
    let args = inputs(&g, 3);
    let kept = program.run(&args).unwrap();
    let handed = args.clone();
    let before: Vec<usize> = handed.iter().map(address).collect();
    let donated = program.run_donated(handed).unwrap();
    assert!(bits(&donated) == bits(&kept), "results differ when the inputs are handed over");
    for i in 0..12 {
        assert_eq!(address(&donated[i]), before[i], "output {i} is not in its input's storage");
    }
    // Against the interpreter too: values of order 1, apart by Adam's sqrt and division
    // (a few ulp) and by the gradients' f32 matmul sums (the interpreter's are exact).
    let want = tc_interp::run(&g, &args).unwrap();
    for (i, (got, want)) in donated.iter().zip(&want).enumerate() {
        common::assert_close(got, want, 1e-5, 1e-5, &format!("output {i}"));
    }
}

#[test]
fn a_parameter_read_after_its_update_is_not_overwritten() {
    // `w` is read by the matmul after `w - g` is computed: no donation may hold.
    let mut g = graph("fn main(w, g) { let u = w - g; (u, u @ w) }", &[f32t(&[4, 4]), f32t(&[4, 4])]);
    g.donations = vec![Donation { param: 0, output: 0 }];
    let program = tc_cpu::compile(&g).unwrap();
    let args = inputs(&g, 5);
    let want = program.run(&args).unwrap();
    assert!(bits(&program.run_donated(args).unwrap()) == bits(&want));
    assert!(program.kernel_program().donated.is_empty(), "{}", program.kernels_text());
    assert_eq!(program.donated_peak_bytes(), program.peak_bytes());
}

#[test]
fn lent_inputs_take_their_paired_outputs_and_read_ones_are_left_alone() {
    let g = adam();
    let program = tc_cpu::compile(&g).unwrap();
    let args = inputs(&g, 7);
    let want = program.run(&args).unwrap();
    // Lend the even parameters; read the odd ones and the data.
    let mut lent = args.clone();
    let before: Vec<usize> = lent.iter().map(address).collect();
    let mut call: Vec<Arg<'_>> =
        lent.iter_mut().enumerate().map(|(i, t)| if i < 12 && i % 2 == 0 { Arg::Lent(t.view_mut()) } else { Arg::Read(t.view()) }).collect();
    let got = program.run_lent(&mut call).unwrap();
    drop(call);
    assert_eq!(got.len(), want.len());
    for (i, (got, want)) in got.into_iter().zip(&want).enumerate() {
        let value = match got {
            Returned::InLent(p) => {
                assert!(i < 12 && i % 2 == 0 && p == i, "output {i} written into lent input {p}");
                assert_eq!(address(&lent[p]), before[p]);
                lent[p].clone()
            }
            Returned::Tensor(t) => {
                assert!(!(i < 12 && i % 2 == 0), "output {i} was not written into its lent input");
                t
            }
        };
        assert!(bits(&[value]) == bits(std::slice::from_ref(want)), "output {i} differs when inputs are lent");
    }
    // The inputs that were only read still hold their values.
    for i in (1..14).step_by(2) {
        assert!(bits(&lent[i..i + 1]) == bits(&args[i..i + 1]), "read input {i} was written");
    }
}

#[test]
fn an_sgd_update_of_a_matmul_gradient_is_written_over_its_parameter() {
    // `w - 0.1 * g` with g = xᵀ @ dy: the update is the gradient matmul's epilogue; the
    // product stays in the arena and the epilogue writes the donated parameter.
    let src = "fn main(w, x, y) { let l = sum((x @ w - y) * (x @ w - y)); let g = grad(l, w); (w - 0.1 * g, l) }";
    let mut g = graph(src, &[f32t(&[16, 8]), f32t(&[32, 16]), f32t(&[32, 8])]);
    g.donations = vec![Donation { param: 0, output: 0 }];
    let program = tc_cpu::compile(&g).unwrap();
    assert_eq!(program.kernel_program().donated.len(), 1, "{}", program.kernels_text());
    let args = inputs(&g, 11);
    let want = program.run(&args).unwrap();
    let handed = args.clone();
    let before = address(&handed[0]);
    let donated = program.run_donated(handed).unwrap();
    assert_eq!(address(&donated[0]), before, "the update is not in the parameter's storage");
    assert!(bits(&donated) == bits(&want), "results differ when the parameter is donated");
    common::assert_close(&donated[0], &tc_interp::run(&g, &args).unwrap()[0], 1e-4, 1e-5, "w");
}
