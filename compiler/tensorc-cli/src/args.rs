//! `NAME=VALUE` arguments (SPEC §7): `NAME=PATH.npy`, `NAME=PATH.safetensors`,
//! `NAME=NUMBER` (a scalar) and, for `emit`, `NAME=f32[2,3]` (a type without data).
//!
//! A scalar takes the dtype of its parameter's annotation when that is a scalar type;
//! otherwise `3` is `i32`, `0.5` and `1e-3` are `f32`, `true` is `bool`, and for an
//! unannotated parameter the number is typed like a literal: it takes the other operand's
//! dtype (`x * s` with `x: f64` and `s=0.5` is f64, with `x: f32` and `s=2` is f32). A safetensors
//! file for a tuple parameter `p` is matched by tensor names `p.0`, `p.1`, `p.1.0`, ...,
//! falling back to file order; for a tensor parameter it must hold exactly one tensor,
//! or one named `p`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tensorc::{ArgValue, DType, Data, Error, Module, ParamInfo, Tensor, Type, Value};

/// One parsed `NAME=VALUE`.
pub struct CliArg {
    pub name: String,
    source: Source,
}

enum Source {
    Npy(PathBuf),
    Safetensors(PathBuf),
    Number(String),
    Type(Type),
}

/// Parse `NAME=VALUE`; a usage error if it is not one.
pub fn parse(text: &str) -> Result<CliArg, Error> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(Error::Usage(format!("expected an argument NAME=VALUE, got `{text}`")));
    };
    let name = name.trim();
    let is_ident = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !is_ident {
        return Err(Error::Usage(format!("`{name}` in `{text}` is not a parameter name")));
    }
    let value = value.trim();
    let source = if value.ends_with(".npy") {
        Source::Npy(PathBuf::from(value))
    } else if value.ends_with(".safetensors") {
        Source::Safetensors(PathBuf::from(value))
    } else if value.parse::<f64>().is_ok() || value == "true" || value == "false" {
        Source::Number(value.to_string())
    } else if let Some(ty) = tensorc::parse_type(value) {
        Source::Type(ty)
    } else {
        return Err(Error::Usage(format!(
            "argument `{name}`: `{value}` is not a .npy or .safetensors file, a number, or a type like f32[2, 3]"
        )));
    };
    Ok(CliArg { name: name.to_string(), source })
}

/// Parse every argument and bind them to `entry`'s parameters by name (usage errors
/// first, before any file is read); `None` where a default applies.
pub fn bind(module: &Module, entry: &str, texts: &[String]) -> Result<Vec<(ParamInfo, Option<CliArg>)>, Error> {
    let info = module.function(entry)?;
    let parsed = texts.iter().map(|t| parse(t)).collect::<Result<Vec<_>, _>>()?;
    let bound = module.bind(entry, parsed.into_iter().map(|a| (a.name.clone(), a)).collect())?;
    Ok(info.params.into_iter().zip(bound).collect())
}

/// The values of bound arguments (reading files).
pub fn values(bound: &[(ParamInfo, Option<CliArg>)]) -> Result<Vec<Option<Value>>, Error> {
    bound.iter().map(|(param, arg)| arg.as_ref().map(|a| a.value(param)).transpose()).collect()
}

/// The types of bound arguments (reading files where the type comes from one).
pub fn types(bound: &[(ParamInfo, Option<CliArg>)]) -> Result<Vec<Option<ArgValue>>, Error> {
    bound.iter().map(|(param, arg)| arg.as_ref().map(|a| a.arg_type(param)).transpose()).collect()
}

/// The types of bound arguments whose `values` are already read.
pub fn types_of(bound: &[(ParamInfo, Option<CliArg>)], values: &[Option<Value>]) -> Vec<Option<ArgValue>> {
    bound
        .iter()
        .zip(values)
        .map(|((param, arg), value)| match (arg, value) {
            (Some(arg), Some(value)) => Some(arg.type_of(param, value)),
            (_, value) => value.as_ref().map(Value::arg_type),
        })
        .collect()
}

/// The flat inputs (the tensors of the given arguments, depth-first, in parameter
/// order) of the parameters named in `names` (`--donate`); a usage error for a name that
/// is not a parameter given an argument here.
pub fn leaf_indices(bound: &[(ParamInfo, Option<CliArg>)], types: &[Option<ArgValue>], names: &[String]) -> Result<Vec<usize>, Error> {
    fn leaves(ty: &ArgValue) -> usize {
        match ty {
            ArgValue::Tensor(_) | ArgValue::WeakScalar(_) => 1,
            ArgValue::Tuple(elems) => elems.iter().map(leaves).sum(),
        }
    }
    let mut indices = Vec::new();
    for name in names {
        let mut start = 0;
        let mut found = false;
        for ((param, _), ty) in bound.iter().zip(types) {
            let count = ty.as_ref().map_or(0, leaves);
            if param.name == *name && ty.is_some() {
                indices.extend(start..start + count);
                found = true;
            }
            start += count;
        }
        if !found {
            return Err(Error::Usage(format!("--donate {name}: no argument `{name}` is given")));
        }
    }
    Ok(indices)
}

