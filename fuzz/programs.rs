//! Random tensorc programs for differential testing: a byte string drives a generator
//! that writes a program of `let`s over a few inputs, each step an operation chosen
//! so that the program is (almost always) well typed. The program is compiled, run on
//! the reference interpreter and on the CPU JIT, and the results must agree.
//!
//! Shared by the fuzz target `differential` (coverage-guided bytes) and the
//! workspace test `compiler/tensorc/tests/differential.rs` (seeded bytes), so that CI
//! runs the same generator the fuzzer does.

use tc_ir::Type;
use tc_tensor::{DType, Data, Tensor};

/// How closely backends must agree on a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Accuracy {
    /// Ill-conditioned (a division by an approximate value, a remainder of one): a
    /// few ulp in an operand may change it arbitrarily, so only crashes are checked.
    Unchecked,
    /// Within a tolerance (transcendentals, sums in another order, matmul).
    Close,
    /// Computed by correctly rounded operations only: bit for bit.
    Exact,
}

/// A generated program, its inputs, and how closely each result must agree.
pub struct Generated {
    pub source: String,
    /// One per parameter of `main`, in order.
    pub inputs: Vec<Tensor>,
    /// For each result, how closely every backend must give it.
    pub accuracy: Vec<Accuracy>,
}

/// Reads choices from the fuzzer's bytes; zeros once they run out.
struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n.max(1)
    }

    fn done(&self) -> bool {
        self.at >= self.data.len()
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    F32,
    I32,
    Bool,
}

/// A variable of the program so far.
#[derive(Clone, Debug)]
struct Var {
    name: String,
    kind: Kind,
    shape: Vec<usize>,
    accuracy: Accuracy,
}

const UNARY_EXACT: &[&str] = &["-({})", "abs({})", "sqrt(abs({}))", "floor({})", "ceil({})", "round({})", "sign({})", "nn::relu({})"];
const UNARY_INEXACT: &[&str] = &["exp(tanh({}))", "log(abs({}) + 1.0)", "sin({})", "cos({})", "tanh({})", "sigmoid({})", "erf({})", "nn::gelu({})", "nn::silu({})", "rsqrt(abs({}) + 0.5)"];
const BINARY: &[&str] = &["+", "-", "*", "/", "maximum", "minimum", "%"];
const REDUCE: &[&str] = &["sum", "mean", "max", "min", "prod"];
const COMPARE: &[&str] = &["<", "<=", ">", ">=", "==", "!="];
const INT_BINARY: &[&str] = &["+", "-", "*", "%", "maximum", "minimum"];

/// Whether `a` and `b` broadcast (NumPy rules), and the result's shape.
fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

fn shape_text(shape: &[usize]) -> String {
    match shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", shape[0]),
        _ => format!("({})", shape.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    }
}

struct Gen<'a> {
    bytes: Bytes<'a>,
    vars: Vec<Var>,
    lines: Vec<String>,
}

