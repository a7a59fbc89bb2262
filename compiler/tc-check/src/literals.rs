//! Weak literals (SPEC §4). A literal — a number, a tensor literal of numbers, or a
//! compile-time integer such as a shape variable or `size(x, 0)` — is weakly typed: it
//! keeps its exact value until it takes a dtype (the other operand's, an annotation's,
//! `full`'s `dtype=`, an `as`), and is then made in that dtype with one rounding, so
//! `x * 0.1` with `x: f64` multiplies by the f64 nearest 0.1. A value that does not fit
//! the dtype it takes (an integer outside the dtype's range, a float that rounds to
//! infinity) is E0314 where it was written; it is never wrapped. The built-in constants
//! `inf` and `nan` are weak float literals too, exact in every float dtype.
//!
//! Until it takes a dtype, a literal has a provisional one (`i32` for integers, `f32` for
//! floats: the dtype it has when it stands alone). When its value does not fit that
//! dtype, the node holding it is recorded, and E0314 is reported only if the program's
//! results depend on that node as it is: `3000000000` alone is an error, while
//! `x + 3000000000` with `x: i64` makes the literal again as an i64 and is not.

use std::collections::HashMap;

use tc_ir::NodeId;
use tc_syntax::ast::FloatLit;
use tc_syntax::diag::{Diagnostic, Loc};
use tc_tensor::{rounding, DType, Data, Tensor};

use crate::elab::Elab;
use crate::unfold::Unfolded;
use crate::value::{konst_data, Konst, TVal, Value};

/// The weak literals of one elaboration.
#[derive(Default)]
pub(crate) struct Literals {
    /// Exact values and places of the weak literals, by the node holding them in their
    /// provisional dtype.
    by_node: HashMap<NodeId, Literal>,
    /// Nodes holding a literal that does not fit their dtype, with the error to report
    /// if the program's results depend on them.
    unfit: HashMap<NodeId, Diagnostic>,
}

#[derive(Clone, Debug)]
struct Literal {
    /// Where it was written: E0314 points here.
    loc: Loc,
    /// Its exact values, in C order (one for a scalar).
    values: Vec<Konst>,
}

