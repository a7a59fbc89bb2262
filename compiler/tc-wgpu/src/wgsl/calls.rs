//! Library calls other than the products ([`super::gemm`]): each is one invocation per
//! output element (no atomics, so every result is deterministic and summed in the
//! interpreter's order).
//!
//! - `pad`, `concat`, `gather` copy elements in their storage form, exactly;
//! - `scatter_add` loops, per output element, over the indices and adds the updates
//!   that land on it (cost: output size × index count; no atomics, which WGSL has only
//!   for 32-bit integers); from 4,096 indices on, a workgroup per output element shares
//!   the indices out and sums its partial results in a tree;
//! - `pool` folds each window; `pool_grad` visits, per input element, the windows that
//!   contain it (max: recomputing each window's maximum and its number of ties, so the
//!   gradient is shared equally among ties as the interpreter does);
//! - `argreduce` scans its axis: first extreme wins, the first NaN wins over everything;
//! - `argsort` ranks each element by counting the elements of its row that sort before
//!   it (cost: row length² per row; fine for rows of thousands, slow for longer ones) and
//!   writes its index at that rank;
//! - `random` is Philox-4x32-10 on 32-bit words, bit-exact with the interpreter; the
//!   uniform value `(x0 >> 8) · 2⁻²⁴` is exact in f32, a normal value is Box–Muller in
//!   f32 (the interpreter's f64 formula, to a few ulp of f32). A constant seed is baked
//!   into the shader, so a seed of dtype i64 (the type of weak literal seeds) needs no
//!   device buffer.
//!
//! Float sums (average pooling, pooling gradients, scatter-add) accumulate in f32 where
//! the interpreter uses f64.

use super::expr::{f32_lit, load, quantize, store, Val};
use super::math::Helper;
use super::{check_count, gemm, grid, CodegenError, Shader, ShaderKernel, WG};
use tc_ir::{ArgOp, Dist, Op, PoolKind};
use tc_kernel::math::Func;
use tc_kernel::{BufferId, BufferKind, CallKernel};
use tc_tensor::DType;

pub fn generate(sh: Shader, index: usize, c: &CallKernel) -> Result<ShaderKernel, CodegenError> {
    for &b in c.inputs.iter().chain([&c.output]) {
        check_count(&sh.program.buffer(b).ty.shape)?;
    }
    match &c.op {
        Op::MatMul => gemm::matmul(sh, index, c),
        Op::Conv2d { stride, pad, dilation } => gemm::conv2d(sh, index, c, *stride, *pad, *dilation),
        Op::Pool { kind, size, stride } => pool(sh, index, c, *kind, *size, *stride),
        Op::PoolGrad { kind, size, stride } => pool_grad(sh, index, c, *kind, *size, *stride),
        Op::Gather { axis } => gather(sh, index, c, *axis),
        Op::ScatterAdd { axis } => scatter_add(sh, index, c, *axis),
        Op::Pad { lo, hi } => pad(sh, index, c, lo, hi),
        Op::Concat { axis } => concat(sh, index, c, *axis),
        Op::ArgReduce { op, axis } => arg_reduce(sh, index, c, *op, *axis),
        Op::ArgSort { axis, descending } => arg_sort(sh, index, c, *axis, *descending),
        Op::Random(dist) => random(sh, index, c, *dist),
        op => Err(CodegenError::Unsupported(format!("the library call {}", op.mnemonic()))),
    }
}

fn shape(sh: &Shader, b: BufferId) -> Vec<usize> {
    sh.program.buffer(b).ty.shape.clone()
}

fn dtype(sh: &Shader, b: BufferId) -> DType {
    sh.program.buffer(b).ty.dtype
}

/// A kernel with one invocation per output element: `body` runs with `p`, the element's
/// flat index (u32), in scope.
fn per_element(sh: Shader, label: String, total: usize, body: &str) -> Result<ShaderKernel, CodegenError> {
    let (workgroups, wg) = grid((total as u64).div_ceil(WG as u64))?;
    let text = format!("    let p = {wg} * {WG}u + lid;\n    if (p >= {total}u) {{\n        return;\n    }}\n{body}");
    sh.finish(label, WG, workgroups, "", &text)
}

