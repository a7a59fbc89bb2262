//! Fusion: partitions a graph into kernels and writes each fused group as a loop kernel.
//!
//! 1. **Materialised values.** Some nodes must live in a buffer: parameters, tensor
//!    constants, graph outputs, reductions, library-call ops and their operands (a
//!    matmul operand that transposes its last two axes is read in place, transposed). Every
//!    other node — elementwise ops, `iota`, scalar constants and the layout ops
//!    (`broadcast`, `transpose`, `reverse`, `slice`, `reshape`) — is *inlined* into each
//!    consumer: elementwise ops are recomputed per use, layout ops become index maps
//!    (see [`crate::view`]). Two exceptions materialise more: an operand the index maps
//!    cannot reach (a `reshape` that splits an axis below another layout op or `iota`),
//!    an expensive expression (one with a transcendental) broadcast along a leading
//!    axis, which would otherwise be recomputed for every copy, and a transcendental
//!    that two stages of one row kernel would both evaluate (a softmax's exponentials:
//!    stored once by its own stage, which memory planning then places in the output).
//!    Limits materialise more still: an elementwise chain deeper than [`MAX_EXPR_DEPTH`]
//!    is cut, so is an expression whose tree (each use of a shared operand counted
//!    again) outgrows [`MAX_EXPR_SIZE`] — an operand read at several index maps, as
//!    a parallel scan's pair sums are, would otherwise double at every level — and under a target's buffer limit ([`Limits`]) an operand is stored when
//!    a stage would otherwise load more buffers than one kernel may bind.
//! 2. **Stages.** Each materialised computed node becomes a stage: a `Reduce` over its
//!    operand's shape, or a `Store` of its value over its own shape.
//! 3. **Row kernels.** A stage joins the kernel of an earlier reduction when it runs over
//!    the same domain (and, for a reduction, the same axes) and reads that kernel's
//!    values only at the current outer point: a reduction's result broadcast along the
//!    reduced axes (which becomes [`ExprOp::Slot`]), or a stored value at the same point.
//!    Everything else it reads must come from earlier kernels. So `softmax` (max, sum of
//!    exponentials, normalise) and `layernorm` (mean, variance, normalise) are one kernel
//!    each. Otherwise the stage starts a new kernel.
//!
//! Under a buffer limit a stage joins a row kernel only if the kernel stays within it.
//! No step recurses on the depth of the graph: stages are built on an explicit stack.
//!
//! Row kernels order their domain as kept axes (outer) then reduced axes (inner).
//! Buffers are created for the values read outside their kernel (or returned); buffer
//! offsets are left to memory planning.

use crate::program::{c_strides, Action, Buffer, BufferId, BufferKind, CallKernel, Expr, ExprId, ExprOp, Kernel, KernelProgram, LoopKernel, Scalar, Stage, StoreTo, View};
use crate::view::{through_op, IndexMap};
use std::collections::HashMap;
use tc_ir::{BinaryOp, Graph, NodeId, Op, ReduceOp};
use tc_tensor::{DType, Data, Tensor};

/// What a target allows one kernel. Fusion keeps every kernel within it by
/// materialising more intermediates (splitting a fused kernel in two), so a valid graph
/// always lowers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// The most distinct buffers one loop kernel may read and write (`None`: no limit;
    /// at least [`MIN_BUFFERS`] otherwise, enough for any single op).
    pub max_buffers: Option<usize>,
}

/// The smallest buffer limit fusion supports: a `select` reads three buffers and
/// writes one.
pub const MIN_BUFFERS: usize = 4;

/// The deepest expression a stage inlines, counting each op by [`op_weight`]: a deeper
/// chain of elementwise ops is split by materialising an intermediate, so backends that
/// walk or compile a stage's expression DAG stay bounded however deep the program is.
pub const MAX_EXPR_DEPTH: usize = 1000;

/// The largest expression tree a stage inlines (ops weighted by [`op_weight`], each use
/// of an operand counted again): past it the largest operand is materialised. Shared
/// operands are evaluated once per index map, so a tree counts them as often as a
/// stage may evaluate them; without the bound an operand read at two maps per level
/// (a scan's up-sweep) is inlined 2^levels times.
pub const MAX_EXPR_SIZE: usize = 1000;

