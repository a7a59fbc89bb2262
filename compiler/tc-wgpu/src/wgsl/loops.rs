//! Loop kernels as compute shaders.
//!
//! - **Pointwise** (no reduce stage): one invocation per domain point, 256 per
//!   workgroup, the workgroups on a 2D grid when there are more than 65535. Each
//!   invocation evaluates the expression DAG at its point and stores; consecutive
//!   invocations touch consecutive elements of contiguous views, so loads and stores
//!   coalesce across the workgroup.
//!
//!   **Vectorised** when four consecutive points along the innermost axis are one
//!   aligned `vec4` of every buffer they touch: each invocation then runs four points
//!   (a quarter of the invocations), loads each contiguous operand once as a `vec4`
//!   and each broadcast operand once as a scalar, evaluates the scalar expression code
//!   per lane (in its own block) and stores one `vec4` per target. Eligible when no
//!   value is f16 (or i64/f64/bf16), the innermost extent is a positive multiple of 4,
//!   and every store and load view has innermost stride 1 with its offset and other
//!   strides multiples of 4 — or, for a load, innermost stride 0 (a broadcast: one
//!   scalar load shared by the four lanes). Buffers accessed contiguously are bound as
//!   `array<vec4<T>>`, so each needs a length that is a multiple of 4, the same element
//!   type as the binding it is accessed through (in place), and no broadcast load
//!   through that binding; broadcast-only buffers stay scalar bindings. Any other
//!   kernel takes the scalar path. Results are those of the scalar path exactly.
//! - **Row kernels** (reduce stages, slots), by the size of the inner space:
//!   - large (more than [`THREAD_ROW_MAX`] points): one workgroup per outer point. Its
//!     256 invocations stride over the inner space, each folding its points
//!     sequentially; a tree reduction in workgroup memory then combines the 256
//!     partial results pairwise, and after a barrier every invocation reads the slot.
//!     A store stage gives each inner point to the same invocation in every stage, so
//!     values an earlier stage stored (and in-place updates) are read by the thread
//!     that wrote them.
//!   - small: one invocation per outer point, running the stages one after another
//!     over its row (no workgroup memory, no barriers).
//!
//!   An invocation whose loops would run more than [`LOOP_BUDGET`] iterations (rows of
//!   millions of points) runs several points per iteration instead.
//!
//! A full reduction to a scalar is the single-row case: one workgroup striding over
//! everything (a split reduction would need scratch memory from the runtime).
//!
//! Float sums and products accumulate in f32 (the interpreter uses f64 and rounds
//! once), sequentially per invocation and then in a binary tree, so results differ from
//! the interpreter's by rounding: about √n · 2⁻²⁴ relative for well-conditioned sums of
//! n terms. An f16 reduction accumulates in f32 and rounds to f16 once. Max and min
//! propagate NaN exactly; integer reductions wrap exactly as the interpreter's; on bool,
//! sum and max are `or`, prod and min are `and`.

use super::expr::{affine, emit_exprs, f32_lit, i32_lit, store, to_storage, val_of, Env, Lane, Val};
use super::math::Helper;
use super::{check_count, check_view, device_elem, grid, unflatten, CodegenError, Shader, ShaderKernel, WG};
use tc_ir::ReduceOp;
use tc_kernel::{Action, BufferId, ExprOp, LoopKernel, Stage, View};
use tc_tensor::DType;

/// Rows with at most this many inner points are reduced by one invocation each.
pub const THREAD_ROW_MAX: u64 = 64;

/// The most loop iterations a row kernel's invocation runs over its stages: Mesa's
/// llvmpipe ends an invocation's loops after 65,535 iterations in all (a sum of 17.9
/// million ones returned 131,070), so the loops over longer rows run several points per
/// iteration instead.
const LOOP_BUDGET: u64 = 60_000;