/// `(outer, middle, inner)` coordinates of `p` over `[outer, middle, inner]`.
fn split3(middle: usize, inner: usize) -> String {
    let (m, i) = (middle.max(1), inner.max(1));
    format!("    let o = p / {}u;\n    let t = (p / {i}u) % {m}u;\n    let q = p % {i}u;\n", m * i)
}

/// The index `t` of integer buffer `idx`, counted from the end if negative and clamped
/// into `[0, size - 1]`, as a u32 `name`.
fn normalized_index(sh: &mut Shader, idx: BufferId, size: usize, name: &str) -> String {
    let raw = load(sh, idx, "t");
    let raw = match dtype(sh, idx) {
        DType::I32 => raw,
        _ => format!("i32({raw})"),
    };
    format!("    var {name}_i: i32 = {raw};\n    if ({name}_i < 0i) {{\n        {name}_i = {name}_i + {size}i;\n    }}\n    let {name} = u32(clamp({name}_i, 0i, {}i));\n", size.max(1) - 1)
}

fn gather(mut sh: Shader, index: usize, c: &CallKernel, axis: usize) -> Result<ShaderKernel, CodegenError> {
    let xs = shape(&sh, c.inputs[0]);
    let nidx: usize = shape(&sh, c.inputs[1]).iter().product();
    let size = xs[axis];
    let inner: usize = xs[axis + 1..].iter().product();
    let total: usize = shape(&sh, c.output).iter().product();
    let mut body = split3(nidx, inner);
    body.push_str(&normalized_index(&mut sh, c.inputs[1], size, "at"));
    let (x, out) = (sh.name(c.inputs[0]), sh.name(c.output));
    body.push_str(&format!("    {out}[p] = {x}[(o * {size}u + at) * {inner}u + q];\n"));
    per_element(sh, format!("k{index}_gather"), total, &body)
}

fn scatter_add(mut sh: Shader, index: usize, c: &CallKernel, axis: usize) -> Result<ShaderKernel, CodegenError> {
    let os = shape(&sh, c.output);
    let nidx: usize = shape(&sh, c.inputs[0]).iter().product();
    let size = os[axis];
    let inner: usize = os[axis + 1..].iter().product();
    let total: usize = os.iter().product();
    let v = Val::of(dtype(&sh, c.output))?;
    // scatter_add is on numbers.
    let zero = match v {
        Val::F { .. } => f32_lit(0.0, &mut sh.helpers),
        Val::U8 => "0u".into(),
        _ => "0i".into(),
    };
    if nidx >= SCATTER_GROUP_MIN {
        return scatter_add_groups(sh, index, c, v, &zero, [nidx, size, inner, total]);
    }
    // This element is (o, along, q); `t` walks the indices.
    let at = normalized_index(&mut sh, c.inputs[0], size, "at").replace("\n    ", "\n        ");
    let u = load(&mut sh, c.inputs[1], &format!("(o * {nidx}u + t) * {inner}u + q"));
    let result = match v {
        Val::U8 => "(acc & 255u)".to_string(),
        _ => quantize(v, "acc".into(), &mut sh.helpers),
    };
    let st = store(&mut sh, c.output, "p", &result);
    let (sz, inn) = (size.max(1), inner.max(1));
    let body = format!(
        "    let o = p / {}u;
    let along = (p / {inn}u) % {sz}u;
    let q = p % {inn}u;
    var acc: {} = {zero};
    for (var t: u32 = 0u; t < {nidx}u; t = t + 1u) {{
    {at}        if (at == along) {{
            let u = {u};
            acc = acc + u;
        }}
    }}
    {st}
",
        sz * inn,
        v.ty()
    );
    per_element(sh, format!("k{index}_scatter_add"), total, &body)
}

/// Index lists at least this long are scattered by a workgroup per output element.
const SCATTER_GROUP_MIN: usize = 4096;