impl Gen<'_> {
    fn pick(&mut self, kind: Kind) -> Option<Var> {
        let candidates: Vec<&Var> = self.vars.iter().filter(|v| v.kind == kind).collect();
        if candidates.is_empty() {
            return None;
        }
        // Prefer recent variables, so that programs grow deep as well as wide.
        let i = candidates.len() - 1 - self.bytes.below(candidates.len().min(4));
        Some(candidates[i].clone())
    }

    fn literal(&mut self) -> String {
        const LITS: &[&str] = &["0.0", "1.0", "-1.0", "0.5", "2.0", "-0.0", "3.0", "0.1", "1e-3", "100.0"];
        LITS[self.bytes.below(LITS.len())].to_string()
    }

    fn push(&mut self, kind: Kind, shape: Vec<usize>, accuracy: Accuracy, expr: String) {
        let name = format!("v{}", self.vars.len());
        self.lines.push(format!("    let {name} = {expr};"));
        self.vars.push(Var { name, kind, shape, accuracy });
    }

    /// One `let`; returns false when the chosen operation had no operands to take.
    fn step(&mut self) -> bool {
        let op = self.bytes.below(16);
        let Some(a) = self.pick(Kind::F32) else { return false };
        match op {
            0 => {
                let f = UNARY_EXACT[self.bytes.below(UNARY_EXACT.len())];
                self.push(Kind::F32, a.shape.clone(), a.accuracy, f.replace("{}", &a.name));
            }
            1 => {
                let f = UNARY_INEXACT[self.bytes.below(UNARY_INEXACT.len())];
                self.push(Kind::F32, a.shape.clone(), a.accuracy.min(Accuracy::Close), f.replace("{}", &a.name));
            }
            2 | 3 => {
                let op = BINARY[self.bytes.below(BINARY.len())];
                let partner = self.pick(Kind::F32).filter(|b| broadcast(&a.shape, &b.shape).is_some() && self.bytes.below(3) != 0);
                let (b, b_shape, b_accuracy) = match partner {
                    Some(b) => (b.name.clone(), b.shape.clone(), b.accuracy),
                    None => (self.literal(), vec![], Accuracy::Exact),
                };
                let shape = broadcast(&a.shape, &b_shape).expect("checked");
                // `%` takes the divisor's sign (Python's rule): the correction `r + b`
                // rounds, so the f32 and the f64-then-rounded results may differ; and
                // it jumps by b where an approximate operand crosses a multiple of b.
                let both = a.accuracy.min(b_accuracy);
                let accuracy = match op {
                    "%" if both == Accuracy::Exact => Accuracy::Close,
                    "%" => Accuracy::Unchecked,
                    "/" if b_accuracy != Accuracy::Exact => Accuracy::Unchecked,
                    _ => both,
                };
                let expr = match op {
                    "maximum" | "minimum" => format!("{op}({}, {b})", a.name),
                    _ => format!("{} {op} {b}", a.name),
                };
                self.push(Kind::F32, shape, accuracy, expr);
            }
            4 if !a.shape.is_empty() => {
                let f = REDUCE[self.bytes.below(REDUCE.len())];
                let axis = self.bytes.below(a.shape.len());
                let keep = self.bytes.below(2) == 1;
                let mut shape = a.shape.clone();
                if keep {
                    shape[axis] = 1;
                } else {
                    shape.remove(axis);
                }
                // max/min are exact whatever the order; sums and products are not.
                let accuracy = if f == "max" || f == "min" { a.accuracy } else { a.accuracy.min(Accuracy::Close) };
                self.push(Kind::F32, shape, accuracy, format!("{f}({}, axis={axis}, keepdims={keep})", a.name));
            }
            5 if !a.shape.is_empty() && a.accuracy == Accuracy::Exact => {
                let f = if self.bytes.below(2) == 0 { "argmax" } else { "argmin" };
                let axis = self.bytes.below(a.shape.len());
                let mut shape = a.shape.clone();
                shape.remove(axis);
                self.push(Kind::I32, shape, Accuracy::Exact, format!("{f}({}, axis={axis})", a.name));
            }
            6 if a.accuracy == Accuracy::Exact => {
                let c = COMPARE[self.bytes.below(COMPARE.len())];
                let lit = self.literal();
                self.push(Kind::Bool, a.shape.clone(), Accuracy::Exact, format!("{} {c} {lit}", a.name));
            }
            7 => {
                let Some(cond) = self.pick(Kind::Bool) else { return false };
                let Some(shape) = broadcast(&cond.shape, &a.shape) else { return false };
                let lit = self.literal();
                self.push(Kind::F32, shape, a.accuracy, format!("where({}, {}, {lit})", cond.name, a.name));
            }
            8 if a.accuracy == Accuracy::Exact => {
                // Casts of values beyond i32 saturate; keep them in range here so that the
                // program does not depend on it (casts.tc covers saturation).
                self.push(Kind::I32, a.shape.clone(), Accuracy::Exact, format!("clip_i32({})", a.name));
            }
            9 => {
                let Some(i) = self.pick(Kind::I32) else { return false };
                match self.bytes.below(3) {
                    0 => self.push(Kind::F32, i.shape.clone(), Accuracy::Exact, format!("{} as f32", i.name)),
                    1 => {
                        let op = INT_BINARY[self.bytes.below(INT_BINARY.len())];
                        let k = self.bytes.below(7) as i64 - 3;
                        let expr = match op {
                            "maximum" | "minimum" => format!("{op}({}, {k})", i.name),
                            _ => format!("{} {op} ({k})", i.name),
                        };
                        self.push(Kind::I32, i.shape.clone(), Accuracy::Exact, expr);
                    }
                    _ if !a.shape.is_empty() => {
                        // A gather with run-time indices, clamped into range (SPEC §4).
                        let axis = self.bytes.below(a.shape.len());
                        let mut shape = a.shape[..axis].to_vec();
                        shape.extend(&i.shape);
                        shape.extend(&a.shape[axis + 1..]);
                        if shape.iter().product::<usize>() > 4096 {
                            return false;
                        }
                        self.push(Kind::F32, shape, a.accuracy, format!("take({}, {}, axis={axis})", a.name, i.name));
                    }
                    _ => return false,
                }
            }
            10 if a.shape.len() >= 2 => {
                let mut perm: Vec<usize> = (0..a.shape.len()).collect();
                let (x, y) = (self.bytes.below(perm.len()), self.bytes.below(perm.len()));
                perm.swap(x, y);
                let shape = perm.iter().map(|&p| a.shape[p]).collect();
                let text = perm.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
                self.push(Kind::F32, shape, a.accuracy, format!("transpose({}, ({text}))", a.name));
            }
            11 => {
                let n: usize = a.shape.iter().product();
                let shape = match self.bytes.below(3) {
                    0 => vec![n],
                    1 => vec![1, n],
                    _ => {
                        let mut s = a.shape.clone();
                        s.insert(self.bytes.below(s.len() + 1), 1);
                        s
                    }
                };
                self.push(Kind::F32, shape.clone(), a.accuracy, format!("reshape({}, {})", a.name, shape_text(&shape)));
            }
            12 if !a.shape.is_empty() => {
                let axis = self.bytes.below(a.shape.len());
                let d = a.shape[axis];
                let lo = self.bytes.below(d + 1);
                let hi = lo + self.bytes.below(d - lo + 1);
                let mut shape = a.shape.clone();
                shape[axis] = hi - lo;
                let idx: Vec<String> = (0..a.shape.len()).map(|k| if k == axis { format!("{lo}:{hi}") } else { ":".into() }).collect();
                self.push(Kind::F32, shape, a.accuracy, format!("{}[{}]", a.name, idx.join(", ")));
            }
            13 if !a.shape.is_empty() => {
                let Some(b) = self.pick(Kind::F32) else { return false };
                if b.shape.is_empty() || a.shape.last() != b.shape.first() || a.shape.len() > 3 || b.shape.len() > 2 {
                    // Not a matrix product; concatenate with itself instead.
                    let axis = self.bytes.below(a.shape.len());
                    let mut shape = a.shape.clone();
                    shape[axis] *= 2;
                    self.push(Kind::F32, shape, a.accuracy, format!("concat(({}, {}), {axis})", a.name, a.name));
                    return true;
                }
                let mut shape = a.shape[..a.shape.len() - 1].to_vec();
                if b.shape.len() == 2 {
                    shape.push(b.shape[1]);
                }
                self.push(Kind::F32, shape, a.accuracy.min(b.accuracy).min(Accuracy::Close), format!("{} @ {}", a.name, b.name));
            }
            14 if !a.shape.is_empty() => {
                let f = ["nn::softmax", "nn::log_softmax", "nn::logsumexp"][self.bytes.below(3)];
                let mut shape = a.shape.clone();
                if f == "nn::logsumexp" {
                    shape.pop();
                }
                self.push(Kind::F32, shape, a.accuracy.min(Accuracy::Close), format!("{f}({}, axis=-1)", a.name));
            }
            15 => {
                let Some(i) = self.pick(Kind::I32) else { return false };
                if i.shape.iter().product::<usize>() > 256 {
                    return false;
                }
                let mut shape = i.shape.clone();
                shape.push(4);
                self.push(Kind::F32, shape, Accuracy::Exact, format!("one_hot({}, 4)", i.name));
            }
            _ => {
                let ax = self.bytes.below(a.shape.len() + 1);
                let mut shape = a.shape.clone();
                shape.insert(ax, 1);
                self.push(Kind::F32, shape, a.accuracy, format!("expand_dims({}, {ax})", a.name));
            }
        }
        true
    }
}