pub fn generate(mut sh: Shader, index: usize, k: &LoopKernel) -> Result<ShaderKernel, CodegenError> {
    let total = check_count(&k.domain)?;
    let vars: Vec<String> = (0..k.domain.len()).map(|d| format!("i{d}")).collect();
    let has_reduce = k.stages.iter().any(|s| matches!(s.action, Action::Reduce { .. }));
    if !has_reduce {
        return pointwise(sh, index, k, total, &vars);
    }
    let rows = check_count(&k.domain[..k.outer])?;
    let inner = check_count(&k.domain[k.outer..])?;
    let slots: Vec<String> = (0..k.stages.len()).map(|s| format!("slot{s}")).collect();
    let mut decls = String::new();
    let mut body = String::new();
    let per_thread = inner <= THREAD_ROW_MAX;
    let (workgroups, wg) = grid(if per_thread { rows.div_ceil(WG as u64) } else { rows })?;
    let row = if per_thread { format!("{wg} * {WG}u + lid") } else { wg };
    body.push_str(&format!("    let row = {row};\n    if (row >= {rows}u) {{\n        return;\n    }}\n"));
    body.push_str(&unflatten("row", &k.domain[..k.outer], &vars[..k.outer], "    "));
    for (s, stage) in k.stages.iter().enumerate() {
        if let Action::Reduce { value, .. } = &stage.action {
            let v = val_of(&stage.exprs[value.index()])?;
            body.push_str(&format!("    var {}: {};\n", slots[s], v.ty()));
        }
    }
    let env = Env { domain: &k.domain, vars: &vars, slots: &slots, lane: None };
    let (first, step) = if per_thread { ("0u".to_string(), "1u".to_string()) } else { ("lid".to_string(), format!("{WG}u")) };
    // Loop iterations of one invocation over all stages, and the copies of the loop body
    // that keep them within the loop budget.
    let iterations = if per_thread { inner } else { inner.div_ceil(WG as u64) } * k.stages.len() as u64;
    let copies = iterations.div_ceil(LOOP_BUDGET).max(1);
    let inner_loop = |sh: &mut Shader, stage: &Stage, tail: &str, body: &mut String| -> Result<(), CodegenError> {
        if copies == 1 {
            body.push_str(&format!("        for (var p: u32 = {first}; p < {inner}u; p = p + {step}) {{\n"));
            body.push_str(&unflatten("p", &k.domain[k.outer..], &vars[k.outer..], "            "));
            emit_exprs(sh, stage, &env, "            ", body)?;
            body.push_str(tail);
            body.push_str("        }\n");
            return Ok(());
        }
        // `copies` consecutive strides per iteration, each point in its own block.
        body.push_str(&format!("        for (var p0: u32 = {first}; p0 < {inner}u; p0 = p0 + {}u) {{\n", copies * WG as u64));
        for c in 0..copies {
            body.push_str(&format!("          {{\n            let p = p0 + {}u;\n            if (p < {inner}u) {{\n", c * WG as u64));
            body.push_str(&unflatten("p", &k.domain[k.outer..], &vars[k.outer..], "            "));
            emit_exprs(sh, stage, &env, "            ", body)?;
            body.push_str(tail);
            body.push_str("            }\n          }\n");
        }
        body.push_str("        }\n");
        Ok(())
    };
    for (s, stage) in k.stages.iter().enumerate() {
        body.push_str(&format!("    // stage {s}\n    {{\n"));
        match &stage.action {
            Action::Store(_) => {
                let tail = stores(&mut sh, stage, &env, "            ")?;
                inner_loop(&mut sh, stage, &tail, &mut body)?;
            }
            Action::Reduce { op, value, store: target } => {
                let v = val_of(&stage.exprs[value.index()])?;
                let init = init(&mut sh, *op, v, inner == 0);
                body.push_str(&format!("        var acc: {} = {init};\n", v.ty()));
                let tail = format!("            acc = {};\n", combine(&mut sh, *op, v, "acc", &format!("e{}", value.0)));
                inner_loop(&mut sh, stage, &tail, &mut body)?;
                let result = if per_thread {
                    "acc".to_string()
                } else {
                    let (red, to_shared, from_shared) = shared(v);
                    if !decls.contains(&format!("var<workgroup> {red}:")) {
                        decls.push_str(&format!("var<workgroup> {red}: array<{}, {WG}>;\n", shared_ty(v)));
                    }
                    let pair = shared_combine(&mut sh, *op, v, &format!("{red}[lid]"), &format!("{red}[lid + s]"));
                    body.push_str(&format!(
                        "        {red}[lid] = {};\n        workgroupBarrier();\n        for (var s: u32 = {}u; s > 0u; s = s >> 1u) {{\n            if (lid < s) {{\n                {red}[lid] = {pair};\n            }}\n            workgroupBarrier();\n        }}\n",
                        to_shared.replace('#', "acc"),
                        WG / 2
                    ));
                    from_shared.replace('#', &format!("{red}[0]"))
                };
                body.push_str(&format!("        {} = {};\n", slots[s], finalize(&mut sh, v, &result)));
                if !per_thread {
                    // Nobody overwrites the tree before everyone has read the slot.
                    body.push_str("        workgroupBarrier();\n");
                }
                if let Some((buffer, view)) = target {
                    check_view(view, &k.domain)?;
                    let st = store(&mut sh, *buffer, &affine(view, &vars), &slots[s]);
                    if per_thread {
                        body.push_str(&format!("        {st}\n"));
                    } else {
                        body.push_str(&format!("        if (lid == 0u) {{\n            {st}\n        }}\n"));
                    }
                }
            }
        }
        body.push_str("    }\n");
    }
    let label = format!("k{index}_{}", if per_thread { "rows" } else { "row_groups" });
    sh.finish(label, WG, workgroups, &decls, &body)
}

