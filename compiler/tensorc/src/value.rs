//! Argument and result values: a tensor or a (nested) tuple of them.

use tc_check::{ArgValue, OutTree};
use tc_ir::Type;
use tc_tensor::{format_tensor, DType, Tensor};

/// A value passed to or returned from a tensorc function.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Tensor(Tensor),
    Tuple(Vec<Value>),
}

impl From<Tensor> for Value {
    fn from(tensor: Tensor) -> Value {
        Value::Tensor(tensor)
    }
}

impl Value {
    /// The type the checker specialises for.
    pub fn arg_type(&self) -> ArgValue {
        match self {
            Value::Tensor(t) => ArgValue::Tensor(Type::new(t.dtype(), t.shape().to_vec())),
            Value::Tuple(elems) => ArgValue::Tuple(elems.iter().map(Value::arg_type).collect()),
        }
    }

    /// The tensors, depth-first (the order of graph parameters and outputs).
    pub fn leaves(&self) -> Vec<&Tensor> {
        match self {
            Value::Tensor(t) => vec![t],
            Value::Tuple(elems) => elems.iter().flat_map(Value::leaves).collect(),
        }
    }

    pub fn into_leaves(self) -> Vec<Tensor> {
        match self {
            Value::Tensor(t) => vec![t],
            Value::Tuple(elems) => elems.into_iter().flat_map(Value::into_leaves).collect(),
        }
    }

    /// The type as written in source: `f32[2, 3]` or `(f32[2], i32)`.
    pub fn type_string(&self) -> String {
        arg_type_string(&self.arg_type())
    }

    /// The type, then the elements NumPy-style; tuple elements one per line, each
    /// after its path (`.0`, `.1.0`).
    pub fn display(&self) -> String {
        match self {
            Value::Tensor(t) => format!("{}\n{}", t.type_string(), format_tensor(t)),
            Value::Tuple(_) => {
                let mut out = self.type_string();
                self.write_leaves("", &mut out);
                out
            }
        }
    }

    fn write_leaves(&self, path: &str, out: &mut String) {
        match self {
            Value::Tensor(t) => {
                out.push_str(&format!("\n{path} = {}", format_tensor(t)));
            }
            Value::Tuple(elems) => {
                for (i, elem) in elems.iter().enumerate() {
                    elem.write_leaves(&format!("{path}.{i}"), out);
                }
            }
        }
    }

    /// Rebuild a result from the graph's flat outputs; `None` if the count differs.
    pub(crate) fn from_outputs(tree: &OutTree, outputs: Vec<Tensor>) -> Option<Value> {
        let mut iter = outputs.into_iter();
        let value = build(tree, &mut iter)?;
        iter.next().is_none().then_some(value)
    }
}

fn build(tree: &OutTree, outputs: &mut impl Iterator<Item = Tensor>) -> Option<Value> {
    match tree {
        OutTree::Tensor => outputs.next().map(Value::Tensor),
        OutTree::Tuple(elems) => elems.iter().map(|e| build(e, outputs)).collect::<Option<Vec<_>>>().map(Value::Tuple),
    }
}

/// `f32[2, 3]`, or `(f32[2], (i32, f32))` for tuples (a 1-tuple is `(f32,)`).
pub fn arg_type_string(arg: &ArgValue) -> String {
    match arg {
        ArgValue::Tensor(ty) => ty.to_string(),
        ArgValue::WeakScalar(dtype) => dtype.to_string(),
        ArgValue::Tuple(elems) => tuple_string(elems.iter().map(arg_type_string).collect()),
    }
}

/// A tensor type as written: `f32`, `f32[]`, `f32[2,3]`, `f32[2, 3]` (concrete sizes only).
pub fn parse_type(text: &str) -> Option<Type> {
    let (dtype, dims) = match text.split_once('[') {
        Some((dtype, rest)) => (dtype, Some(rest.strip_suffix(']')?)),
        None => (text, None),
    };
    let dtype = DType::from_name(dtype.trim())?;
    let shape = match dims.map(str::trim) {
        None | Some("") => Vec::new(),
        Some(dims) => dims.split(',').map(|d| d.trim().parse::<usize>().ok()).collect::<Option<Vec<_>>>()?,
    };
    Some(Type::new(dtype, shape))
}

/// The type of a result: its tree filled with the graph's output types in order.
pub fn out_type_string(tree: &OutTree, types: &[Type]) -> String {
    fn go(tree: &OutTree, types: &mut std::slice::Iter<'_, Type>) -> String {
        match tree {
            OutTree::Tensor => types.next().map_or_else(|| "?".to_string(), Type::to_string),
            OutTree::Tuple(elems) => tuple_string(elems.iter().map(|e| go(e, types)).collect()),
        }
    }
    go(tree, &mut types.iter())
}

fn tuple_string(elems: Vec<String>) -> String {
    if elems.len() == 1 {
        format!("({},)", elems[0])
    } else {
        format!("({})", elems.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        assert_eq!(parse_type("f32[2,3]"), Some(Type::new(DType::F32, vec![2, 3])));
        assert_eq!(parse_type("i32[ 4 ]"), Some(Type::new(DType::I32, vec![4])));
        assert_eq!(parse_type("f16"), Some(Type::scalar(DType::F16)));
        assert_eq!(parse_type("bool[]"), Some(Type::scalar(DType::Bool)));
        assert_eq!(parse_type("f32[N]"), None);
        assert_eq!(parse_type("x.bin"), None);
    }
}
