//! Matrix products and convolutions.
//!
//! Float (f32, f16) `matmul` and `conv2d` share one tiled kernel, [`tiled`]: each
//! workgroup computes a 64 × 64 tile of `C = A · B`, staging 16-deep slices of A and B in
//! workgroup memory; each of its 256 invocations accumulates a 4 × 4 block (rows
//! `ty + 16 i`, columns `tx + 16 j`) in f32 registers, over k in ascending order.
//! The operands and the result are reached through WGSL functions `load_a(batch, m, k)`,
//! `load_b(batch, k, n)` and `store_c(batch, m, n, v)` (zero outside the matrix), so:
//! - `matmul` reads its operands directly, transposed ones through swapped strides;
//!   batches are the grid's z dimension;
//! - `conv2d` is an implicit GEMM: `A` is the weights as `[K, C·R·S]`, `B` the input
//!   windows as `[C·R·S, N·Ho·Wo]` (padding reads as zero; nothing is materialised),
//!   `C` the output, rearranged to `[N, K, Ho, Wo]` by `store_c`. The sum runs over
//!   `(c, r, s)` in the interpreter's order.
//!
//! Products accumulate in f32 (the interpreter uses f64 and rounds once): results
//! agree to about √k ulp. Integer operands use one invocation per output element with
//! the interpreter's wrapping arithmetic, exactly.

use super::expr::{load, quantize, store, Val};
use super::{check_count, grid, CodegenError, Shader, ShaderKernel, WG};
use tc_kernel::CallKernel;

/// Tile edge (rows and columns of C per workgroup) and depth of the staged slices.
const TILE: u32 = 64;
const DEPTH: u32 = 16;

/// The problem a tiled kernel solves: `batch` products of `[m, k] · [k, n]`.
pub struct Dims {
    pub batch: usize,
    pub m: usize,
    pub n: usize,
    pub k: usize,
}

/// Which index of a staged operand tile consecutive invocations walk when loading it:
/// the one along which the operand is contiguous in memory, so loads coalesce.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fast {
    /// Along k.
    K,
    /// Along the tile's other index (m for A, n for B).
    Other,
}

/// The tiled kernel; `funcs` defines `load_a`, `load_b` and `store_c`.
pub fn tiled(sh: Shader, label: String, d: &Dims, a_fast: Fast, b_fast: Fast, funcs: &str) -> Result<ShaderKernel, CodegenError> {
    let tiles_m = (d.m as u64).div_ceil(TILE as u64);
    let tiles_n = (d.n as u64).div_ceil(TILE as u64);
    if tiles_m > 65535 || tiles_n > 65535 || d.batch > 65535 {
        return Err(CodegenError::Unsupported(format!("a matrix product of {} batches of {} x {}", d.batch, d.m, d.n)));
    }
    let workgroups = if d.batch * d.m * d.n == 0 { [0, 1, 1] } else { [tiles_n as u32, tiles_m as u32, d.batch as u32] };
    let (t, dp) = (TILE, DEPTH);
    // Tile coordinates of element `idx` of a staged slice: (k, other).
    let coords = |fast: Fast| match fast {
        Fast::K => (format!("idx % {dp}u"), format!("idx / {dp}u")),
        Fast::Other => (format!("idx / {t}u"), format!("idx % {t}u")),
    };
    let (ak, am) = coords(a_fast);
    let (bk, bn) = coords(b_fast);
    let decls = format!("{funcs}\nvar<workgroup> tile_a: array<f32, {}>;\nvar<workgroup> tile_b: array<f32, {}>;\n", t * dp, t * dp);
    let loads = (t * dp) / WG;
    let mut body = format!(
        "    let tx = lid % 16u;
    let ty = lid / 16u;
    let m0 = wid.y * {t}u;
    let n0 = wid.x * {t}u;
    let bi = wid.z;
    var c0 = vec4<f32>(0.0);
    var c1 = vec4<f32>(0.0);
    var c2 = vec4<f32>(0.0);
    var c3 = vec4<f32>(0.0);
    for (var k0: u32 = 0u; k0 < {k}u; k0 = k0 + {dp}u) {{
",
        k = d.k
    );
    // The staging and the slice are unrolled: one loop iteration per slice, since Mesa's
    // llvmpipe ends an invocation's loops after 65,535 iterations in all (a product with
    // k = 70,000 returned 58,255 for a sum of ones while the inner loops were loops).
    for e in 0..loads {
        body.push_str(&format!(
            "        {{
            let idx = lid + {}u;
            tile_a[({ak}) * {t}u + {am}] = load_a(bi, m0 + {am}, k0 + {ak});
            tile_b[({bk}) * {t}u + {bn}] = load_b(bi, k0 + {bk}, n0 + {bn});
        }}
",
            e * WG
        ));
    }
    body.push_str("        workgroupBarrier();\n");
    for kk in 0..dp {
        body.push_str(&format!(
            "        {{
            let a = vec4<f32>(tile_a[{r}u + ty], tile_a[{r}u + ty + 16u], tile_a[{r}u + ty + 32u], tile_a[{r}u + ty + 48u]);
            let b = vec4<f32>(tile_b[{r}u + tx], tile_b[{r}u + tx + 16u], tile_b[{r}u + tx + 32u], tile_b[{r}u + tx + 48u]);
            c0 = c0 + a.x * b;
            c1 = c1 + a.y * b;
            c2 = c2 + a.z * b;
            c3 = c3 + a.w * b;
        }}
",
            r = kk * t,
        ));
    }
    body.push_str("        workgroupBarrier();\n    }\n");
    for i in 0..4 {
        body.push_str(&format!("    if (m0 + ty + {}u < {}u) {{\n", 16 * i, d.m));
        for j in 0..4 {
            let lane = ["x", "y", "z", "w"][j];
            body.push_str(&format!(
                "        if (n0 + tx + {}u < {}u) {{\n            store_c(bi, m0 + ty + {}u, n0 + tx + {}u, c{i}.{lane});\n        }}\n",
                16 * j,
                d.n,
                16 * i,
                16 * j
            ));
        }
        body.push_str("    }\n");
    }
    sh.finish(label, WG, workgroups, &decls, &body)
}