/// [`scatter_add`] of a long index list: one workgroup per output element, each
/// invocation summing the updates of every [`WG`]th index, then a tree over the
/// workgroup's partial sums; no invocation loops more than `nidx / WG` times (Mesa's
/// llvmpipe ends an invocation's loops after 65,535 iterations in all).
fn scatter_add_groups(mut sh: Shader, index: usize, c: &CallKernel, v: Val, zero: &str, [nidx, size, inner, total]: [usize; 4]) -> Result<ShaderKernel, CodegenError> {
    let (workgroups, wg) = grid(total as u64)?;
    let at = normalized_index(&mut sh, c.inputs[0], size, "at").replace("\n    ", "\n        ");
    let u = load(&mut sh, c.inputs[1], &format!("(o * {nidx}u + t) * {inner}u + q"));
    let result = match v {
        Val::U8 => "(partial[0] & 255u)".to_string(),
        _ => quantize(v, "partial[0]".into(), &mut sh.helpers),
    };
    let st = store(&mut sh, c.output, "p", &result);
    let (sz, inn) = (size.max(1), inner.max(1));
    let ty = v.ty();
    let decls = format!("var<workgroup> partial: array<{ty}, {WG}>;\n");
    let body = format!(
        "    let p = {wg};
    if (p >= {total}u) {{
        return;
    }}
    let o = p / {}u;
    let along = (p / {inn}u) % {sz}u;
    let q = p % {inn}u;
    var acc: {ty} = {zero};
    for (var t: u32 = lid; t < {nidx}u; t = t + {WG}u) {{
    {at}        if (at == along) {{
            acc = acc + {u};
        }}
    }}
    partial[lid] = acc;
    workgroupBarrier();
    for (var s: u32 = {half}u; s > 0u; s = s >> 1u) {{
        if (lid < s) {{
            partial[lid] = partial[lid] + partial[lid + s];
        }}
        workgroupBarrier();
    }}
    if (lid == 0u) {{
        {st}
    }}
",
        sz * inn,
        half = WG / 2,
    );
    sh.finish(format!("k{index}_scatter_add_groups"), WG, workgroups, &decls, &body)
}

fn pad(mut sh: Shader, index: usize, c: &CallKernel, lo: &[usize], hi: &[usize]) -> Result<ShaderKernel, CodegenError> {
    let xs = shape(&sh, c.inputs[0]);
    let os: Vec<usize> = (0..xs.len()).map(|a| lo[a] + xs[a] + hi[a]).collect();
    let total: usize = os.iter().product();
    let mut body = String::from("    var inside = true;\n    var src: i32 = 0i;\n");
    let mut inner = 1usize;
    let mut coords = String::new();
    for a in (0..os.len()).rev() {
        coords = format!(
            "    let c{a} = i32((p / {inner}u) % {}u) - {}i;\n    inside = inside && c{a} >= 0i && c{a} < {}i;\n{coords}",
            os[a].max(1),
            lo[a],
            xs[a]
        );
        inner *= os[a].max(1);
    }
    body.push_str(&coords);
    for (a, &n) in xs.iter().enumerate() {
        body.push_str(&format!("    src = src * {n}i + c{a};\n"));
    }
    let (x, value, out) = (sh.name(c.inputs[0]), sh.name(c.inputs[1]), sh.name(c.output));
    body.push_str(&format!("    if (inside) {{\n        {out}[p] = {x}[src];\n    }} else {{\n        {out}[p] = {value}[0];\n    }}\n"));
    per_element(sh, format!("k{index}_pad"), total, &body)
}

fn concat(mut sh: Shader, index: usize, c: &CallKernel, axis: usize) -> Result<ShaderKernel, CodegenError> {
    let os = shape(&sh, c.output);
    let along = os[axis];
    let inner: usize = os[axis + 1..].iter().product();
    let total: usize = os.iter().product();
    let mut body = split3(along, inner);
    let out = sh.name(c.output);
    let mut start = 0usize;
    let mut first = true;
    for &part in &c.inputs {
        let size = shape(&sh, part)[axis];
        if size == 0 {
            continue;
        }
        let x = sh.name(part);
        let cond = format!("t < {}u", start + size);
        let copy = format!("{out}[p] = {x}[(o * {size}u + t - {start}u) * {inner}u + q];");
        body.push_str(&format!("    {}if ({cond}) {{\n        {copy}\n    }}", if first { "" } else { " else " }));
        first = false;
        start += size;
    }
    body.push('\n');
    per_element(sh, format!("k{index}_concat"), total, &body)
}

