//! Property test of the whole pipeline: random well-typed elementwise and reduction
//! programs, written as tensorc source, compiled (parse, check, lower, simplify) and run
//! through a `Session` on every backend, give the same numbers as a direct evaluation
//! of the same expression in f64 here.

use proptest::prelude::*;
use tensorc::{Backend, Session, Tensor};

/// A 2-D value whose shape is [rows, cols] with rows in {1, 3} and cols in {1, 4}.
#[derive(Clone, Debug)]
enum E {
    X,
    Y,
    Lit(f64),
    Unary(&'static str, Box<E>),
    Binary(&'static str, Box<E>, Box<E>),
    Reduce(&'static str, usize, Box<E>),
}

const UNARY: &[&str] = &["neg", "abs", "tanh", "sin", "sigmoid", "exp_tanh", "sqrt_abs", "log1p_abs"];
const BINARY: &[&str] = &["+", "-", "*", "maximum", "minimum", "div"];
const REDUCE: &[&str] = &["sum", "max", "min", "mean"];

fn expr() -> impl Strategy<Value = E> {
    let leaf = prop_oneof![Just(E::X), Just(E::Y), (-2.0f64..2.0).prop_map(|v| E::Lit((v * 4.0).round() / 4.0))];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (prop::sample::select(UNARY), inner.clone()).prop_map(|(op, e)| E::Unary(op, Box::new(e))),
            (prop::sample::select(BINARY), inner.clone(), inner.clone()).prop_map(|(op, a, b)| E::Binary(op, Box::new(a), Box::new(b))),
            (prop::sample::select(REDUCE), 0usize..2, inner).prop_map(|(op, axis, e)| E::Reduce(op, axis, Box::new(e))),
        ]
    })
}

fn source(e: &E) -> String {
    match e {
        E::X => "x".into(),
        E::Y => "reshape(y, (1, 4))".into(),
        E::Lit(v) => format!("full((1, 1), {v:?})"),
        E::Unary(op, a) => {
            let a = source(a);
            match *op {
                "exp_tanh" => format!("exp(tanh({a}))"),
                "sqrt_abs" => format!("sqrt(abs({a}))"),
                "log1p_abs" => format!("log(abs({a}) + 1.0)"),
                "neg" => format!("-({a})"),
                op => format!("{op}({a})"),
            }
        }
        E::Binary(op, a, b) => {
            let (a, b) = (source(a), source(b));
            match *op {
                "maximum" | "minimum" => format!("{op}({a}, {b})"),
                "div" => format!("(({a}) / (abs({b}) + 1.0))"),
                op => format!("(({a}) {op} ({b}))"),
            }
        }
        E::Reduce(op, axis, a) => format!("{op}({}, axis = {axis}, keepdims = true)", source(a)),
    }
}

/// A dense [rows, cols] array of f64.
#[derive(Clone, Debug)]
struct Arr {
    rows: usize,
    cols: usize,
    v: Vec<f64>,
}

impl Arr {
    fn at(&self, r: usize, c: usize) -> f64 {
        self.v[(r % self.rows) * self.cols + (c % self.cols)]
    }

    fn map(&self, f: impl Fn(f64) -> f64) -> Arr {
        Arr { rows: self.rows, cols: self.cols, v: self.v.iter().map(|&x| f(x)).collect() }
    }

    fn zip(a: &Arr, b: &Arr, f: impl Fn(f64, f64) -> f64) -> Arr {
        let (rows, cols) = (a.rows.max(b.rows), a.cols.max(b.cols));
        let v = (0..rows * cols).map(|i| f(a.at(i / cols, i % cols), b.at(i / cols, i % cols))).collect();
        Arr { rows, cols, v }
    }
}

fn eval(e: &E, x: &Arr, y: &Arr) -> Arr {
    match e {
        E::X => x.clone(),
        E::Y => y.clone(),
        E::Lit(v) => Arr { rows: 1, cols: 1, v: vec![*v] },
        E::Unary(op, a) => {
            let a = eval(a, x, y);
            a.map(match *op {
                "neg" => |v: f64| -v,
                "abs" => f64::abs,
                "tanh" => f64::tanh,
                "sin" => f64::sin,
                "sigmoid" => |v: f64| 1.0 / (1.0 + (-v).exp()),
                "exp_tanh" => |v: f64| v.tanh().exp(),
                "sqrt_abs" => |v: f64| v.abs().sqrt(),
                _ => |v: f64| (v.abs() + 1.0).ln(),
            })
        }
        E::Binary(op, a, b) => {
            let (a, b) = (eval(a, x, y), eval(b, x, y));
            Arr::zip(&a, &b, match *op {
                "+" => |p: f64, q: f64| p + q,
                "-" => |p, q| p - q,
                "*" => |p, q| p * q,
                "maximum" => f64::max,
                "minimum" => f64::min,
                _ => |p: f64, q: f64| p / (q.abs() + 1.0),
            })
        }
        E::Reduce(op, axis, a) => {
            let a = eval(a, x, y);
            let (rows, cols) = if *axis == 0 { (1, a.cols) } else { (a.rows, 1) };
            let len = if *axis == 0 { a.rows } else { a.cols };
            let v = (0..rows * cols)
                .map(|i| {
                    let items = (0..len).map(|k| if *axis == 0 { a.at(k, i % cols) } else { a.at(i / cols, k) });
                    match *op {
                        "sum" => items.sum(),
                        "max" => items.fold(f64::NEG_INFINITY, f64::max),
                        "min" => items.fold(f64::INFINITY, f64::min),
                        _ => items.sum::<f64>() / len as f64,
                    }
                })
                .collect();
            Arr { rows, cols, v }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_programs_match_direct_evaluation(e in expr(), xs in prop::collection::vec(-2.0f32..2.0, 12), ys in prop::collection::vec(-2.0f32..2.0, 4)) {
        let src = format!("fn main(x: f32[3, 4], y: f32[4]) {{ {} }}", source(&e));
        let xa = Arr { rows: 3, cols: 4, v: xs.iter().map(|&v| v as f64).collect() };
        let ya = Arr { rows: 1, cols: 4, v: ys.iter().map(|&v| v as f64).collect() };
        let want = eval(&e, &xa, &ya);
        for backend in [Backend::Interp, Backend::Cpu, Backend::Wgpu] {
            let session = Session::new(backend).unwrap();
            let module = session.compile_source("random.tc", src.clone()).unwrap_or_else(|err| panic!("{src}: {err:?}"));
            let x = Tensor::from_slice(vec![3, 4], &xs).unwrap();
            let y = Tensor::from_slice(vec![4], &ys).unwrap();
            let out = module.call("main", &[x, y]).unwrap_or_else(|err| panic!("{src} on {backend}: {err:?}"));
            let got = out[0].data().to_f64_vec();
            prop_assert_eq!(out[0].shape(), &[want.rows, want.cols][..], "{} on {}", src, backend);
            for (g, w) in got.iter().zip(&want.v) {
                prop_assert!((g - w).abs() <= 1e-3 * (1.0 + w.abs()), "{} on {}: got {} want {}", src, backend, g, w);
            }
        }
    }
}