/// One invocation per point of an elementwise kernel (four when vectorised).
fn pointwise(mut sh: Shader, index: usize, k: &LoopKernel, total: u64, vars: &[String]) -> Result<ShaderKernel, CodegenError> {
    if let Some(roots) = vec4_roots(&sh, k) {
        sh.vec4 = roots;
        return pointwise_vec4(sh, index, k, total, vars);
    }
    let (workgroups, wg) = grid(total.div_ceil(WG as u64))?;
    let env = Env { domain: &k.domain, vars, slots: &[], lane: None };
    let mut body = format!("    let p = {wg} * {WG}u + lid;\n    if (p >= {total}u) {{\n        return;\n    }}\n");
    body.push_str(&unflatten("p", &k.domain, vars, "    "));
    for stage in &k.stages {
        emit_exprs(&mut sh, stage, &env, "    ", &mut body)?;
        body.push_str(&stores(&mut sh, stage, &env, "    ")?);
    }
    sh.finish(format!("k{index}_loop"), WG, workgroups, "", &body)
}

/// The bindings of a pointwise kernel to declare as `vec4` arrays, when it is eligible
/// for the vectorised path (see the module docs).
fn vec4_roots(sh: &Shader, k: &LoopKernel) -> Option<Vec<BufferId>> {
    let (&n, outer) = k.domain.split_last()?;
    if n == 0 || !n.is_multiple_of(4) {
        return None;
    }
    let aligned = |v: &View| v.strides[outer.len()] == 1 && v.offset % 4 == 0 && v.strides[..outer.len()].iter().all(|s| s % 4 == 0);
    // A buffer accessed as a vec4 through root binding `root`, if that binding can be one.
    let vec_root = |b: BufferId| {
        let root = sh.root(b);
        let elem = device_elem(sh.program.buffer(b).ty.dtype, sh.features).ok()?;
        let root_buf = sh.program.buffer(root);
        let same = device_elem(root_buf.ty.dtype, sh.features).ok()? == elem;
        (same && elem.size_bytes() == 4 && root_buf.ty.num_elements().is_multiple_of(4)).then_some(root)
    };
    let (mut vec, mut scalar) = (Vec::new(), Vec::new());
    for stage in &k.stages {
        for e in &stage.exprs {
            if !matches!(e.op, ExprOp::Index { .. }) && !matches!(e.dtype, DType::F32 | DType::I32 | DType::U8 | DType::Bool) {
                return None;
            }
            if let ExprOp::Load { buffer, view } = &e.op {
                if view.strides[outer.len()] == 0 {
                    scalar.push(sh.root(*buffer));
                } else if aligned(view) {
                    vec.push(vec_root(*buffer)?);
                } else {
                    return None;
                }
            }
        }
        if let Action::Store(targets) = &stage.action {
            for t in targets {
                if !aligned(&t.view) {
                    return None;
                }
                vec.push(vec_root(t.buffer)?);
            }
        }
    }
    if vec.iter().any(|b| scalar.contains(b)) {
        return None;
    }
    vec.sort();
    vec.dedup();
    Some(vec)
}