impl Elab<'_> {
    /// A weak scalar literal of value `k` written at `loc`, provisionally of `dtype`.
    pub fn weak_literal(&mut self, k: Konst, dtype: DType, loc: Loc) -> Value {
        let value = self.konst(k, dtype, true);
        if let Value::Tensor(t) = &value {
            self.record_literal(t.node, vec![k], dtype, loc);
        }
        value
    }

    /// A weak tensor literal of the exact `values` (C order) written at `loc`,
    /// provisionally of `dtype`.
    pub fn weak_tensor_literal(&mut self, values: Vec<Konst>, shape: Vec<usize>, dtype: DType, loc: Loc) -> TVal {
        let tensor = Tensor::new(shape, konst_data(&values, dtype)).expect("one value per element");
        let node = self.graph.constant(tensor);
        self.record_literal(node, values, dtype, loc);
        TVal { weak: true, ..self.tval(node) }
    }

    fn record_literal(&mut self, node: NodeId, values: Vec<Konst>, dtype: DType, loc: Loc) {
        if let Some(bad) = values.iter().find(|k| !k.fits(dtype)) {
            let error = unfit_error(*bad, dtype, loc);
            self.literals.unfit.insert(node, error);
        }
        self.literals.by_node.insert(node, Literal { loc, values });
    }

    /// The exact values of `t` (C order) when it is a weak literal.
    pub fn literal_values(&self, t: &TVal) -> Option<Vec<Konst>> {
        let literal = self.literals.by_node.get(&t.node).filter(|_| t.weak)?;
        Some(literal.values.clone())
    }

    /// The weak literal `t` made in `dtype`, now strong: its exact values rounded once;
    /// E0314 where it was written if one of them does not fit. `None` when `t` is not a
    /// weak literal.
    pub fn literal_in(&mut self, t: &TVal, dtype: DType) -> Option<TVal> {
        let literal = self.literals.by_node.get(&t.node).filter(|_| t.weak)?.clone();
        if let Some(bad) = literal.values.iter().find(|k| !k.fits(dtype)) {
            self.error(unfit_error(*bad, dtype, literal.loc));
        }
        let remade = if t.ty.shape.is_empty() {
            match self.konst(literal.values[0], dtype, false) {
                Value::Tensor(v) => v,
                _ => return None,
            }
        } else {
            let tensor = Tensor::new(t.ty.shape.clone(), konst_data(&literal.values, dtype)).expect("one value per element");
            let node = self.graph.constant(tensor);
            self.tval(node)
        };
        // For `grad`, the literal in `dtype` is its provisional node converted.
        self.record_fold(remade.node, Unfolded::Op(tc_ir::Op::Cast, vec![t.node]));
        Some(remade)
    }

    /// Report now, not only if the results depend on it, that the weak literal `t` does
    /// not fit the dtype it has (an annotation asks for exactly that dtype).
    pub fn settle_literal(&mut self, t: &TVal) {
        if let Some(error) = self.literals.unfit.remove(&t.node) {
            self.error(error);
        }
    }

    /// Report E0314 for every literal that does not fit its provisional dtype and that
    /// `outputs` depend on as it is.
    pub fn report_unfit_literals(&mut self, outputs: &[NodeId]) {
        if self.literals.unfit.is_empty() {
            return;
        }
        // Nodes are in topological order: one backward pass marks every dependency.
        let mut needed = vec![false; self.graph.nodes.len()];
        for out in outputs {
            needed[out.index()] = true;
        }
        for i in (0..needed.len()).rev() {
            if needed[i] {
                for input in &self.graph.nodes[i].inputs {
                    needed[input.index()] = true;
                }
            }
        }
        let mut unfit: Vec<(NodeId, Diagnostic)> = std::mem::take(&mut self.literals.unfit).into_iter().filter(|(node, _)| needed[node.index()]).collect();
        // In the order the literals were made (the order of the source, mostly).
        unfit.sort_by_key(|(node, _)| node.index());
        for (_, error) in unfit {
            self.error(error);
        }
    }

    /// The value of a scalar constant node as a strong compile-time value.
    pub fn const_value(&self, node: NodeId) -> Option<Konst> {
        let tc_ir::Op::Const(t) = &self.graph.node(node).op else { return None };
        if !t.shape().is_empty() {
            return None;
        }
        Some(match t.data() {
            Data::I64(v) => Konst::Int(v[0]),
            Data::I32(v) => Konst::Int(i64::from(v[0])),
            Data::U8(v) => Konst::Int(i64::from(v[0])),
            Data::Bool(v) => Konst::Bool(v[0]),
            other => Konst::Float(FloatLit::exact(other.to_f64_vec()[0])),
        })
    }
}

/// E0314 for `k`, which does not fit `dtype`, written at `loc`.
fn unfit_error(k: Konst, dtype: DType, loc: Loc) -> Diagnostic {
    match dtype.int_range() {
        Some(range) => {
            let hint = if k.as_f64().is_finite() {
                "literals are never wrapped: write a value in range, or compute in a wider dtype (`as i64`)"
            } else {
                "infinity and NaN have no integer value; a cast of a tensor computed at run time saturates them (NaN gives 0)"
            };
            Diagnostic::new("E0314", loc, format!("the literal {k} does not fit in {dtype}")).with_label(format!("{dtype} holds {} to {}", range.start(), range.end())).with_hint(hint)
        }
        None => {
            let max = match dtype {
                DType::F16 => 65504.0,
                DType::BF16 => rounding::BF16_MAX,
                DType::F32 => f64::from(f32::MAX),
                _ => f64::MAX,
            };
            Diagnostic::new("E0314", loc, format!("the literal {k} overflows {dtype}"))
                .with_label(format!("the largest {dtype} is about {max:.4e}"))
                .with_hint("literals never become infinity: compute in a wider dtype (`as f64`)")
        }
    }
}
