//! `sort`, `argsort` and `top_k`: one primitive, `Op::ArgSort` (a stable sort of each
//! row, NaN last), and gathers along the axis for the values, so that `sort`'s gradient
//! is the gather's: each output's cotangent goes back to the element it came from.

use tc_tensor::DType;

use super::Builtin;
use crate::value::{TVal, Value};

/// The names this file lowers.
pub(crate) const NAMES: &[&str] = &["sort", "argsort", "top_k"];

impl Builtin<'_, '_, '_> {
    pub(super) fn sorting(&mut self, name: &str) -> Option<Value> {
        let x = self.tensor(0)?;
        let x = self.e.strong(x);
        if x.ty.dtype == DType::Bool || x.ty.rank() == 0 {
            let shown = self.e.show(&x.ty);
            let s = self.arg_span(0);
            return Some(self.err("E0305", s, format!("`{name}` needs a tensor of numbers of rank at least 1, found {shown}")));
        }
        let rank = x.ty.rank();
        if name == "top_k" {
            return self.top_k(x);
        }
        let axis = if self.bound[1].is_some() { self.axis(1, rank)? } else { rank - 1 };
        let descending = self.flag(2, "descending")?;
        let order = self.e.graph.argsort(x.node, axis, descending);
        if name == "argsort" {
            return Some(self.e.tensor(order));
        }
        let n = x.ty.shape[axis];
        let node = self.gather_along(x.node, &x.ty.shape, order, axis, n);
        Some(self.e.tensor(node))
    }

    /// `top_k(x, k)`: the `k` largest along the last axis, largest first, ties to the
    /// lower index; `(values, indices)`.
    fn top_k(&mut self, x: TVal) -> Option<Value> {
        let rank = x.ty.rank();
        let n = x.ty.shape[rank - 1];
        let k = self.count(1)?;
        if k > n {
            let s = self.arg_span(1);
            return Some(self.err("E0307", s, format!("`top_k` takes {k} of an axis of {n} elements")));
        }
        let order = self.e.graph.argsort(x.node, rank - 1, true);
        let mut end = x.ty.shape.clone();
        end[rank - 1] = k;
        let indices = self.e.graph.slice(order, vec![0; rank], end);
        let values = self.gather_along(x.node, &x.ty.shape, indices, rank - 1, k);
        Some(Value::Tuple(vec![self.e.tensor(values), self.e.tensor(indices)]))
    }
}
