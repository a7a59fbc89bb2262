//! Values of the elaborator: what an expression evaluates to while a function is
//! specialised. A tensor value is a graph node plus what is known about it at compile
//! time (its type, whether it is a weakly typed literal, its constant value).

use tc_ir::{NodeId, Type};
use tc_syntax::diag::Loc;
use tc_tensor::DType;

/// A scalar known at compile time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Konst {
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Konst {
    pub fn as_f64(self) -> f64 {
        match self {
            Konst::Int(i) => i as f64,
            Konst::Float(f) => f,
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
