//! Values of the elaborator: what an expression evaluates to while a function is
//! specialised. A tensor value is a graph node plus what is known about it at compile
//! time (its type, whether it is a weakly typed literal, its constant value).

use tc_ir::{NodeId, Type};
use tc_syntax::ast::FloatLit;
use tc_syntax::diag::Loc;
use tc_tensor::rounding::i64_to_f64_round_odd;
use tc_tensor::{DType, Data};

/// A scalar known at compile time. A weak literal's is its exact value (a float keeps
/// what rounding it once into any dtype needs); a strong value's is what its node holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Konst {
    Int(i64),
    Float(FloatLit),
    Bool(bool),
}

impl Konst {
    pub fn as_f64(self) -> f64 {
        match self {
            Konst::Int(i) => i as f64,
            Konst::Float(f) => f.nearest,
            Konst::Bool(b) => b as u8 as f64,
        }
    }

    /// The dtype a weak literal of this kind takes when nothing else decides it.
    pub fn default_dtype(self) -> DType {
        match self {
            Konst::Int(_) => DType::I32,
            Konst::Float(_) => DType::F32,
            Konst::Bool(_) => DType::Bool,
        }
    }

    /// The f64 from which `Data::from_f64(dtype, ..)` makes this value in `dtype` with a
    /// single correct rounding: for f32, f16 and bf16 the value rounded to odd.
    fn f64_for(self, dtype: DType) -> f64 {
        let narrow = dtype.is_float() && dtype != DType::F64;
        match self {
            Konst::Float(f) if narrow => f.to_odd,
            Konst::Int(i) if narrow => i64_to_f64_round_odd(i),
            other => other.as_f64(),
        }
    }

    /// Whether this value is one of `dtype`'s: an integer in its range, a float that does
    /// not round to infinity, a float in range of an integer dtype once truncated (`as`).
    /// Infinities and NaN (`inf`, `nan`) are exact in every float dtype and in no integer
    /// one.
    pub fn fits(self, dtype: DType) -> bool {
        match (self, dtype.int_range()) {
            (Konst::Int(i), Some(range)) => range.contains(&i),
            (Konst::Float(f), Some(range)) => {
                let t = f.nearest.trunc();
                // `end + 1` is a power of two, exact in f64 (i64's end rounds up to it).
                t >= *range.start() as f64 && t < *range.end() as f64 + 1.0
            }
            (_, Some(_)) => true,
            (Konst::Float(f), None) if !f.nearest.is_finite() => dtype.is_float(),
            (k, None) if dtype.is_float() => konst_data(&[k], dtype).to_f64_vec()[0].is_finite(),
            (_, None) => true,
        }
    }
}

/// Storage of `dtype` holding `values`, each converted once as the IR's `cast` converts:
/// to floats rounded to nearest even, floats to integers toward zero and saturating,
/// integers to narrower integers wrapping.
pub(crate) fn konst_data(values: &[Konst], dtype: DType) -> Data {
    if let Some(range) = dtype.int_range() {
        let ints: Vec<i64> = values
            .iter()
            .map(|k| match *k {
                Konst::Int(i) => i,
                Konst::Float(f) => (f.nearest as i64).clamp(*range.start(), *range.end()),
                Konst::Bool(b) => b as i64,
            })
            .collect();
        Data::from_i64(dtype, &ints)
    } else {
        Data::from_f64(dtype, &values.iter().map(|k| k.f64_for(dtype)).collect::<Vec<_>>())
    }
}

impl std::fmt::Display for Konst {
    /// As written in source: `300`, `1e39`, `true`, `-inf`, `nan`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Konst::Int(i) => write!(f, "{i}"),
            Konst::Float(x) if x.nearest.is_nan() => write!(f, "nan"),
            Konst::Float(x) => write!(f, "{:?}", x.nearest),
            Konst::Bool(b) => write!(f, "{b}"),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct TVal {
    pub node: NodeId,
    pub ty: Type,
    /// A weakly typed literal takes the dtype of the other operand (SPEC §4).
    pub weak: bool,
    /// The value, when it is a scalar known at compile time.
    pub konst: Option<Konst>,
    /// Where an annotated parameter declared this value, for hints in shape errors.
    pub origin: Option<Origin>,
}

/// An annotated parameter: its declaration and a description such as
/// "`b` was declared f32[H] with H = 4".
#[derive(Clone, Debug)]
pub(crate) struct Origin {
    pub loc: Loc,
    pub text: String,
}

#[derive(Clone, Debug)]
pub(crate) enum Value {
    Tensor(TVal),
    Tuple(Vec<Value>),
    /// A dtype name used as a value (`dtype=f16`).
    DType(DType),
    /// The result of an expression that already produced a diagnostic; operations on
    /// it produce no further errors.
    Error,
}

impl Value {
    /// Human description for "expected a tensor, found ..." messages.
    pub fn describe(&self, names: &dyn Fn(&Type) -> String) -> String {
        match self {
            Value::Tensor(t) => names(&t.ty),
            Value::Tuple(vs) => {
                let parts: Vec<String> = vs.iter().map(|v| v.describe(names)).collect();
                if parts.len() == 1 {
                    format!("({},)", parts[0])
                } else {
                    format!("({})", parts.join(", "))
                }
            }
            Value::DType(d) => format!("the dtype `{d}`"),
            Value::Error => "an erroneous value".to_string(),
        }
    }

    /// Every tensor leaf, depth-first.
    pub fn leaves(&self, out: &mut Vec<TVal>) {
        match self {
            Value::Tensor(t) => out.push(t.clone()),
            Value::Tuple(vs) => vs.iter().for_each(|v| v.leaves(out)),
            Value::DType(_) | Value::Error => {}
        }
    }

    pub fn is_error(&self) -> bool {
        match self {
            Value::Error => true,
            Value::Tuple(vs) => vs.iter().any(Value::is_error),
            _ => false,
        }
    }
}
