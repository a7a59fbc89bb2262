//! Inputs at the edges, compiled by the CPU backend and compared with the interpreter:
//! zero-size tensors through every kind of kernel (a loop over an empty domain must not
//! load anything, and a reduction over an empty axis is its identity), and NaN in every
//! position of rows long enough for the vector loops and their tails.

mod common;

use common::{check_graph, check_random, graph};
use tc_ir::Type;
use tc_tensor::{DType, Tensor};

fn ty(dtype: DType, shape: &[usize]) -> Type {
    Type::new(dtype, shape.to_vec())
}

fn f32t(shape: &[usize]) -> Type {
    ty(DType::F32, shape)
}

#[test]
fn zero_size_vectors() {
    let programs = [
        "fn main(x) { expand_dims(x, 0) }",
        "fn main(x) { reshape(x, (0, 5)) }",
        "fn main(x) { (stack((x,), 0), stack((x, x), 1), concat((x, x), 0)) }",
        "fn main(x) { exp(x) * 2.0 + 1.0 }",
        "fn main(x) { (sum(x), prod(x), max(x), min(x), mean(x)) }",
        "fn main(x) { x @ x }",
        "fn main(x) { concat((x, ones((3,)), x), 0) }",
        "use nn;\nfn main(x) { (nn::softmax(x), nn::relu(x)) }",
    ];
    for src in programs {
        check_random(&graph(src, &[f32t(&[0])]), 1, 0.0, src);
    }
}

#[test]
fn zero_size_batches() {
    let x = f32t(&[0, 3, 4]);
    let programs = [
        "fn main(x, w) { (reshape(x, (0, 12)), transpose(x, (2, 1, 0)), x[:, 1]) }",
        "fn main(x, w) { (sum(x, axis=0), max(x, axis=0), min(x, axis=(0, 2)), mean(x, axis=0), prod(x, axis=0)) }",
        "fn main(x, w) { (sum(x, axis=2), sum(x, axis=2, keepdims=true) * x) }",
        "fn main(x, w) { (x @ w, grad(sum(x @ w), w)) }",
        "use nn;\nfn main(x, w) { (nn::softmax(x), nn::layernorm(x, w[:, 0], w[:, 1]), nn::logsumexp(x)) }",
    ];
    for src in programs {
        check_random(&graph(src, &[x.clone(), f32t(&[4, 2])]), 2, 0.0, src);
    }
}

#[test]
fn zero_size_products_convolutions_and_gathers() {
    let cases: [(&str, Vec<Type>); 6] = [
        ("fn main(a, b) { (a @ b, grad(sum(a @ b), a)) }", vec![f32t(&[2, 0]), f32t(&[0, 3])]),
        ("fn main(a, b) { a @ b }", vec![f32t(&[2, 3, 0]), f32t(&[2, 0, 4])]),
        ("fn main(x, k) { (conv2d(x, k), max_pool2d(x, 2), avg_pool2d(x, 2), grad(sum(conv2d(x, k, padding=1)), k)) }", vec![f32t(&[0, 1, 4, 4]), f32t(&[2, 1, 3, 3])]),
        ("fn main(x, k) { conv2d(x, k) }", vec![f32t(&[1, 0, 4, 4]), f32t(&[2, 0, 3, 3])]),
        ("fn main(m, i) { (take(m, i), grad(sum(take(m, i)), m), one_hot(i, 4), take(m[:0], i, axis=1)) }", vec![f32t(&[3, 4]), ty(DType::I32, &[0])]),
        ("fn main(i, u) { (sum(i), prod(i), max(i), min(i), max(u, axis=1), min(u, axis=1), i % 3) }", vec![ty(DType::I32, &[0]), ty(DType::U8, &[2, 0])]),
    ];
    for (src, types) in cases {
        check_random(&graph(src, &types), 3, 0.0, src);
    }
}

#[test]
fn nan_anywhere_in_a_row_propagates() {
    let n = 37;
    let src = "use nn;\nfn main(r) { (max(r, axis=1), min(r, axis=1), max(r, axis=0), nn::relu(r), maximum(r, 0.5), minimum(0.5, r), nn::softmax(r)) }";
    let g = graph(src, &[f32t(&[n, n])]);
    // Row k has its NaN at column k; the last row has none.
    let values: Vec<f32> = (0..n * n).map(|i| if i / n == i % n && i / n + 1 < n { f32::NAN } else { (i % 11) as f32 - 5.0 }).collect();
    let r = Tensor::from_f32(vec![n, n], values).expect("n * n values");
    check_graph(&g, &[r], 0.0, src);
}