impl CliArg {
    /// The value for `param`; reading a file that fails is an argument error.
    pub fn value(&self, param: &ParamInfo) -> Result<Value, Error> {
        let named = |e: Error| match e {
            Error::Argument { .. } => e,
            other => Error::Argument { param: self.name.clone(), message: other.to_string() },
        };
        match &self.source {
            Source::Npy(path) => tensorc::load_npy(path).map(Value::Tensor).map_err(named),
            Source::Safetensors(path) => {
                let tensors = tensorc::load_safetensors(path).map_err(named)?;
                safetensors_value(&self.name, tensors, param)
                    .map_err(|message| Error::Argument { param: self.name.clone(), message })
            }
            Source::Number(text) => scalar(&self.name, text, param).map(Value::Tensor),
            Source::Type(ty) => Err(Error::Usage(format!(
                "argument `{}`: a type without data ({ty}) is only accepted by `emit`",
                self.name
            ))),
        }
    }

    /// The type for `param`, without data where the argument is a type.
    pub fn arg_type(&self, param: &ParamInfo) -> Result<ArgValue, Error> {
        match &self.source {
            Source::Type(ty) => Ok(ArgValue::Tensor(ty.clone())),
            _ => self.value(param).map(|v| self.type_of(param, &v)),
        }
    }

    /// The type for `param` of this argument's `value`: a number for an unannotated
    /// parameter is a weak scalar (module docs).
    fn type_of(&self, param: &ParamInfo, value: &Value) -> ArgValue {
        match (&self.source, value, &param.annotation) {
            (Source::Number(_), Value::Tensor(t), None) => ArgValue::WeakScalar(t.dtype()),
            _ => value.arg_type(),
        }
    }
}

/// The dtype of a scalar annotation (`f16`, `i32[]`), if that is what `param` has.
fn scalar_annotation(param: &ParamInfo) -> Option<DType> {
    let annotation = param.annotation.as_deref()?.trim();
    let annotation = annotation.strip_suffix("[]").unwrap_or(annotation);
    DType::from_name(annotation.trim())
}