/// What one elementwise op adds to an expression's depth: 1, or [`TRANSCENDENTAL_WEIGHT`]
/// for the functions backends expand into dozens of instructions (range reduction and
/// polynomials), whose long chains otherwise make one stage's code so large that code
/// generators' superlinear passes dominate compile time.
fn op_weight(op: &Op) -> usize {
    if is_transcendental(op) {
        TRANSCENDENTAL_WEIGHT
    } else {
        1
    }
}

/// The depth weight of a transcendental function: a stage chains at most
/// `MAX_EXPR_DEPTH / TRANSCENDENTAL_WEIGHT` (31) of them.
pub const TRANSCENDENTAL_WEIGHT: usize = 32;

/// How the fuser treats a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Param,
    /// A rank-0 constant: an immediate wherever it is used.
    Scalar,
    /// A constant with elements: a buffer.
    Tensor,
    Elementwise,
    Iota,
    Layout,
    Reduce,
    Call,
}

fn class(graph: &Graph, id: NodeId) -> Class {
    match &graph.node(id).op {
        Op::Param(_) => Class::Param,
        Op::Const(t) if t.rank() == 0 => Class::Scalar,
        Op::Const(_) => Class::Tensor,
        Op::Unary(_) | Op::Binary(_) | Op::Select | Op::Cast => Class::Elementwise,
        Op::Iota { .. } => Class::Iota,
        Op::Broadcast { .. } | Op::Transpose { .. } | Op::Reverse { .. } | Op::Slice { .. } | Op::Reshape => Class::Layout,
        Op::Reduce { .. } => Class::Reduce,
        _ => Class::Call,
    }
}

/// The functions backends expand into dozens of instructions: those of [`crate::math`],
/// `pow` and float `rem`.
fn is_transcendental(op: &Op) -> bool {
    match op {
        Op::Unary(u) => crate::math::Func::of(*u).is_some(),
        Op::Binary(b) => matches!(b, BinaryOp::Pow | BinaryOp::Rem),
        _ => false,
    }
}

/// The immediate of a rank-0 constant.
fn scalar_of(t: &Tensor) -> Scalar {
    match t.data() {
        Data::Bool(v) => Scalar::B(v[0]),
        d if d.dtype().is_float() => Scalar::F(d.to_f64_vec()[0]),
        d => Scalar::I(d.to_i64_vec()[0]),
    }
}

/// A stage before buffers exist: loads name the node they read (its id in the
/// `buffer` field) until [`assemble`] resolves them.
struct Item {
    node: NodeId,
    /// `Some((op, axes))` for a reduction.
    reduce: Option<(ReduceOp, Vec<usize>)>,
    /// The stage's domain in the graph's axis order.
    domain: Vec<usize>,
    exprs: Vec<Expr>,
    root: ExprId,
    /// Inlined transcendental nodes this stage evaluates at every domain point.
    expensive: Vec<NodeId>,
}

impl Item {
    /// Every (node, flat view) the stage loads.
    fn loads(&self) -> impl Iterator<Item = (NodeId, &View)> {
        self.exprs.iter().filter_map(|e| match &e.op {
            ExprOp::Load { buffer, view } => Some((NodeId(buffer.0), view)),
            _ => None,
        })
    }
}

enum Pending {
    /// A loop kernel; `axes` is set for a row kernel (started by a reduction).
    Loop { domain: Vec<usize>, axes: Option<Vec<usize>>, items: Vec<Item> },
    Call(NodeId),
}

/// Builds one stage's expression DAG.
struct StageBuilder<'a> {
    graph: &'a Graph,
    mat: &'a [bool],
    rank: usize,
    exprs: Vec<Expr>,
    memo: HashMap<(NodeId, IndexMap), ExprId>,
}