/// Axes at least this long are arg-reduced by a workgroup per result, not an invocation.
const ARG_REDUCE_GROUP_MIN: usize = 4096;

fn arg_reduce(mut sh: Shader, index: usize, c: &CallKernel, op: ArgOp, axis: usize) -> Result<ShaderKernel, CodegenError> {
    let xs = shape(&sh, c.inputs[0]);
    let len = xs[axis];
    let inner: usize = xs[axis + 1..].iter().product();
    let total: usize = shape(&sh, c.output).iter().product();
    let v = Val::of(dtype(&sh, c.inputs[0]))?;
    if len >= ARG_REDUCE_GROUP_MIN {
        return arg_reduce_groups(sh, index, c, op, v, [len, inner, total]);
    }
    let cmp = if op == ArgOp::ArgMax { ">" } else { "<" };
    let at = |sh: &mut Shader, j: &str| {
        let x = load(sh, c.inputs[0], &format!("(o * {len}u + {j}) * {inner}u + q"));
        match v {
            Val::B => format!("select(0u, 1u, {x})"),
            _ => x,
        }
    };
    let (first, next) = (at(&mut sh, "0u"), at(&mut sh, "j"));
    let mut body = format!("    let o = p / {inn}u;\n    let q = p % {inn}u;\n", inn = inner.max(1));
    let nan_first = matches!(v, Val::F { .. });
    if nan_first {
        sh.helpers.need(Helper::IsNan);
    }
    body.push_str(&format!("    var best = {first};\n    var best_j = 0u;\n"));
    let (open, close) = if nan_first { ("    if (!is_nan(best)) {\n", "    }\n") } else { ("", "") };
    body.push_str(open);
    body.push_str(&format!("    for (var j: u32 = 1u; j < {len}u; j = j + 1u) {{\n        let a = {next};\n"));
    if nan_first {
        body.push_str("        if (is_nan(a)) {\n            best_j = j;\n            break;\n        }\n");
    }
    body.push_str(&format!("        if (a {cmp} best) {{\n            best = a;\n            best_j = j;\n        }}\n    }}\n"));
    body.push_str(close);
    let st = store(&mut sh, c.output, "p", "i32(best_j)");
    body.push_str(&format!("    {st}\n"));
    per_element(sh, format!("k{index}_argreduce"), total, &body)
}

/// The stable sorting permutation along `axis`: each invocation takes one element, counts
/// the elements of its row that come before it (smaller, or larger when `descending`;
/// equal ones at a lower index; NaN after every number) and writes the element's index
/// at that rank. The ranks of a row are a permutation, so every output is written once.
fn arg_sort(mut sh: Shader, index: usize, c: &CallKernel, axis: usize, descending: bool) -> Result<ShaderKernel, CodegenError> {
    let xs = shape(&sh, c.inputs[0]);
    let len = xs[axis];
    // llvmpipe ends a shader's loops after 65,535 iterations in all.
    if len > 65_535 {
        return Err(CodegenError::Unsupported(format!("argsort of an axis of {len} elements (at most 65,535 on this backend)")));
    }
    let inner: usize = xs[axis + 1..].iter().product();
    let total: usize = xs.iter().product();
    let v = Val::of(dtype(&sh, c.inputs[0]))?;
    let a = load(&mut sh, c.inputs[0], &format!("(o * {len}u + j) * {inn}u + q", inn = inner.max(1)));
    let b = load(&mut sh, c.inputs[0], &format!("(o * {len}u + k) * {inn}u + q", inn = inner.max(1)));
    let cmp = if descending { ">" } else { "<" };
    let ordered = format!("b {cmp} a || (b == a && k < j)");
    let before = if matches!(v, Val::F { .. }) {
        sh.helpers.need(Helper::IsNan);
        format!("select(is_nan(a) || ({ordered}), is_nan(a) && k < j, is_nan(b))")
    } else {
        ordered
    };
    let st = store(&mut sh, c.output, &format!("(o * {len}u + rank) * {inn}u + q", inn = inner.max(1)), "i32(j)");
    let body = format!(
        "    let row = {len}u * {inn}u;
    let o = p / row;
    let j = (p % row) / {inn}u;
    let q = p % {inn}u;
    let a = {a};
    var rank = 0u;
    for (var k: u32 = 0u; k < {len}u; k = k + 1u) {{
        let b = {b};
        if ({before}) {{
            rank = rank + 1u;
        }}
    }}
    {st}
",
        inn = inner.max(1)
    );
    per_element(sh, format!("k{index}_argsort"), total, &body)
}