/// `matmul` of the call's two operands.
pub fn matmul(mut sh: Shader, index: usize, c: &CallKernel) -> Result<ShaderKernel, CodegenError> {
    let out = sh.program.buffer(c.output).ty.clone();
    let r = out.shape.len();
    let (m, n) = (out.shape[r - 2], out.shape[r - 1]);
    let a_shape = &sh.program.buffer(c.inputs[0]).ty.shape;
    let k = if c.transposed[0] { a_shape[r - 2] } else { a_shape[r - 1] };
    let batch: usize = out.shape[..r - 2].iter().product();
    for &b in c.inputs.iter().chain([&c.output]) {
        check_count(&sh.program.buffer(b).ty.shape)?;
    }
    let v = Val::of(out.dtype)?;
    // Element index of A[bi, row, kk] and B[bi, kk, col].
    let a_index = if c.transposed[0] { format!("bi * {}u + kk * {m}u + row", m * k) } else { format!("bi * {}u + row * {k}u + kk", m * k) };
    let b_index = if c.transposed[1] { format!("bi * {}u + col * {k}u + kk", k * n) } else { format!("bi * {}u + kk * {n}u + col", k * n) };
    let c_index = format!("bi * {}u + row * {n}u + col", m * n);
    if let Val::F { .. } = v {
        let la = load(&mut sh, c.inputs[0], &a_index);
        let lb = load(&mut sh, c.inputs[1], &b_index);
        let q = quantize(v, "v".into(), &mut sh.helpers);
        let st = store(&mut sh, c.output, &c_index, &q);
        let funcs = format!(
            "fn load_a(bi: u32, row: u32, kk: u32) -> f32 {{
    if (row >= {m}u || kk >= {k}u) {{
        return 0.0;
    }}
    return {la};
}}
fn load_b(bi: u32, kk: u32, col: u32) -> f32 {{
    if (kk >= {k}u || col >= {n}u) {{
        return 0.0;
    }}
    return {lb};
}}
fn store_c(bi: u32, row: u32, col: u32, v: f32) {{
    {st}
}}
"
        );
        let fast = |t: bool, contiguous_k: bool| if t != contiguous_k { Fast::K } else { Fast::Other };
        return tiled(sh, format!("k{index}_matmul"), &Dims { batch, m, n, k }, fast(c.transposed[0], true), fast(c.transposed[1], false), &funcs);
    }
    // Integers: one invocation per output element.
    let total = (batch * m * n) as u64;
    let (workgroups, wg) = grid(total.div_ceil(WG as u64))?;
    let la = load(&mut sh, c.inputs[0], &a_index);
    let lb = load(&mut sh, c.inputs[1], &b_index);
    let init = int_zero(v);
    let result = int_result(v, "acc");
    let st = store(&mut sh, c.output, &c_index, &result);
    let body = format!(
        "    let p = {wg} * {WG}u + lid;
    if (p >= {total}u) {{
        return;
    }}
    let bi = p / {mn}u;
    let row = (p / {n}u) % {m}u;
    let col = p % {n}u;
    var acc: {ty} = {init};
{}    {st}
",
        counted_loop("kk", k, &format!("acc = acc + {la} * {lb};")),
        mn = (m * n).max(1),
        ty = v.ty(),
    );
    sh.finish(format!("k{index}_matmul"), WG, workgroups, "", &body)
}

/// The most iterations of a per-element loop: Mesa's llvmpipe ends an invocation's
/// loops after 65,535 iterations in all.
const LOOP_BUDGET: usize = 60_000;

/// `for {var} in 0..count { body }` in WGSL, running several values of `var` per loop
/// iteration (each in its own block) when `count` exceeds [`LOOP_BUDGET`].
fn counted_loop(var: &str, count: usize, body: &str) -> String {
    let copies = count.div_ceil(LOOP_BUDGET).max(1);
    if copies == 1 {
        return format!("    for (var {var}: u32 = 0u; {var} < {count}u; {var} = {var} + 1u) {{\n        {body}\n    }}\n");
    }
    let mut out = format!("    for (var {var}0: u32 = 0u; {var}0 < {count}u; {var}0 = {var}0 + {copies}u) {{\n");
    for c in 0..copies {
        out.push_str(&format!("        {{\n        let {var} = {var}0 + {c}u;\n        if ({var} < {count}u) {{\n        {body}\n        }}\n        }}\n"));
    }
    out.push_str("    }\n");
    out
}