fn scalar(name: &str, text: &str, param: &ParamInfo) -> Result<Tensor, Error> {
    let integer = text.parse::<i64>().ok();
    let boolean = match text {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    let dtype = scalar_annotation(param).unwrap_or(if boolean.is_some() {
        DType::Bool
    } else if integer.is_some() {
        DType::I32
    } else {
        DType::F32
    });
    let mismatch = || Error::Argument { param: name.to_string(), message: format!("expected {dtype}, got `{text}`") };
    let data = match dtype {
        DType::Bool => Data::Bool(vec![boolean.ok_or_else(mismatch)?]),
        d if d.is_float() => Data::from_f64(d, &[text.parse::<f64>().map_err(|_| mismatch())?]),
        d => {
            let v = integer.ok_or_else(mismatch)?;
            if d.int_range().is_some_and(|r| !r.contains(&v)) {
                return Err(Error::Argument { param: name.to_string(), message: format!("{text} is out of range for {d}") });
            }
            Data::from_i64(d, &[v])
        }
    };
    Tensor::new(Vec::new(), data).map_err(|e| Error::Runtime(e.to_string()))
}

/// The value of parameter `name` from a safetensors file's tensors (module docs).
fn safetensors_value(name: &str, mut tensors: Vec<(String, Tensor)>, param: &ParamInfo) -> Result<Value, String> {
    // Some(true): annotated as a tuple; Some(false): annotated as a tensor.
    let tuple_param = param.annotation.as_deref().map(|a| a.trim_start().starts_with('('));
    if tuple_param != Some(true) {
        if let Some(i) = tensors.iter().position(|(n, _)| n == name) {
            return Ok(Value::Tensor(tensors.swap_remove(i).1));
        }
    }
    let prefix = format!("{name}.");
    let indexed: Vec<(Vec<usize>, &Tensor)> = tensors
        .iter()
        .filter_map(|(n, t)| {
            let path = n.strip_prefix(&prefix)?.split('.').map(|i| i.parse().ok()).collect::<Option<Vec<usize>>>()?;
            Some((path, t))
        })
        .collect();
    if !indexed.is_empty() && tuple_param != Some(false) {
        let mut root = BTreeMap::new();
        for (path, tensor) in indexed {
            insert(&mut root, name, &path, tensor)?;
        }
        return tree_value(name, root);
    }
    match (tuple_param, tensors.len()) {
        (_, 0) => Err("the safetensors file holds no tensors".to_string()),
        (Some(false) | None, 1) => Ok(Value::Tensor(tensors.swap_remove(0).1)),
        (Some(false), n) => Err(format!("the safetensors file holds {n} tensors; expected one, or one named `{name}`")),
        (Some(true) | None, _) => Ok(Value::Tuple(tensors.into_iter().map(|(_, t)| Value::Tensor(t)).collect())),
    }
}

enum Tree {
    Leaf(Tensor),
    Node(BTreeMap<usize, Tree>),
}

fn insert(node: &mut BTreeMap<usize, Tree>, prefix: &str, path: &[usize], tensor: &Tensor) -> Result<(), String> {
    let Some((&first, rest)) = path.split_first() else {
        return Ok(());
    };
    let here = format!("{prefix}.{first}");
    if rest.is_empty() {
        if node.insert(first, Tree::Leaf(tensor.clone())).is_some() {
            return Err(format!("`{here}` is both a tensor and a tuple"));
        }
        return Ok(());
    }
    match node.entry(first).or_insert_with(|| Tree::Node(BTreeMap::new())) {
        Tree::Node(child) => insert(child, &here, rest, tensor),
        Tree::Leaf(_) => Err(format!("`{here}` is both a tensor and a tuple")),
    }
}

fn tree_value(prefix: &str, node: BTreeMap<usize, Tree>) -> Result<Value, String> {
    let mut elems = Vec::new();
    for (i, (index, child)) in node.into_iter().enumerate() {
        if index != i {
            return Err(format!("the safetensors file has no tensor `{prefix}.{i}`"));
        }
        elems.push(match child {
            Tree::Leaf(t) => Value::Tensor(t),
            Tree::Node(grandchildren) => tree_value(&format!("{prefix}.{i}"), grandchildren)?,
        });
    }
    Ok(Value::Tuple(elems))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(annotation: Option<&str>) -> ParamInfo {
        ParamInfo { name: "p".to_string(), annotation: annotation.map(str::to_string), tensor: None, has_default: false }
    }

    fn t(v: f32) -> Tensor {
        Tensor::scalar_f32(v)
    }

    #[test]
    fn scalars_take_the_annotated_dtype() {
        let s = scalar("s", "3", &param(None)).unwrap();
        assert_eq!(s.dtype(), DType::I32);
        let s = scalar("s", "0.5", &param(None)).unwrap();
        assert_eq!(s.dtype(), DType::F32);
        let s = scalar("s", "3", &param(Some("f16"))).unwrap();
        assert_eq!(s.dtype(), DType::F16);
        let s = scalar("s", "1e-3", &param(Some("f64[]"))).unwrap();
        assert_eq!(s.dtype(), DType::F64);
        assert!(matches!(scalar("n", "0.5", &param(Some("i32"))), Err(Error::Argument { .. })));
        assert!(matches!(scalar("n", "300", &param(Some("u8"))), Err(Error::Argument { .. })));
    }

    #[test]
    fn argument_syntax() {
        assert!(matches!(parse("x=a.npy").unwrap().source, Source::Npy(_)));
        assert!(matches!(parse("x=-1.5").unwrap().source, Source::Number(_)));
        assert!(matches!(parse("x=f32[2, 3]").unwrap().source, Source::Type(_)));
        assert!(matches!(parse("x"), Err(Error::Usage(_))));
        assert!(matches!(parse("1x=3"), Err(Error::Usage(_))));
        assert!(matches!(parse("x=data.bin"), Err(Error::Usage(_))));
    }

    #[test]
    fn safetensors_tuples_by_name_then_file_order() {
        let named = vec![("p.1.0".to_string(), t(2.0)), ("p.0".to_string(), t(1.0)), ("p.1.1".to_string(), t(3.0))];
        let v = safetensors_value("p", named, &param(None)).unwrap();
        let want = Value::Tuple(vec![
            Value::Tensor(t(1.0)),
            Value::Tuple(vec![Value::Tensor(t(2.0)), Value::Tensor(t(3.0))]),
        ]);
        assert_eq!(v, want);
        let unnamed = vec![("w".to_string(), t(1.0)), ("b".to_string(), t(2.0))];
        let v = safetensors_value("p", unnamed.clone(), &param(Some("(f32, f32)"))).unwrap();
        assert_eq!(v, Value::Tuple(vec![Value::Tensor(t(1.0)), Value::Tensor(t(2.0))]));
        assert!(safetensors_value("p", unnamed, &param(Some("f32"))).is_err());
        let gap = vec![("p.0".to_string(), t(1.0)), ("p.2".to_string(), t(2.0))];
        assert!(safetensors_value("p", gap, &param(None)).unwrap_err().contains("`p.1`"));
    }

    #[test]
    fn safetensors_plain_tensor() {
        let one = vec![("weights".to_string(), t(1.0))];
        assert_eq!(safetensors_value("p", one, &param(None)).unwrap(), Value::Tensor(t(1.0)));
        let by_name = vec![("q".to_string(), t(1.0)), ("p".to_string(), t(2.0))];
        assert_eq!(safetensors_value("p", by_name, &param(Some("f32"))).unwrap(), Value::Tensor(t(2.0)));
    }
}