/// [`arg_reduce`] of a long axis: one workgroup per result, each invocation scanning every
/// [`WG`]th element, then a tree over the workgroup's (value, index) pairs. Besides being
/// parallel, no invocation loops more than `len / WG` times: Mesa's software Vulkan
/// driver (llvmpipe) silently ends a shader's loops after 65,535 iterations in all.
/// The pair that wins is the first NaN (floats), else the largest (smallest) value, ties
/// to the lower index: the interpreter's `argmax` (`argmin`).
fn arg_reduce_groups(mut sh: Shader, index: usize, c: &CallKernel, op: ArgOp, v: Val, [len, inner, total]: [usize; 3]) -> Result<ShaderKernel, CodegenError> {
    let (workgroups, wg) = grid(total as u64)?;
    let cmp = if op == ArgOp::ArgMax { ">" } else { "<" };
    let x = load(&mut sh, c.inputs[0], &format!("(o * {len}u + j) * {inner}u + q"));
    let (ty, x) = match v {
        Val::B => ("u32", format!("select(0u, 1u, {x})")),
        _ => (v.ty(), x),
    };
    let float = matches!(v, Val::F { .. });
    if float {
        sh.helpers.need(Helper::IsNan);
    }
    // Whether the pair (a, ja) beats (b, jb), both real pairs.
    let beats = |a: &str, ja: &str, b: &str, jb: &str| {
        let ordered = format!("{a} {cmp} {b} || ({a} == {b} && {ja} < {jb})");
        if float {
            format!("(is_nan({a}) && (!is_nan({b}) || {ja} < {jb})) || (!is_nan({a}) && !is_nan({b}) && ({ordered}))")
        } else {
            ordered
        }
    };
    let decls = format!("var<workgroup> arg_value: array<{ty}, {WG}>;\nvar<workgroup> arg_index: array<u32, {WG}>;\n");
    let scan = beats("a", "j", "best", "best_j");
    let pair = beats("arg_value[lid + s]", "arg_index[lid + s]", "arg_value[lid]", "arg_index[lid]");
    let st = store(&mut sh, c.output, "r", "i32(arg_index[0])");
    let body = format!(
        "    let r = {wg};
    if (r >= {total}u) {{
        return;
    }}
    let o = r / {inn}u;
    let q = r % {inn}u;
    // {none}: no element seen yet (an invocation past the axis's end).
    var best_j = {none}u;
    var best: {ty};
    for (var j: u32 = lid; j < {len}u; j = j + {WG}u) {{
        let a = {x};
        if (best_j == {none}u || {scan}) {{
            best = a;
            best_j = j;
        }}
    }}
    arg_value[lid] = best;
    arg_index[lid] = best_j;
    workgroupBarrier();
    for (var s: u32 = {half}u; s > 0u; s = s >> 1u) {{
        if (lid < s && arg_index[lid + s] != {none}u && (arg_index[lid] == {none}u || {pair})) {{
            arg_value[lid] = arg_value[lid + s];
            arg_index[lid] = arg_index[lid + s];
        }}
        workgroupBarrier();
    }}
    if (lid == 0u) {{
        {st}
    }}
",
        inn = inner.max(1),
        none = u32::MAX,
        half = WG / 2,
    );
    sh.finish(format!("k{index}_argreduce_groups"), WG, workgroups, &decls, &body)
}