/// A step of [`StageBuilder::build`]'s explicit work stack (graphs can be a million
/// nodes deep, far beyond what recursion on the call stack allows).
enum Task {
    /// Resolve the value of `id` at `map`; `define`: from its definition even if it is
    /// materialised (the stage's own node).
    Visit { id: NodeId, map: IndexMap, define: bool },
    /// The operands of elementwise node `id` at `map` are on the value stack, in order.
    Emit { id: NodeId, map: IndexMap },
    /// The value on top of the value stack is layout op `id`'s at `map`.
    Alias { id: NodeId, map: IndexMap },
}

impl StageBuilder<'_> {
    fn push(&mut self, op: ExprOp, dtype: DType) -> ExprId {
        self.exprs.push(Expr { op, dtype });
        ExprId(self.exprs.len() as u32 - 1)
    }

    /// The value of `id` at `map`, from its definition if `define` (even if it is
    /// materialised), else loaded when materialised. `Err(n)` asks for node `n` to be
    /// materialised. Operands are built depth first, operand 0 first.
    fn build(&mut self, id: NodeId, map: IndexMap, define: bool) -> Result<ExprId, NodeId> {
        let mut tasks = vec![Task::Visit { id, map, define }];
        let mut values: Vec<ExprId> = Vec::new();
        while let Some(task) = tasks.pop() {
            match task {
                Task::Visit { id, map, define } => {
                    if let Some(e) = self.known(id, &map, define) {
                        values.push(e);
                        continue;
                    }
                    let node = self.graph.node(id);
                    match &node.op {
                        Op::Iota { axis } => {
                            let IndexMap::Multi(rows) = &map else { return Err(id) };
                            let index = self.push(ExprOp::Index { view: rows[*axis].clone() }, DType::I64);
                            let e = if node.ty.dtype == DType::I64 { index } else { self.push(ExprOp::Cast(index), node.ty.dtype) };
                            self.memo.insert((id, map), e);
                            values.push(e);
                        }
                        Op::Unary(_) | Op::Binary(_) | Op::Select | Op::Cast => {
                            // Below the operands on the stack: runs once they are built.
                            let operands: Vec<Task> = node.inputs.iter().rev().map(|&input| Task::Visit { id: input, map: map.clone(), define: false }).collect();
                            tasks.push(Task::Emit { id, map });
                            tasks.extend(operands);
                        }
                        op => {
                            // A layout op: only the index map changes.
                            let input = node.inputs[0];
                            let in_shape = &self.graph.ty(input).shape;
                            let inner = through_op(op, &map, in_shape, &node.ty.shape, self.rank).ok_or(id)?;
                            tasks.push(Task::Alias { id, map });
                            tasks.push(Task::Visit { id: input, map: inner, define: false });
                        }
                    }
                }
                Task::Emit { id, map } => {
                    let node = self.graph.node(id);
                    let args = values.split_off(values.len() - node.inputs.len());
                    let dtype = node.ty.dtype;
                    let e = match node.op {
                        Op::Unary(u) => self.push(ExprOp::Unary(u, args[0]), dtype),
                        Op::Binary(b) => self.push(ExprOp::Binary(b, args[0], args[1]), dtype),
                        Op::Select => self.push(ExprOp::Select(args[0], args[1], args[2]), dtype),
                        _ if self.exprs[args[0].index()].dtype == dtype => args[0],
                        _ => self.push(ExprOp::Cast(args[0]), dtype),
                    };
                    self.memo.insert((id, map), e);
                    values.push(e);
                }
                Task::Alias { id, map } => {
                    let e = *values.last().expect("the operand of a layout op was built");
                    self.memo.insert((id, map), e);
                }
            }
        }
        Ok(values.pop().expect("the root was built"))
    }

    /// The value of `id` at `map` when it needs no operands: a scalar constant, a load
    /// of a materialised node, or one built before.
    fn known(&mut self, id: NodeId, map: &IndexMap, define: bool) -> Option<ExprId> {
        let node = self.graph.node(id);
        if let Op::Const(t) = &node.op {
            if t.rank() == 0 && !define {
                let key = (id, IndexMap::Multi(vec![]));
                if let Some(&e) = self.memo.get(&key) {
                    return Some(e);
                }
                let e = self.push(ExprOp::Const(scalar_of(t)), node.ty.dtype);
                self.memo.insert(key, e);
                return Some(e);
            }
        }
        if self.mat[id.index()] && !define {
            let view = map.to_flat(&node.ty.shape, self.rank);
            let key = (id, IndexMap::Flat(view.clone()));
            if let Some(&e) = self.memo.get(&key) {
                return Some(e);
            }
            let e = self.push(ExprOp::Load { buffer: BufferId(id.0), view }, node.ty.dtype);
            self.memo.insert(key, e);
            return Some(e);
        }
        self.memo.get(&(id, map.clone())).copied()
    }
}