/// The accumulator's zero for integer class `v` (matmul and conv2d are on numbers).
fn int_zero(v: Val) -> &'static str {
    match v {
        Val::U8 => "0u",
        _ => "0i",
    }
}

/// The stored value of an integer accumulator (u8 wraps to 8 bits once).
fn int_result(v: Val, acc: &str) -> String {
    match v {
        Val::U8 => format!("({acc} & 255u)"),
        _ => acc.to_string(),
    }
}

/// `conv2d`: cross-correlation of `x: [N, C, H, W]` with `w: [K, C, R, S]`.
pub fn conv2d(mut sh: Shader, index: usize, c: &CallKernel, stride: [usize; 2], pad: [(usize, usize); 2], dil: [usize; 2]) -> Result<ShaderKernel, CodegenError> {
    let xs = sh.program.buffer(c.inputs[0]).ty.shape.clone();
    let ws = sh.program.buffer(c.inputs[1]).ty.shape.clone();
    let out = sh.program.buffer(c.output).ty.clone();
    for s in [&xs, &ws, &out.shape] {
        check_count(s)?;
    }
    let (n, ch, h, w) = (xs[0], xs[1], xs[2], xs[3]);
    let (kout, r, s) = (ws[0], ws[2], ws[3]);
    let (ho, wo) = (out.shape[2], out.shape[3]);
    let crs = ch * r * s;
    let cols = n * ho * wo;
    let v = Val::of(out.dtype)?;
    // The input element of window column `col` at reduction index `kk`, or none (padding).
    let x_pos = format!(
        "let img = col / {hw}u;
    let rem = col % {hw}u;
    let c_in = kk / {rs}u;
    let h = i32((rem / {wo}u) * {s0}u + ((kk / {s}u) % {r}u) * {d0}u) - {p0};
    let w = i32((rem % {wo}u) * {s1}u + (kk % {s}u) * {d1}u) - {p1};
    let inside = h >= 0 && h < {h} && w >= 0 && w < {w};
    let x_at = ((img * {ch}u + c_in) * {h}u + u32(max(h, 0))) * {w}u + u32(max(w, 0));",
        hw = (ho * wo).max(1),
        rs = (r * s).max(1),
        wo = wo.max(1),
        s = s.max(1),
        r = r.max(1),
        s0 = stride[0],
        s1 = stride[1],
        d0 = dil[0],
        d1 = dil[1],
        p0 = pad[0].0,
        p1 = pad[1].0,
    );
    let c_index = format!("((col / {hw}u) * {kout}u + row) * {hw}u + col % {hw}u", hw = (ho * wo).max(1));
    let lx = load(&mut sh, c.inputs[0], "x_at");
    let lw = load(&mut sh, c.inputs[1], &format!("row * {crs}u + kk"));
    if let Val::F { .. } = v {
        let q = quantize(v, "v".into(), &mut sh.helpers);
        let st = store(&mut sh, c.output, &c_index, &q);
        let funcs = format!(
            "fn load_a(bi: u32, row: u32, kk: u32) -> f32 {{
    if (row >= {kout}u || kk >= {crs}u) {{
        return 0.0;
    }}
    return {lw};
}}
fn load_b(bi: u32, kk: u32, col: u32) -> f32 {{
    if (kk >= {crs}u || col >= {cols}u) {{
        return 0.0;
    }}
    {x_pos}
    return select(0.0, {lx}, inside);
}}
fn store_c(bi: u32, row: u32, col: u32, v: f32) {{
    {st}
}}
"
        );
        return tiled(sh, format!("k{index}_conv2d"), &Dims { batch: 1, m: kout, n: cols, k: crs }, Fast::K, Fast::Other, &funcs);
    }
    // Integers: one invocation per output element, padding as zero terms.
    let total = (kout * cols) as u64;
    let (workgroups, wg) = grid(total.div_ceil(WG as u64))?;
    let init = int_zero(v);
    let result = int_result(v, "acc");
    let st = store(&mut sh, c.output, &c_index, &result);
    let body = format!(
        "    let p = {wg} * {WG}u + lid;
    if (p >= {total}u) {{
        return;
    }}
    let row = (p / {hw}u) % {kout}u;
    let col = (p / {khw}u) * {hw}u + p % {hw}u;
    var acc: {ty} = {init};
{}    {st}
",
        counted_loop("kk", crs, &format!("{x_pos}\n    acc = acc + select({init}, {lx}, inside) * {lw};")),
        hw = (ho * wo).max(1),
        khw = (kout * ho * wo).max(1),
        ty = v.ty(),
    );
    sh.finish(format!("k{index}_conv2d"), WG, workgroups, "", &body)
}