/// The fold of a pooling window: initial value, step (`acc`, `v`), result. Max
/// pooling is on numbers, average pooling on floats.
fn pool_fold(sh: &mut Shader, kind: PoolKind, v: Val, count: usize) -> (String, String, String) {
    let h = &mut sh.helpers;
    match (v, kind) {
        (Val::F { .. }, PoolKind::Max) => {
            h.need(Helper::MaxNan);
            (f32_lit(f64::NEG_INFINITY, h), "max_nan(acc, v)".into(), "acc".into())
        }
        (_, PoolKind::Avg) => (f32_lit(0.0, h), "acc + v".into(), quantize(v, format!("(acc / {})", f32_lit(count as f64, h)), h)),
        (Val::U8, PoolKind::Max) => ("0u".into(), "max(acc, v)".into(), "acc".into()),
        (_, PoolKind::Max) => ("(-2147483647i - 1i)".into(), "max(acc, v)".into(), "acc".into()),
    }
}

fn pool(mut sh: Shader, index: usize, c: &CallKernel, kind: PoolKind, size: [usize; 2], stride: [usize; 2]) -> Result<ShaderKernel, CodegenError> {
    let xs = shape(&sh, c.inputs[0]);
    let os = shape(&sh, c.output);
    let (h, w, ho, wo) = (xs[2], xs[3], os[2], os[3]);
    let total: usize = os.iter().product();
    let v = Val::of(dtype(&sh, c.output))?;
    let (init, step, result) = pool_fold(&mut sh, kind, v, size[0] * size[1]);
    let x = load(&mut sh, c.inputs[0], &format!("base + r * {w}u + s"));
    let st = store(&mut sh, c.output, "p", &result);
    let body = format!(
        "    let plane = p / {howo}u;
    let i = (p / {wo1}u) % {ho1}u;
    let j = p % {wo1}u;
    let base = plane * {hw}u + i * {s0w}u + j * {s1}u;
    var acc: {ty} = {init};
    for (var r: u32 = 0u; r < {k0}u; r = r + 1u) {{
        for (var s: u32 = 0u; s < {k1}u; s = s + 1u) {{
            let v = {x};
            acc = {step};
        }}
    }}
    {st}
",
        howo = (ho * wo).max(1),
        wo1 = wo.max(1),
        ho1 = ho.max(1),
        hw = h * w,
        s0w = stride[0] * w,
        s1 = stride[1],
        ty = v.ty(),
        k0 = size[0],
        k1 = size[1],
    );
    per_element(sh, format!("k{index}_pool"), total, &body)
}

fn pool_grad(mut sh: Shader, index: usize, c: &CallKernel, kind: PoolKind, size: [usize; 2], stride: [usize; 2]) -> Result<ShaderKernel, CodegenError> {
    let xs = shape(&sh, c.inputs[0]);
    let ds = shape(&sh, c.inputs[1]);
    let (h, w, ho, wo) = (xs[2], xs[3], ds[2], ds[3]);
    let total: usize = xs.iter().product();
    let v = Val::of(dtype(&sh, c.output))?;
    let count = size[0] * size[1];
    let xv = load(&mut sh, c.inputs[0], "p");
    let d = load(&mut sh, c.inputs[1], &format!("plane * {}u + i * {wo}u + j", ho * wo));
    let wx = load(&mut sh, c.inputs[0], &format!("base + r * {w}u + s"));
    // The window's share for this element, given `d` (its dy) and, for max, whether
    // this element is one of the window's `ties` maxima.
    // pool_grad is on floats.
    sh.helpers.need(Helper::MaxNan);
    sh.helpers.need(Helper::IsNan);
    let window = match kind {
        PoolKind::Avg => format!("acc = acc + d / {};", f32_lit(count as f64, &mut sh.helpers)),
        PoolKind::Max => {
            let ninf = f32_lit(f64::NEG_INFINITY, &mut sh.helpers);
            let is_max = "select(wv == m, is_nan(wv), is_nan(m))";
            max_window(&wx, size, &ninf, "max_nan(m, wv)", is_max, &is_max.replace("wv", "xv"), "acc = acc + d / f32(ties);")
        }
    };
    let result = quantize(v, "acc".into(), &mut sh.helpers);
    let st = store(&mut sh, c.output, "p", &result);
    let body = format!(
        "    let plane = p / {hw}u;
    let y = (p / {w}u) % {h}u;
    let x = p % {w}u;
    let xv = {xv};
    let i_lo = select(0u, (y + 1u - {k0}u + {s0}u - 1u) / {s0}u, y + 1u > {k0}u);
    let j_lo = select(0u, (x + 1u - {k1}u + {s1}u - 1u) / {s1}u, x + 1u > {k1}u);
    let i_hi = min(y / {s0}u + 1u, {ho}u);
    let j_hi = min(x / {s1}u + 1u, {wo}u);
    var acc = {zero};
    for (var i: u32 = i_lo; i < i_hi; i = i + 1u) {{
        for (var j: u32 = j_lo; j < j_hi; j = j + 1u) {{
            let d = {d};
            let base = plane * {hw}u + i * {s0w}u + j * {s1}u;
            {window}
        }}
    }}
    {st}
",
        hw = (h * w).max(1),
        w = w.max(1),
        h = h.max(1),
        k0 = size[0],
        k1 = size[1],
        s0 = stride[0],
        s1 = stride[1],
        s0w = stride[0] * w,
        zero = f32_lit(0.0, &mut sh.helpers),
    );
    per_element(sh, format!("k{index}_pool_grad"), total, &body)
}