/// Operand `k` of call node `call`: the node whose buffer it reads, and whether that
/// buffer holds it transposed. A matmul reads the transpose of its last two axes in
/// place (the library takes strides), unless the transpose is itself a graph output.
fn call_operand(graph: &Graph, call: NodeId, k: usize) -> (NodeId, bool) {
    let a = graph.node(call).inputs[k];
    if let (Op::MatMul, Op::Transpose { perm }) = (&graph.node(call).op, &graph.node(a).op) {
        let r = perm.len();
        let swaps_last_two = r >= 2 && perm[r - 2] == r - 1 && perm[r - 1] == r - 2 && perm[..r - 2].iter().enumerate().all(|(i, &p)| i == p);
        if swaps_last_two && !graph.outputs.contains(&a) {
            return (graph.node(a).inputs[0], true);
        }
    }
    (a, false)
}

/// Nodes reachable from the outputs.
fn live_nodes(graph: &Graph) -> Vec<bool> {
    let mut live = vec![false; graph.nodes.len()];
    for o in &graph.outputs {
        live[o.index()] = true;
    }
    for i in (0..graph.nodes.len()).rev() {
        if live[i] {
            for input in &graph.nodes[i].inputs {
                live[input.index()] = true;
            }
        }
    }
    live
}

/// The first materialisation decision (step 1 of the module docs, without the
/// index-map failures, which [`fuse`] discovers while building stages).
fn initial_materialized(graph: &Graph, live: &[bool]) -> Vec<bool> {
    let n = graph.nodes.len();
    let mut mat = vec![false; n];
    for o in &graph.outputs {
        mat[o.index()] = true;
    }
    for i in 0..n {
        let id = NodeId(i as u32);
        match class(graph, id) {
            Class::Param | Class::Tensor | Class::Reduce => mat[i] = true,
            Class::Call => {
                mat[i] = true;
                for k in 0..graph.nodes[i].inputs.len() {
                    mat[call_operand(graph, id, k).0.index()] = true;
                }
            }
            _ => {}
        }
    }
    // Expensive inlined expressions under a broadcast that repeats them along a leading axis.
    let mut expensive = vec![false; n];
    for i in 0..n {
        let node = &graph.nodes[i];
        let inlined = matches!(class(graph, NodeId(i as u32)), Class::Elementwise | Class::Layout);
        expensive[i] = inlined && (is_transcendental(&node.op) || node.inputs.iter().any(|a| !mat[a.index()] && expensive[a.index()]));
    }
    for (i, node) in graph.nodes.iter().enumerate() {
        if let Op::Broadcast { dims } = &node.op {
            let x = node.inputs[0];
            if !live[i] || mat[x.index()] || !expensive[x.index()] {
                continue;
            }
            let in_shape = &graph.ty(x).shape;
            let kept: Vec<usize> = dims.iter().enumerate().filter(|&(k, _)| in_shape[k] != 1).map(|(_, &d)| d).collect();
            let repeated = (0..node.ty.rank()).filter(|d| !kept.contains(d) && node.ty.shape[*d] != 1);
            let last_kept = kept.last().copied();
            if repeated.into_iter().any(|d| last_kept.is_some_and(|k| d < k)) {
                mat[x.index()] = true;
            }
        }
    }
    mat
}