/// `view`'s index in a `vec4` array: element offset and outer strides divided by 4, the
/// innermost stride (1) now per group of four.
fn quad_view(view: &View) -> View {
    let mut strides: Vec<isize> = view.strides.iter().map(|s| s / 4).collect();
    *strides.last_mut().unwrap() = 1;
    View { offset: view.offset / 4, strides }
}

/// Four consecutive points per invocation of an eligible elementwise kernel: `q` is the
/// group of four along the innermost axis, and lane `l`'s innermost index is `4q + l`.
fn pointwise_vec4(mut sh: Shader, index: usize, k: &LoopKernel, total: u64, vars: &[String]) -> Result<ShaderKernel, CodegenError> {
    let quads = total / 4;
    let last = k.domain.len() - 1;
    let (workgroups, wg) = grid(quads.div_ceil(WG as u64))?;
    let mut shape = k.domain.clone();
    shape[last] /= 4;
    let mut qvars = vars.to_vec();
    qvars[last] = "q".into();
    let mut body = format!("    let p = {wg} * {WG}u + lid;\n    if (p >= {quads}u) {{\n        return;\n    }}\n");
    body.push_str(&unflatten("p", &shape, &qvars, "    "));
    let (mut loads, mut results) = (0, 0);
    for stage in &k.stages {
        let mut loaded: Vec<(BufferId, View, String)> = Vec::new();
        for e in &stage.exprs {
            if let ExprOp::Load { buffer, view } = &e.op {
                if !loaded.iter().any(|(b, v, _)| b == buffer && v == view) {
                    check_view(view, &k.domain)?;
                    let name = format!("v{loads}");
                    loads += 1;
                    // A broadcast's index does not involve the innermost axis.
                    let index = if view.strides[last] == 0 { affine(view, &qvars) } else { affine(&quad_view(view), &qvars) };
                    body.push_str(&format!("    let {name} = {}[{index}];\n", sh.name(*buffer)));
                    loaded.push((*buffer, view.clone(), name));
                }
            }
        }
        let targets = match &stage.action {
            Action::Store(targets) => targets.as_slice(),
            Action::Reduce { .. } => &[],
        };
        // The vec4 each target's lanes are gathered in.
        let mut result = Vec::new();
        for t in targets {
            let elem = device_elem(sh.program.buffer(t.buffer).ty.dtype, sh.features)?;
            result.push(format!("r{results}"));
            results += 1;
            body.push_str(&format!("    var {}: vec4<{}>;\n", result.last().unwrap(), elem.wgsl()));
        }
        let uses_index = stage.exprs.iter().any(|e| matches!(&e.op, ExprOp::Index { view } if view.strides[last] != 0));
        for lane in 0..4 {
            body.push_str("    {\n");
            if uses_index {
                body.push_str(&format!("        let {} = 4i * q + {lane}i;\n", vars[last]));
            }
            let env = Env { domain: &k.domain, vars, slots: &[], lane: Some(Lane { index: lane, loaded: &loaded }) };
            emit_exprs(&mut sh, stage, &env, "        ", &mut body)?;
            for (t, r) in targets.iter().zip(&result) {
                let c = &"xyzw"[lane..lane + 1];
                body.push_str(&format!("        {r}.{c} = {};\n", to_storage(sh.program.buffer(t.buffer).ty.dtype, &format!("e{}", t.value.0))));
            }
            body.push_str("    }\n");
        }
        for (t, r) in targets.iter().zip(&result) {
            check_view(&t.view, &k.domain)?;
            body.push_str(&format!("    {}[{}] = {r};\n", sh.name(t.buffer), affine(&quad_view(&t.view), &qvars)));
        }
    }
    sh.finish(format!("k{index}_loop_vec4"), WG, workgroups, "", &body)
}

/// The store statements of a store stage.
fn stores(sh: &mut Shader, stage: &Stage, env: &Env, indent: &str) -> Result<String, CodegenError> {
    let mut out = String::new();
    if let Action::Store(targets) = &stage.action {
        for t in targets {
            check_view(&t.view, env.domain)?;
            out.push_str(&format!("{indent}{}\n", store(sh, t.buffer, &affine(&t.view, env.vars), &format!("e{}", t.value.0))));
        }
    }
    Ok(out)
}