/// A deterministic input of this type, from `seed`: floats are multiples of 1/8 in
/// [-4, 4) with some exact zeros and ties, integers in [-2, 6).
fn input(ty: &Type, seed: u64) -> Tensor {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let n = ty.num_elements();
    let data = match ty.dtype {
        DType::I32 => Data::I32((0..n).map(|_| (next() % 8) as i32 - 2).collect()),
        _ => Data::F32((0..n).map(|_| ((next() % 64) as f32 - 32.0) / 8.0).collect()),
    };
    Tensor::new(ty.shape.clone(), data).expect("sizes match")
}

/// The program that `data` describes.
pub fn generate(data: &[u8]) -> Generated {
    let mut bytes = Bytes { data, at: 0 };
    let shapes: [&[usize]; 4] = [&[3, 4], &[4], &[2, 3, 4], &[1]];
    let x_shape = shapes[bytes.below(4)].to_vec();
    let y_shape = shapes[bytes.below(4)].to_vec();
    let k_shape = if bytes.below(2) == 0 { vec![3] } else { vec![2, 2] };
    let params = [("x", Kind::F32, x_shape), ("y", Kind::F32, y_shape), ("k", Kind::I32, k_shape)];
    let mut gen = Gen { bytes, vars: Vec::new(), lines: Vec::new() };
    for (name, kind, shape) in &params {
        gen.vars.push(Var { name: name.to_string(), kind: *kind, shape: shape.clone(), accuracy: Accuracy::Exact });
    }
    let mut steps = 0;
    while !gen.bytes.done() && steps < 24 {
        gen.step();
        steps += 1;
    }
    let results: Vec<Var> = gen.vars.iter().rev().take(3).cloned().collect();
    let mut source = String::from("use nn;\n\n");
    source.push_str("/// Float to i32, truncating, within i32's range.\nfn clip_i32(v) { minimum(maximum(v, -1000.0), 1000.0) as i32 }\n\n");
    let sig: Vec<String> = params
        .iter()
        .map(|(name, kind, shape)| {
            let dtype = if *kind == Kind::I32 { "i32" } else { "f32" };
            format!("{name}: {dtype}[{}]", shape.iter().map(usize::to_string).collect::<Vec<_>>().join(", "))
        })
        .collect();
    source.push_str(&format!("fn main({}) {{\n", sig.join(", ")));
    for line in &gen.lines {
        source.push_str(line);
        source.push('\n');
    }
    let names: Vec<&str> = results.iter().map(|v| v.name.as_str()).collect();
    source.push_str(&format!("    ({},)\n}}\n", names.join(", ")));
    let seed = data.iter().fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(b as u64));
    let inputs = params
        .iter()
        .enumerate()
        .map(|(i, (_, kind, shape))| {
            let dtype = if *kind == Kind::I32 { DType::I32 } else { DType::F32 };
            input(&Type::new(dtype, shape.clone()), seed.wrapping_add(i as u64))
        })
        .collect();
    Generated { source, inputs, accuracy: results.iter().map(|v| v.accuracy).collect() }
}

/// Why two backends' results differ, or `None` when they agree: types always, exact
/// results bit for bit (NaNs alike), close ones within a tolerance scaled by the
/// result's size.
pub fn disagreement(want: &Tensor, got: &Tensor, accuracy: Accuracy) -> Option<String> {
    if want.shape() != got.shape() || want.dtype() != got.dtype() {
        return Some(format!("type {} against {}", want.type_string(), got.type_string()));
    }
    let (w, g) = (want.data().to_f64_vec(), got.data().to_f64_vec());
    let scale = w.iter().filter(|v| v.is_finite()).fold(1.0f64, |m, v| m.max(v.abs()));
    if accuracy == Accuracy::Unchecked || (accuracy == Accuracy::Close && scale > 1e30) {
        // Near f32's overflow an approximation may round to infinity where the
        // oracle does not: nothing to compare.
        return None;
    }
    for (i, (&a, &b)) in w.iter().zip(&g).enumerate() {
        let same = if accuracy == Accuracy::Exact {
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
        } else {
            (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-3 * scale
        };
        if !same {
            return Some(format!("element {i}: want {a:?}, got {b:?} ({accuracy:?})"));
        }
    }
    None
}