/// Materialise more nodes so that no stage inlines an expression deeper than
/// [`MAX_EXPR_DEPTH`] or reads more buffers than `limits` allow with the one it writes.
/// One pass in node order: each inlined node's depth and the set of materialised nodes
/// its expression loads (at most the limit, so the cost is linear) follow from its
/// operands'; when an elementwise node's operands together exceed a bound, the largest
/// (or deepest) operand is materialised, which resets it to one load at depth zero.
fn split_for_limits(graph: &Graph, live: &[bool], mat: &mut [bool], limits: &Limits) {
    let n = graph.nodes.len();
    // Loads a stage may have besides the buffer it writes.
    let max_loads = limits.max_buffers.map(|m| m.max(MIN_BUFFERS) - 1);
    let mut depth = vec![0usize; n];
    // Tree sizes, saturating; through layout ops that of the node they view.
    let mut size = vec![0usize; n];
    let tree = |size: &[usize], mat: &[bool], mut u: NodeId| -> usize {
        while !mat[u.index()] && class(graph, u) == Class::Layout {
            u = graph.nodes[u.index()].inputs[0];
        }
        if mat[u.index()] {
            1
        } else {
            size[u.index()]
        }
    };
    let mut loads: Vec<Vec<u32>> = vec![Vec::new(); if max_loads.is_some() { n } else { 0 }];
    let union = |loads: &[Vec<u32>], inputs: &[NodeId]| -> Vec<u32> {
        let mut all: Vec<u32> = inputs.iter().flat_map(|u| loads[u.index()].iter().copied()).collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    for i in 0..n {
        if !live[i] {
            continue;
        }
        let id = NodeId(i as u32);
        let inputs = &graph.nodes[i].inputs;
        match class(graph, id) {
            Class::Iota => {
                depth[i] = 1;
                size[i] = 1;
            }
            Class::Layout => {
                depth[i] = depth[inputs[0].index()];
                if !loads.is_empty() {
                    loads[i] = loads[inputs[0].index()].clone();
                }
            }
            Class::Elementwise => {
                loop {
                    let too_wide = max_loads.is_some_and(|max| union(&loads, inputs).len() > max);
                    let deepest = *inputs.iter().max_by_key(|u| depth[u.index()]).expect("elementwise ops have operands");
                    let split = if too_wide {
                        *inputs.iter().max_by_key(|u| loads[u.index()].len()).expect("elementwise ops have operands")
                    } else if depth[deepest.index()] + op_weight(&graph.nodes[i].op) > MAX_EXPR_DEPTH {
                        deepest
                    } else if inputs.iter().fold(op_weight(&graph.nodes[i].op), |t, &u| t.saturating_add(tree(&size, mat, u))) > MAX_EXPR_SIZE {
                        // The computed node under the largest operand's layout ops.
                        let mut u = *inputs.iter().max_by_key(|&&u| tree(&size, mat, u)).expect("elementwise ops have operands");
                        while !mat[u.index()] && class(graph, u) == Class::Layout {
                            u = graph.nodes[u.index()].inputs[0];
                        }
                        u
                    } else {
                        break;
                    };
                    mat[split.index()] = true;
                    depth[split.index()] = 0;
                    if !loads.is_empty() {
                        loads[split.index()] = vec![split.0];
                    }
                }
                depth[i] = op_weight(&graph.nodes[i].op) + inputs.iter().map(|u| depth[u.index()]).max().unwrap_or(0);
                size[i] = inputs.iter().fold(op_weight(&graph.nodes[i].op), |t, &u| t.saturating_add(tree(&size, mat, u)));
                if !loads.is_empty() {
                    loads[i] = union(&loads, inputs);
                }
            }
            Class::Param | Class::Scalar | Class::Tensor | Class::Reduce | Class::Call => {}
        }
        if mat[i] {
            depth[i] = 0;
            if let Some(l) = loads.get_mut(i) {
                *l = vec![i as u32];
            }
        }
    }
}

/// Whether `view` equals `want` on every axis of `domain` that has more than one point.
fn same_view(view: &View, want: &View, domain: &[usize]) -> bool {
    view.offset == want.offset && domain.iter().enumerate().all(|(d, &size)| size <= 1 || view.strides[d] == want.strides[d])
}

/// The view of a reduction's result over its operand's domain: the kept axes with the
/// result's strides, zero along the reduced axes.
fn slot_view(domain: &[usize], axes: &[usize]) -> View {
    let kept: Vec<usize> = (0..domain.len()).filter(|a| !axes.contains(a)).collect();
    let kept_shape: Vec<usize> = kept.iter().map(|&a| domain[a]).collect();
    let cs = c_strides(&kept_shape);
    let mut strides = vec![0isize; domain.len()];
    for (k, &a) in kept.iter().enumerate() {
        strides[a] = cs[k] as isize;
    }
    View { offset: 0, strides }
}

/// Group stages into kernels (step 3 of the module docs).
fn group(items: Vec<Item>, calls: &[NodeId], limits: &Limits) -> Vec<Pending> {
    let mut kernels: Vec<Pending> = Vec::new();
    // Where each materialised node is computed: (kernel, stage).
    let mut home: HashMap<NodeId, (usize, usize)> = HashMap::new();
    let mut items = items.into_iter().peekable();
    let mut calls = calls.iter().peekable();
    loop {
        // Interleave calls and stages in node order.
        let next_call = calls.peek().map(|c| c.index());
        let next_item = items.peek().map(|it| it.node.index());
        let item = match (next_call, next_item) {
            (None, None) => break,
            (Some(c), i) if i.is_none_or(|i| c < i) => {
                let c = *calls.next().expect("peeked");
                home.insert(c, (kernels.len(), 0));
                kernels.push(Pending::Call(c));
                continue;
            }
            _ => items.next().expect("peeked"),
        };
        let target = merge_target(&item, &kernels, &home, limits);
        match target {
            Some(k) => {
                let Pending::Loop { items, .. } = &mut kernels[k] else { unreachable!("merge targets are loop kernels") };
                home.insert(item.node, (k, items.len()));
                items.push(item);
            }
            None => {
                home.insert(item.node, (kernels.len(), 0));
                let axes = item.reduce.as_ref().map(|(_, a)| a.clone());
                kernels.push(Pending::Loop { domain: item.domain.clone(), axes, items: vec![item] });
            }
        }
    }
    kernels
}

/// The row kernel `item` may join, if any.
fn merge_target(item: &Item, kernels: &[Pending], home: &HashMap<NodeId, (usize, usize)>, limits: &Limits) -> Option<usize> {
    // The latest row kernel whose values the item reads.
    let k = item.loads().filter_map(|(u, _)| home.get(&u).map(|&(k, _)| k)).max()?;
    let Pending::Loop { domain, axes: Some(axes), items } = &kernels[k] else {
        return None;
    };
    if *domain != item.domain {
        return None;
    }
    if let Some((_, item_axes)) = &item.reduce {
        if item_axes != axes {
            return None;
        }
    }
    let identity = View::contiguous(domain);
    let slot = slot_view(domain, axes);
    let fits = item.loads().all(|(u, view)| match home.get(&u) {
        Some(&(ku, su)) if ku == k => {
            let want = if items[su].reduce.is_some() { &slot } else { &identity };
            same_view(view, want, domain)
        }
        Some(&(ku, _)) => ku < k,
        None => true, // parameters and constants
    });
    (fits && within(limits, items, item)).then_some(k)
}

/// Whether a kernel of `items` and `item` binds no more buffers than `limits` allow,
/// counting every stage's own node (a reduction's result may not need one) and every
/// node it loads.
fn within(limits: &Limits, items: &[Item], item: &Item) -> bool {
    let Some(max) = limits.max_buffers else { return true };
    let mut buffers: Vec<NodeId> = items.iter().chain([item]).flat_map(|it| it.loads().map(|(u, _)| u).chain([it.node])).collect();
    buffers.sort_unstable();
    buffers.dedup();
    buffers.len() <= max.max(MIN_BUFFERS)
}

/// A transcendental that two stages of one row kernel would each recompute at every
/// point (the exponentials of a softmax): better stored once by a stage of its own.
fn shared_expensive(kernels: &[Pending]) -> Option<NodeId> {
    for k in kernels {
        if let Pending::Loop { axes: Some(_), items, .. } = k {
            let mut seen: Vec<NodeId> = Vec::new();
            for it in items {
                let mut mine = it.expensive.clone();
                mine.sort();
                mine.dedup();
                if let Some(&n) = mine.iter().find(|n| seen.contains(n)) {
                    return Some(n);
                }
                seen.extend(mine);
            }
        }
    }
    None
}

/// Build the stages of every materialised computed node; `Err(n)` asks for `n` to be
/// materialised first.
fn build_items(graph: &Graph, live: &[bool], mat: &[bool]) -> Result<(Vec<Item>, Vec<NodeId>), NodeId> {
    let mut items = Vec::new();
    let mut calls = Vec::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        let id = NodeId(i as u32);
        if !live[i] || !mat[i] {
            continue;
        }
        let (reduce, domain, value_of) = match (&node.op, class(graph, id)) {
            (_, Class::Param | Class::Scalar | Class::Tensor) => continue,
            (_, Class::Call) => {
                calls.push(id);
                continue;
            }
            (Op::Reduce { op, axes }, _) => {
                let input = node.inputs[0];
                (Some((*op, axes.clone())), graph.ty(input).shape.clone(), input)
            }
            _ => (None, node.ty.shape.clone(), id),
        };
        let mut b = StageBuilder { graph, mat, rank: domain.len(), exprs: Vec::new(), memo: HashMap::new() };
        let map = IndexMap::identity(&domain);
        let root = b.build(value_of, map.clone(), value_of == id)?;
        let expensive = b.memo.keys().filter(|(n, m)| *m == map && *n != id && is_transcendental(&graph.node(*n).op)).map(|(n, _)| *n).collect();
        items.push(Item { node: id, reduce, domain, exprs: b.exprs, root, expensive });
    }
    Ok((items, calls))
}