/// The identity of `op` on class `v` (an empty float sum is +0, a non-empty one starts
/// at -0, the exact identity of addition).
fn init(sh: &mut Shader, op: ReduceOp, v: Val, empty: bool) -> String {
    let h = &mut sh.helpers;
    match (v, op) {
        (Val::F { .. }, ReduceOp::Sum) => f32_lit(if empty { 0.0 } else { -0.0 }, h),
        (Val::F { .. }, ReduceOp::Prod) => f32_lit(1.0, h),
        (Val::F { .. }, ReduceOp::Max) => f32_lit(f64::NEG_INFINITY, h),
        (Val::F { .. }, ReduceOp::Min) => f32_lit(f64::INFINITY, h),
        (Val::I, ReduceOp::Sum) => i32_lit(0),
        (Val::I, ReduceOp::Prod) => i32_lit(1),
        (Val::I, ReduceOp::Max) => i32_lit(i32::MIN as i64),
        (Val::I, ReduceOp::Min) => i32_lit(i32::MAX as i64),
        (Val::U8, ReduceOp::Sum | ReduceOp::Max) => "0u".into(),
        (Val::U8, ReduceOp::Prod) => "1u".into(),
        (Val::U8, ReduceOp::Min) => "255u".into(),
        (Val::B, ReduceOp::Sum | ReduceOp::Max) => "false".into(),
        (Val::B, ReduceOp::Prod | ReduceOp::Min) => "true".into(),
    }
}

/// `a ⊕ b` in registers of class `v` (u8 wraps modulo 2^32 here and is masked once by
/// [`finalize`], which is the same modulo 256).
pub fn combine(sh: &mut Shader, op: ReduceOp, v: Val, a: &str, b: &str) -> String {
    match (v, op) {
        (Val::F { .. }, ReduceOp::Max) => {
            sh.helpers.need(Helper::MaxNan);
            format!("max_nan({a}, {b})")
        }
        (Val::F { .. }, ReduceOp::Min) => {
            sh.helpers.need(Helper::MinNan);
            format!("min_nan({a}, {b})")
        }
        (Val::I | Val::U8, ReduceOp::Max) => format!("max({a}, {b})"),
        (Val::I | Val::U8, ReduceOp::Min) => format!("min({a}, {b})"),
        (Val::B, ReduceOp::Sum | ReduceOp::Max) => format!("({a} || {b})"),
        (Val::B, ReduceOp::Prod | ReduceOp::Min) => format!("({a} && {b})"),
        (_, ReduceOp::Sum) => format!("({a} + {b})"),
        (_, ReduceOp::Prod) => format!("({a} * {b})"),
    }
}

/// [`combine`] on workgroup memory, where bools are u32 0 or 1.
fn shared_combine(sh: &mut Shader, op: ReduceOp, v: Val, a: &str, b: &str) -> String {
    match (v, op) {
        (Val::B, ReduceOp::Sum | ReduceOp::Max) => format!("({a} | {b})"),
        (Val::B, ReduceOp::Prod | ReduceOp::Min) => format!("({a} & {b})"),
        _ => combine(sh, op, v, a, b),
    }
}

fn shared_ty(v: Val) -> &'static str {
    match v {
        Val::B => "u32",
        v => v.ty(),
    }
}

/// The workgroup array of class `v`, and the conversions of a register (`#`) into and
/// out of it.
fn shared(v: Val) -> (String, &'static str, &'static str) {
    match v {
        Val::B => ("red_bool".into(), "select(0u, 1u, #)", "(# != 0u)"),
        v => (format!("red_{}", v.ty()), "#", "#"),
    }
}

/// The reduction's result from its accumulator: u8 wrapped, f16 rounded once.
fn finalize(sh: &mut Shader, v: Val, acc: &str) -> String {
    match v {
        Val::U8 => format!("({acc} & 255u)"),
        Val::F { half: true } => {
            sh.helpers.need(Helper::Q16);
            format!("q16({acc})")
        }
        _ => acc.to_string(),
    }
}
