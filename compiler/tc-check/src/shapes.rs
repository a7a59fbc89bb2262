//! Shape rules: NumPy broadcasting and the unification of signature dimensions
//! (`f32[B, N, ..R]`) with concrete shapes.

use std::collections::HashMap;

use tc_syntax::ast;

/// Shape variables bound so far in one function specialisation.
#[derive(Clone, Debug, Default)]
pub(crate) struct DimEnv {
    pub dims: HashMap<String, usize>,
    pub rests: HashMap<String, Vec<usize>>,
}

impl DimEnv {
    /// Match annotated dims against a concrete shape, binding variables. `Err` says why
    /// they differ, naming variables by what they were bound to.
    pub fn unify(&mut self, dims: &[ast::Dim], shape: &[usize]) -> Result<(), String> {
        let rest_at = dims.iter().position(|d| matches!(d, ast::Dim::Rest(_)));
        let fixed = dims.len() - usize::from(rest_at.is_some());
        let rank_ok = if rest_at.is_some() { shape.len() >= fixed } else { shape.len() == fixed };
        if !rank_ok {
            let want = if rest_at.is_some() { format!("at least {fixed}") } else { fixed.to_string() };
            return Err(format!("rank {} where {want} is expected", shape.len()));
        }
        let mut pairs: Vec<(&ast::Dim, &[usize])> = Vec::new();
        match rest_at {
            None => pairs.extend(dims.iter().zip(shape.chunks(1))),
            Some(r) => {
                let tail = dims.len() - r - 1;
                let rest_len = shape.len() - fixed;
                pairs.extend(dims[..r].iter().zip(shape[..r].chunks(1)));
                pairs.push((&dims[r], &shape[r..r + rest_len]));
                pairs.extend(dims[r + 1..].iter().zip(shape[shape.len() - tail..].chunks(1)));
            }
        }
        for (dim, got) in pairs {
            match dim {
                ast::Dim::Int(n, _) => {
                    if got[0] as u64 != *n {
                        return Err(format!("dimension {} where {n} is expected", got[0]));
                    }
                }
                ast::Dim::Var(id) => match self.dims.get(&id.name) {
                    Some(&bound) if bound != got[0] => {
                        return Err(format!("`{}` is {bound} elsewhere but {} here", id.name, got[0]));
                    }
                    Some(_) => {}
                    None => {
                        self.dims.insert(id.name.clone(), got[0]);
                    }
                },
                ast::Dim::Rest(id) => match self.rests.get(&id.name) {
                    Some(bound) if bound.as_slice() != got => {
                        let b: Vec<String> = bound.iter().map(|d| d.to_string()).collect();
                        let g: Vec<String> = got.iter().map(|d| d.to_string()).collect();
                        return Err(format!("`..{}` is [{}] elsewhere but [{}] here", id.name, b.join(", "), g.join(", ")));
                    }
                    Some(_) => {}
                    None => {
                        self.rests.insert(id.name.clone(), got.to_vec());
                    }
                },
            }
        }
        Ok(())
    }
}

/// The most elements one tensor may have (2^40); larger shapes are compile errors, so
/// no size computation downstream can overflow.
pub(crate) const MAX_ELEMENTS: u128 = 1 << 40;

/// Whether a shape's element count stays within [`MAX_ELEMENTS`].
pub(crate) fn size_ok(shape: &[usize]) -> bool {
    shape.iter().try_fold(1u128, |acc, &d| acc.checked_mul(d as u128)).is_some_and(|n| n <= MAX_ELEMENTS)
}

/// NumPy broadcasting of two shapes, or `None` when they are incompatible.
pub(crate) fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let x = if i < a.len() { a[a.len() - 1 - i] } else { 1 };
        let y = if i < b.len() { b[b.len() - 1 - i] } else { 1 };
        out[rank - 1 - i] = match (x, y) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// An annotation as written: `f32[B, 784]`, `(f32[N], i32)`.
pub(crate) fn type_text(t: &ast::Type) -> String {
    match t {
        ast::Type::Tensor { dtype, dims: None, .. } => dtype.name.clone(),
        ast::Type::Tensor { dtype, dims: Some(dims), .. } => {
            let ds: Vec<String> = dims
                .iter()
                .map(|d| match d {
                    ast::Dim::Int(n, _) => n.to_string(),
                    ast::Dim::Var(id) => id.name.clone(),
                    ast::Dim::Rest(id) => format!("..{}", id.name),
                })
                .collect();
            format!("{}[{}]", dtype.name, ds.join(", "))
        }
        ast::Type::Tuple { elems, .. } => {
            let parts: Vec<String> = elems.iter().map(type_text).collect();
            if parts.len() == 1 {
                format!("({},)", parts[0])
            } else {
                format!("({})", parts.join(", "))
            }
        }
    }
}

/// The shape variables named in an annotation, in order.
pub(crate) fn dim_vars(t: &ast::Type) -> Vec<String> {
    match t {
        ast::Type::Tensor { dims, .. } => dims
            .iter()
            .flatten()
            .filter_map(|d| match d {
                ast::Dim::Var(id) => Some(id.name.clone()),
                _ => None,
            })
            .collect(),
        ast::Type::Tuple { elems, .. } => elems.iter().flat_map(dim_vars).collect(),
    }
}
