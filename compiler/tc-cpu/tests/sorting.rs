//! The native `argsort`, `top_k` and `gather` kernels (`src/sort.rs`) against the
//! interpreter: every dtype the op accepts, ties, NaN and ±0, both directions, every
//! axis, rows of length 1, `k` equal to the row, long rows (the parallel sort) and many
//! rows (rows in parallel); and the read-prefix analysis that makes `top_k` partial.

mod common;

use common::{check_graph, graph, Rng};
use half::{bf16, f16};
use tc_ir::{Graph, Op, Type};
use tc_tensor::{DType, Data, Tensor};

const SORTABLE: [DType; 7] = [DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::U8];

/// `n` values of `dtype` with many ties; floats include NaN, ±0, ±inf, ints the extremes.
fn values(dtype: DType, n: usize, seed: u64) -> Tensor {
    let mut rng = Rng(seed | 1);
    let specials = [f64::NAN, 0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, 1.5, -1.5, f64::NAN];
    let f: Vec<f64> = (0..n)
        .map(|i| match rng.next() % 4 {
            0 => specials[i % specials.len()],
            1 => ((rng.next() % 5) as f64) - 2.0,
            _ => rng.uniform(-100.0, 100.0),
        })
        .collect();
    let (min, max) = match dtype {
        DType::I64 => (i64::MIN, i64::MAX),
        DType::I32 => (i32::MIN as i64, i32::MAX as i64),
        _ => (0, 255),
    };
    let i: Vec<i64> = (0..n)
        .map(|k| match rng.next() % 4 {
            0 => [min, max, 0, min + 1][k % 4],
            1 => (rng.next() % 4) as i64,
            _ => (rng.next() % 200) as i64 - if dtype == DType::U8 { 0 } else { 100 },
        })
        .collect();
    let data = match dtype {
        DType::F64 => Data::F64(f),
        DType::F32 => Data::F32(f.iter().map(|&x| x as f32).collect()),
        DType::F16 => Data::F16(f.iter().map(|&x| f16::from_f64(x)).collect()),
        DType::BF16 => Data::BF16(f.iter().map(|&x| bf16::from_f64(x)).collect()),
        d => Data::from_i64(d, &i),
    };
    Tensor::new(vec![n], data).unwrap()
}

fn argsort_graph(ty: &Type, axis: usize, descending: bool) -> Graph {
    let mut g = Graph::new("argsort");
    let x = g.param(0, ty.clone());
    let out = g.push(Op::ArgSort { axis, descending }, vec![x], Type::new(DType::I32, ty.shape.clone()));
    g.outputs.push(out);
    tc_ir::verify::verify(&g).unwrap();
    g
}

#[test]
fn argsort_every_dtype_axis_and_direction() {
    for d in SORTABLE {
        for shape in [vec![3, 37, 2], vec![1, 1, 1], vec![4, 1, 3], vec![2, 300, 1]] {
            let n: usize = shape.iter().product();
            let x = values(d, n, 7).reshaped(shape.clone()).unwrap();
            let ty = Type::new(d, shape.clone());
            for axis in 0..3 {
                for descending in [false, true] {
                    let g = argsort_graph(&ty, axis, descending);
                    check_graph(&g, std::slice::from_ref(&x), 0.0, &format!("argsort {d} {shape:?} axis {axis} descending {descending}"));
                }
            }
        }
    }
}

#[test]
fn argsort_long_rows_and_many_rows() {
    for (shape, axis) in [(vec![200_000], 0), (vec![700, 64], 1), (vec![64, 700], 0)] {
        for d in [DType::F32, DType::I64] {
            let n: usize = shape.iter().product();
            let x = values(d, n, 11).reshaped(shape.clone()).unwrap();
            for descending in [false, true] {
                let g = argsort_graph(&Type::new(d, shape.clone()), axis, descending);
                check_graph(&g, std::slice::from_ref(&x), 0.0, &format!("argsort {d} {shape:?} descending {descending}"));
            }
        }
    }
}

