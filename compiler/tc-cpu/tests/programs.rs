//! Whole programs from the standard library compiled by the CPU backend, compared with
//! the interpreter: the neural-network building blocks at several shapes (odd sizes
//! exercise vector tails), forward and backward.

mod common;

use common::{check_random, graph};
use tc_ir::Type;
use tc_tensor::DType;

fn f32t(shape: &[usize]) -> Type {
    Type::new(DType::F32, shape.to_vec())
}

#[test]
fn activations() {
    for n in [1, 7, 64, 1001] {
        for f in ["gelu", "relu", "silu"] {
            let g = graph(&format!("use nn;\nfn main(x) {{ nn::{f}(x) }}"), &[f32t(&[n])]);
            check_random(&g, n as u64, 1e-6, f);
        }
    }
}

#[test]
fn softmax_layernorm_logsumexp() {
    for shape in [[1, 1], [3, 5], [4, 33], [17, 64]] {
        let g = graph("use nn;\nfn main(x) { nn::softmax(x) }", &[f32t(&shape)]);
        check_random(&g, 1, 1e-7, "softmax");
        let g = graph("use nn;\nfn main(x) { nn::softmax(x, axis=0) }", &[f32t(&shape)]);
        check_random(&g, 2, 1e-7, "softmax axis 0");
        let g = graph("use nn;\nfn main(x, g, b) { nn::layernorm(x, g, b) }", &[f32t(&shape), f32t(&shape[1..]), f32t(&shape[1..])]);
        check_random(&g, 3, 1e-5, "layernorm");
        let g = graph("use nn;\nfn main(x) { nn::logsumexp(x) }", &[f32t(&shape)]);
        check_random(&g, 4, 1e-6, "logsumexp");
    }
}

#[test]
fn mlp_forward_and_loss_gradient() {
    let src = "use nn;
fn predict(x, w1, b1, w2, b2) { nn::relu(x @ w1 + b1) @ w2 + b2 }
fn main(x, w1, b1, w2, b2, y: i32[B]) {
    let l = nn::cross_entropy(predict(x, w1, b1, w2, b2), y);
    let (g1, gb1, g2, gb2) = grad(l, (w1, b1, w2, b2));
    (l, g1, gb1, g2, gb2)
}";
    let args = [f32t(&[8, 12]), f32t(&[12, 16]), f32t(&[16]), f32t(&[16, 10]), f32t(&[10]), Type::new(DType::I32, vec![8])];
    let g = graph(src, &args);
    check_random(&g, 5, 1e-5, "mlp step");
}


#[test]
fn program_api() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<tc_cpu::CpuProgram>();
    let g = graph("use nn;\nfn main(x, w, b) { nn::relu(x @ w + b) }", &[f32t(&[4, 3]), f32t(&[3, 5]), f32t(&[5])]);
    let p = tc_cpu::compile(&g).unwrap();
    assert_eq!(p.kernels_text(), tc_kernel::print(p.kernel_program()));
    assert!(p.clif_text().contains("function"), "{}", p.clif_text());
    // The product is biased and activated in place in the output: 4 x 5 f32.
    assert_eq!(p.peak_bytes(), 80);
    // A program runs again, and from several threads at once, with the same results.
    check_random(&g, 9, 1e-6, "first run");
    let inputs: Vec<_> = g.param_types().iter().map(|t| common::random_tensor(&mut common::Rng(3), t)).collect();
    let first = p.run(&inputs).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| assert_eq!(p.run(&inputs).unwrap(), first));
        }
    });
}