/// The statements of a max window of `size` in `pool_grad`: fold its maximum `m` from `init`
/// with `fold` (over `wv`, the element at `(r, s)` read by `wx`), count its `ties`
/// (elements satisfying `is_max`), and if this element (`xv`) is one (`self_max`),
/// run `share`.
fn max_window(wx: &str, size: [usize; 2], init: &str, fold: &str, is_max: &str, self_max: &str, share: &str) -> String {
    let loop_ = |stmt: &str| {
        format!(
            "for (var r: u32 = 0u; r < {}u; r = r + 1u) {{
                for (var s: u32 = 0u; s < {}u; s = s + 1u) {{
                    let wv = {wx};
                    {stmt}
                }}
            }}",
            size[0],
            size[1]
        )
    };
    format!(
        "var m = {init};
            {}
            var ties = 0u;
            {}
            if ({self_max}) {{
                {share}
            }}",
        loop_(&format!("m = {fold};")),
        loop_(&format!("ties = ties + select(0u, 1u, {is_max});"))
    )
}

fn random(mut sh: Shader, index: usize, c: &CallKernel, dist: Dist) -> Result<ShaderKernel, CodegenError> {
    let total: usize = shape(&sh, c.output).iter().product();
    let v = Val::of(dtype(&sh, c.output))?;
    let seed = c.inputs[0];
    let key = match &sh.program.buffer(seed).kind {
        BufferKind::Const(t) => {
            let s = t.data().to_i64_vec()[0];
            format!("vec2<u32>({}u, {}u)", s as u32, ((s as u64) >> 32) as u32)
        }
        _ => {
            let s = load(&mut sh, seed, "0");
            match dtype(&sh, seed) {
                DType::I32 => format!("vec2<u32>(u32({s}), select(0u, 0xffffffffu, {s} < 0i))"),
                DType::U8 => format!("vec2<u32>({s}, 0u)"),
                d => return Err(CodegenError::UnsupportedDType(d)),
            }
        }
    };
    sh.helpers.need(Helper::Philox);
    let value = match dist {
        Dist::Uniform => "f32(w.x >> 8u) * 5.9604644775390625e-08".to_string(),
        Dist::Normal => {
            sh.helpers.need(Helper::Math(Func::Log));
            sh.helpers.need(Helper::Math(Func::Cos));
            "sqrt(-2.0 * log_f(f32((w.x >> 8u) + 1u) * 5.9604644775390625e-08)) * cos_f(6.28318530717958647 * (f32(w.y >> 8u) * 5.9604644775390625e-08))".to_string()
        }
    };
    let value = quantize(v, value, &mut sh.helpers);
    let st = store(&mut sh, c.output, "p", "r");
    let body = format!("    let w = philox(vec4<u32>(p, 0u, 0u, 0u), {key});\n    let r = {value};\n    {st}\n");
    per_element(sh, format!("k{index}_random"), total, &body)
}
