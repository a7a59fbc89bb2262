//! MLIR text building blocks: element and tensor types, exact literals, affine maps,
//! and [`Ssa`], which hands out value names and collects the lines of a function or
//! of a region nested in it.

use crate::MlirError;
use tc_kernel::{Scalar, View};
use tc_tensor::DType;

/// The MLIR element type of a dtype (u8 is a signless `i8` read with unsigned ops,
/// bool is `i1`).
pub fn elem(d: DType) -> &'static str {
    match d {
        DType::F64 => "f64",
        DType::F32 => "f32",
        DType::F16 => "f16",
        DType::BF16 => "bf16",
        DType::I64 => "i64",
        DType::I32 => "i32",
        DType::U8 => "i8",
        DType::Bool => "i1",
    }
}

/// `tensor<2x3xf32>` (`tensor<f32>` for rank 0).
pub fn tensor_ty(shape: &[usize], e: &str) -> String {
    let mut s = String::from("tensor<");
    for d in shape {
        s.push_str(&format!("{d}x"));
    }
    s.push_str(e);
    s.push('>');
    s
}

/// The 1-D tensor type holding `n` elements.
pub fn flat_ty(n: usize, e: &str) -> String {
    tensor_ty(&[n], e)
}

/// A float constant of element type `e`, spelled by its bit pattern so that every
/// value (NaN payloads, infinities, subnormals) round-trips exactly.
pub fn float_lit(x: f64, d: DType) -> String {
    match d {
        DType::F64 => format!("0x{:016X}", x.to_bits()),
        DType::F32 => format!("0x{:08X}", (x as f32).to_bits()),
        DType::F16 => format!("0x{:04X}", half::f16::from_f64(x).to_bits()),
        DType::BF16 => format!("0x{:04X}", half::bf16::from_f64(x).to_bits()),
        _ => unreachable!("float literal of {d}"),
    }
}

/// The attribute text of scalar `s` as a value of dtype `d`.
pub fn scalar_lit(s: Scalar, d: DType) -> Result<String, MlirError> {
    Ok(match (s, d) {
        (Scalar::F(x), d) if d.is_float() => float_lit(x, d),
        (Scalar::I(x), DType::U8) => (x as u8 as i8).to_string(),
        (Scalar::I(x), DType::I32) => (x as i32).to_string(),
        (Scalar::I(x), DType::I64) => x.to_string(),
        (Scalar::B(b), DType::Bool) => b.to_string(),
        (s, d) => return Err(MlirError::Unsupported(format!("the constant {s:?} as a {d} value"))),
    })
}

/// `(d0, d1, d2)`: the dimension list of a rank-`n` loop domain.
pub fn dims(n: usize) -> String {
    format!("({})", (0..n).map(|d| format!("d{d}")).collect::<Vec<_>>().join(", "))
}

/// The affine expression `offset + Σ strides[d] · d` over a domain.
pub fn affine_expr(offset: isize, strides: &[isize]) -> String {
    let mut terms: Vec<String> = Vec::new();
    for (d, &s) in strides.iter().enumerate() {
        match s {
            0 => {}
            1 => terms.push(format!("d{d}")),
            s => terms.push(format!("d{d} * {s}")),
        }
    }
    if offset != 0 || terms.is_empty() {
        terms.push(offset.to_string());
    }
    terms.join(" + ")
}

/// `affine_map<(d0, d1) -> (results...)>`.
pub fn affine_map(rank: usize, results: &[String]) -> String {
    format!("affine_map<{} -> ({})>", dims(rank), results.join(", "))
}

/// The map projecting a rank-`rank` domain onto the listed dimensions.
pub fn projection(rank: usize, onto: &[usize]) -> String {
    affine_map(rank, &onto.iter().map(|d| format!("d{d}")).collect::<Vec<_>>())
}

/// The element range `[min, max]` a view touches over a non-empty domain.
pub fn view_range(view: &View, domain: &[usize]) -> (isize, isize) {
    let (mut lo, mut hi) = (view.offset, view.offset);
    for (&s, &n) in view.strides.iter().zip(domain) {
        let span = s * (n as isize - 1);
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    (lo, hi)
}

/// Names SSA values and collects lines. Every name in a function comes from one
/// counter, so names never collide across nested regions.
#[derive(Default)]
pub struct Ssa {
    next: usize,
}

impl Ssa {
    pub fn fresh(&mut self) -> String {
        self.next += 1;
        format!("%v{}", self.next)
    }
}

/// Lines at one indentation, with fresh names from a shared [`Ssa`].
pub struct Block<'a> {
    pub ssa: &'a mut Ssa,
    pub out: &'a mut String,
    pub indent: String,
}

impl<'a> Block<'a> {
    pub fn new(ssa: &'a mut Ssa, out: &'a mut String, depth: usize) -> Block<'a> {
        Block { ssa, out, indent: "  ".repeat(depth) }
    }

    /// Emit `%vN = {rhs}` and return `%vN`.
    pub fn op(&mut self, rhs: impl AsRef<str>) -> String {
        let v = self.ssa.fresh();
        self.out.push_str(&format!("{}{v} = {}\n", self.indent, rhs.as_ref()));
        v
    }

    /// Emit a line with no result.
    pub fn stmt(&mut self, text: impl AsRef<str>) {
        self.out.push_str(&format!("{}{}\n", self.indent, text.as_ref()));
    }

    /// Emit pre-indented text (a nested op's lines).
    pub fn raw(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// `arith.constant` of a scalar in dtype `d`.
    pub fn constant(&mut self, s: Scalar, d: DType) -> Result<String, MlirError> {
        let lit = scalar_lit(s, d)?;
        Ok(self.typed_constant(&lit, d))
    }

    /// `arith.constant LIT : T` (a bool literal carries its type itself).
    fn typed_constant(&mut self, lit: &str, d: DType) -> String {
        if d == DType::Bool {
            self.op(format!("arith.constant {lit}"))
        } else {
            self.op(format!("arith.constant {lit} : {}", elem(d)))
        }
    }

    pub fn float(&mut self, x: f64, d: DType) -> String {
        self.op(format!("arith.constant {} : {}", float_lit(x, d), elem(d)))
    }

    pub fn int(&mut self, x: i64, d: DType) -> String {
        let lit = match d {
            DType::Bool => (x != 0).to_string(),
            DType::U8 => (x as u8 as i8).to_string(),
            DType::I32 => (x as i32).to_string(),
            _ => x.to_string(),
        };
        self.typed_constant(&lit, d)
    }

    pub fn index(&mut self, x: i64) -> String {
        self.op(format!("arith.constant {x} : index"))
    }
}