/// Permute a view's strides to the kernel's axis order.
fn permuted(view: &View, order: &[usize]) -> View {
    View { offset: view.offset, strides: order.iter().map(|&a| view.strides[a]).collect() }
}

/// Turn pending kernels into the program: resolve loads to slots or buffers, create
/// buffers, order row kernels' axes.
fn assemble(graph: &Graph, live: &[bool], kernels: Vec<Pending>) -> KernelProgram {
    let n = graph.nodes.len();
    let mut needs = vec![false; n];
    for o in &graph.outputs {
        needs[o.index()] = true;
    }
    // Where each reduction is computed: (kernel, stage).
    let mut reductions: HashMap<NodeId, (usize, usize)> = HashMap::new();
    for (k, p) in kernels.iter().enumerate() {
        match p {
            Pending::Call(c) => {
                needs[c.index()] = true;
                for k in 0..graph.node(*c).inputs.len() {
                    needs[call_operand(graph, *c, k).0.index()] = true;
                }
            }
            Pending::Loop { items, .. } => {
                for (s, it) in items.iter().enumerate() {
                    if it.reduce.is_some() {
                        reductions.insert(it.node, (k, s));
                    } else {
                        needs[it.node.index()] = true;
                    }
                }
            }
        }
    }
    // A load becomes a slot when it reads a reduction of its own kernel.
    let is_slot = |k: usize, u: NodeId| -> Option<usize> { reductions.get(&u).filter(|&&(ku, _)| ku == k).map(|&(_, su)| su) };
    for (k, p) in kernels.iter().enumerate() {
        if let Pending::Loop { items, .. } = p {
            for it in items {
                for (u, _) in it.loads() {
                    if is_slot(k, u).is_none() {
                        needs[u.index()] = true;
                    }
                }
            }
        }
    }

    // Buffers: parameters first (in parameter order), then the rest in node order.
    let mut buffers = Vec::new();
    let mut of_node: Vec<Option<BufferId>> = vec![None; n];
    let mut params: Vec<(usize, NodeId)> = graph
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, node)| match node.op {
            Op::Param(p) => Some((p, NodeId(i as u32))),
            _ => None,
        })
        .collect();
    params.sort();
    for &(p, id) in &params {
        of_node[id.index()] = Some(BufferId(buffers.len() as u32));
        buffers.push(Buffer { ty: graph.ty(id).clone(), kind: BufferKind::Param(p) });
    }
    let is_output: Vec<bool> = (0..n).map(|i| graph.outputs.iter().any(|o| o.index() == i)).collect();
    for (i, node) in graph.nodes.iter().enumerate() {
        if !live[i] || !needs[i] || of_node[i].is_some() {
            continue;
        }
        let kind = match &node.op {
            Op::Const(t) => BufferKind::Const(t.clone()),
            _ if is_output[i] => BufferKind::Output,
            _ => BufferKind::Temp { offset: 0 },
        };
        of_node[i] = Some(BufferId(buffers.len() as u32));
        buffers.push(Buffer { ty: node.ty.clone(), kind });
    }
    let buf = |id: NodeId| of_node[id.index()].expect("every needed node has a buffer");

    let mut out_kernels = Vec::with_capacity(kernels.len());
    for (k, p) in kernels.into_iter().enumerate() {
        match p {
            Pending::Call(c) => {
                let node = graph.node(c);
                let operands: Vec<(NodeId, bool)> = (0..node.inputs.len()).map(|k| call_operand(graph, c, k)).collect();
                out_kernels.push(Kernel::Call(CallKernel {
                    op: node.op.clone(),
                    inputs: operands.iter().map(|&(i, _)| buf(i)).collect(),
                    transposed: operands.iter().map(|&(_, t)| t).collect(),
                    output: buf(c),
                }));
            }
            Pending::Loop { domain, axes, items } => {
                let axes = axes.unwrap_or_default();
                let order: Vec<usize> = (0..domain.len()).filter(|a| !axes.contains(a)).chain(axes.iter().copied()).collect();
                // A row kernel's outer space is its kept axes; an elementwise kernel is all inner.
                let outer = if axes.is_empty() && !items.iter().any(|it| it.reduce.is_some()) { 0 } else { domain.len() - axes.len() };
                let mut stages = Vec::with_capacity(items.len());
                for it in items {
                    let exprs = it
                        .exprs
                        .iter()
                        .map(|e| {
                            let op = match &e.op {
                                ExprOp::Load { buffer, view } => {
                                    let u = NodeId(buffer.0);
                                    match is_slot(k, u) {
                                        Some(stage) => ExprOp::Slot { stage },
                                        None => ExprOp::Load { buffer: buf(u), view: permuted(view, &order) },
                                    }
                                }
                                ExprOp::Index { view } => ExprOp::Index { view: permuted(view, &order) },
                                other => other.clone(),
                            };
                            Expr { op, dtype: e.dtype }
                        })
                        .collect();
                    let action = match it.reduce {
                        Some((op, _)) => {
                            let store = needs[it.node.index()].then(|| (buf(it.node), permuted(&slot_view(&domain, &axes), &order)));
                            Action::Reduce { op, value: it.root, store }
                        }
                        None => Action::Store(vec![StoreTo { buffer: buf(it.node), view: permuted(&View::contiguous(&domain), &order), value: it.root }]),
                    };
                    stages.push(Stage { exprs, action });
                }
                let domain = order.iter().map(|&a| domain[a]).collect();
                out_kernels.push(Kernel::Loop(LoopKernel { domain, outer, stages }));
            }
        }
    }

    KernelProgram {
        name: graph.name.clone(),
        params: params.iter().map(|&(_, id)| buf(id)).collect(),
        outputs: graph.outputs.iter().map(|&o| buf(o)).collect(),
        buffers,
        kernels: out_kernels,
        arena_bytes: 0,
        donated: Vec::new(),
    }
}

/// Fuse a verified graph into a kernel program (buffer offsets not yet planned) whose
/// kernels keep within `limits`.
pub fn fuse(graph: &Graph, limits: &Limits) -> KernelProgram {
    let live = live_nodes(graph);
    let mut mat = initial_materialized(graph, &live);
    split_for_limits(graph, &live, &mut mat, limits);
    loop {
        match build_items(graph, &live, &mat) {
            Ok((items, calls)) => {
                let kernels = group(items, &calls, limits);
                match shared_expensive(&kernels) {
                    Some(node) => mat[node.index()] = true,
                    None => return assemble(graph, &live, kernels),
                }
            }
            // Each retry materialises one more node, so this terminates.
            Err(node) => mat[node.index()] = true,
        }
    }
}