/// `top_k` through the front end: the slice of a descending argsort, computed partially.
#[test]
fn top_k_is_partial_and_exact() {
    for d in SORTABLE {
        for (rows, n, k) in [(3, 1000, 3), (2, 100, 50), (4, 37, 37), (5, 1, 1), (2, 64, 10), (1, 5000, 64)] {
            let ty = Type::new(d, vec![rows, n]);
            let g = graph(&format!("fn main(x) {{ top_k(x, {k}) }}"), std::slice::from_ref(&ty));
            let x = values(d, rows * n, 3 + k as u64).reshaped(vec![rows, n]).unwrap();
            check_graph(&g, std::slice::from_ref(&x), 0.0, &format!("top_k {d} [{rows}, {n}] k={k}"));
            let program = tc_cpu::compile(&g).unwrap();
            let prefixes = tc_cpu::sort::sort_prefixes(program.kernel_program());
            let sorts: Vec<usize> = program
                .kernel_program()
                .kernels
                .iter()
                .zip(&prefixes)
                .filter(|(kernel, _)| matches!(kernel, tc_kernel::Kernel::Call(c) if matches!(c.op, Op::ArgSort { .. })))
                .map(|(_, &p)| p)
                .collect();
            assert_eq!(sorts, vec![k], "top_k {d} [{rows}, {n}] k={k}: prefixes {prefixes:?}\n{}", program.kernels_text());
        }
    }
}

/// A program that reads the whole argsort, or an inner part of it, sorts all of it.
#[test]
fn other_readers_get_the_whole_sort() {
    let ty = Type::new(DType::F32, vec![3, 50]);
    let x = values(DType::F32, 150, 5).reshaped(vec![3, 50]).unwrap();
    for (src, partial) in [
        ("fn main(x) { argsort(x)[:, :7] }", Some(7)),
        ("fn main(x) { argsort(x)[:, 3:9] }", Some(9)),
        ("fn main(x) { argsort(x, descending=true)[:, ::-1] }", None),
        ("fn main(x) { let s = argsort(x); (s[:, :2], s) }", None),
        ("fn main(x) { sort(x, descending=true) }", None),
        ("fn main(x) { sort(x, axis=0) }", None),
        ("fn main(x) { argsort(x) + 1 }", None),
    ] {
        let g = graph(src, std::slice::from_ref(&ty));
        check_graph(&g, std::slice::from_ref(&x), 0.0, src);
        let program = tc_cpu::compile(&g).unwrap();
        let prefixes = tc_cpu::sort::sort_prefixes(program.kernel_program());
        let sorts: Vec<usize> = program
            .kernel_program()
            .kernels
            .iter()
            .zip(&prefixes)
            .filter_map(|(kernel, &p)| match kernel {
                tc_kernel::Kernel::Call(c) => match c.op {
                    Op::ArgSort { axis, .. } => Some(if p >= program.kernel_program().buffer(c.output).ty.shape[axis] { usize::MAX } else { p }),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        assert_eq!(sorts, vec![partial.unwrap_or(usize::MAX)], "{src}\n{}", program.kernels_text());
    }
}

#[test]
fn gather_large_with_negative_and_clamped_indices() {
    let mut rng = Rng(17);
    for d in [DType::F32, DType::F64, DType::BF16, DType::U8, DType::Bool] {
        let x = common::random_tensor(&mut rng, &Type::new(d, vec![40, 3]));
        for id in [DType::I32, DType::I64] {
            let ix: Vec<i64> = (0..50_000).map(|_| (rng.next() % 100) as i64 - 50).collect();
            let idx = Tensor::new(vec![50_000], Data::from_i64(id, &ix)).unwrap();
            let mut g = Graph::new("gather");
            let (a, b) = (g.param(0, Type::new(d, vec![40, 3])), g.param(1, Type::new(id, vec![50_000])));
            let out = g.push(Op::Gather { axis: 0 }, vec![a, b], Type::new(d, vec![50_000, 3]));
            g.outputs.push(out);
            check_graph(&g, &[x.clone(), idx], 0.0, &format!("gather {d} by {id}"));
        }
    }
}
