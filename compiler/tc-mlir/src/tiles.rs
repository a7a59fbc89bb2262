//! Matmuls on tile units: Intel AMX, the CPU's systolic-array-like block (bf16 in, f32
//! accumulate), through MLIR's `amx` dialect.
//!
//! A matmul call whose operands are bf16 (or f32 with [`TileOptions::f32_matmuls`],
//! which `--precision bf16` sets after rounding them to bf16) becomes:
//! 1. the operands as dense bf16 tensors, `A` as `[batch, Mp, Kp]` and `B` in AMX's
//!    VNNI layout `[batch, Kp/2, 2·Np]` (element `(k, n)` at `(k/2, 2n + k%2)`), zero
//!    padded to multiples of 32 so every tile is whole;
//! 2. a loop nest over 32×32 blocks of the f32 result, each held in four 16×16 f32
//!    accumulator tiles while `k` advances 32 at a time (two 16×32 `A` tiles and two
//!    16×32 `B` tiles per step, eight tile registers in all), stored once at the end;
//!    rows of blocks run in parallel (`scf.parallel`, on MLIR's async runtime: one
//!    task per core);
//! 3. the block's valid part, rounded to the output dtype.
//!
//! The tile operations come in two forms ([`TileUnit`]): `amx.tile_*` ops, which lower
//! to `tileloadd`/`tdpbf16ps`/`tilestored` and need an AMX CPU ([`amx_available`]), and
//! the same four operations on memrefs (a tile a view or a small buffer, `tile_mulf` a
//! `linalg.generic` over pairs), which run anywhere. The emulation shares
//! every other line (layout, padding, loop nest, rounding), so the tests check those
//! on any machine against the interpreter, and check that the AMX form lowers to the
//! AMX instructions.

use crate::calls::{matmul_operands, MatmulOperands};
use crate::module::{from_flat, to_flat, Func};
use crate::text::{affine_map, elem, projection, tensor_ty, Block};
use crate::MlirError;
use tc_kernel::CallKernel;
use tc_tensor::DType;

/// Which unit runs the tiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileUnit {
    /// Intel AMX through the `amx` dialect.
    Amx,
    /// The same tiles as memref ops (any CPU): the check of everything but the unit.
    Emulated,
}

/// What goes to the tile unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileOptions {
    pub unit: TileUnit,
    /// Run f32 matmuls on it too, their operands rounded to bf16 (to nearest even).
    pub f32_matmuls: bool,
}

/// Rows of a tile, and f32 columns of an accumulator tile.
const TILE: usize = 16;
/// bf16 columns of an operand tile (64 bytes).
const TILE_K: usize = 32;
/// The block of the result one step of the loop nest computes (2×2 tiles).
const BLOCK: usize = 2 * TILE;

/// Whether a matmul call goes to the tiles under `opts`.
pub fn takes(f: &Func, c: &CallKernel, opts: &TileOptions) -> bool {
    let d = f.dtype(c.output);
    matches!(c.op, tc_ir::Op::MatMul) && (d == DType::BF16 || (d == DType::F32 && opts.f32_matmuls))
}

fn round_up(x: usize, to: usize) -> usize {
    x.div_ceil(to) * to
}

/// The matmul call `c` on the tiles; returns its result with the output's shape.
pub fn matmul(f: &mut Func, c: &CallKernel, opts: &TileOptions) -> Result<String, MlirError> {
    let d = f.dtype(c.output);
    let os = f.shape(c.output);
    let e = elem(d);
    let MatmulOperands { batch, m, n, k, a3, b3, a_shape, b_shape } = matmul_operands(f, c)?;
    let (mp, np, kp) = (round_up(m.max(1), BLOCK), round_up(n.max(1), BLOCK), round_up(k.max(1), TILE_K));
    // Loops (batch, row, col) over the dense bf16 operand; the source read transposed.
    let a_map = if c.transposed[0] { projection(3, &[0, 2, 1]) } else { projection(3, &[0, 1, 2]) };
    let b_map = if c.transposed[1] { projection(3, &[0, 2, 1]) } else { projection(3, &[0, 1, 2]) };
    let a_dense = to_bf16(f, &a3, &a_shape, &a_map, &[batch, m, k], d);
    let b_dense = to_bf16(f, &b3, &b_shape, &b_map, &[batch, k, n], d);
    let zero = f.top().op("arith.constant 0.0 : bf16");
    let a_pad = pad_high(f, &a_dense, &[batch, m, k], &[batch, mp, kp], &zero);
    let b_pad = pad_high(f, &b_dense, &[batch, k, n], &[batch, kp, np], &zero);
    let b_vnni = vnni(f, &b_pad, batch, kp, np);

    let a_mem_ty = memref_ty(&[batch, mp, kp], "bf16");
    let b_mem_ty = memref_ty(&[batch, kp / 2, 2 * np], "bf16");
    let c_mem_ty = memref_ty(&[batch, mp, np], "f32");
    let mut t = f.top();
    let am = t.op(format!("bufferization.to_buffer {a_pad} read_only : {} to {a_mem_ty}", tensor_ty(&[batch, mp, kp], "bf16")));
    let bm = t.op(format!("bufferization.to_buffer {b_vnni} read_only : {} to {b_mem_ty}", tensor_ty(&[batch, kp / 2, 2 * np], "bf16")));
    let cm = t.op(format!("memref.alloc() : {c_mem_ty}"));
    let [c0, c1, c2, c16, c32] = [0, 1, 2, TILE as i64, BLOCK as i64].map(|x| t.index(x));
    let [cb, cmp, cnp, ckp] = [batch, mp, np, kp].map(|x| t.index(x as i64));
    // Row blocks (and batches) in parallel, one task per worker of MLIR's async
    // runtime; emulated, each row block has its own accumulators.
    let mut ops = TileOps::new(&mut t, opts.unit, (a_mem_ty, kp), (b_mem_ty, 2 * np), (c_mem_ty.clone(), np), [batch, mp / BLOCK]);
    let (bi, i, j, kk) = (t.ssa.fresh(), t.ssa.fresh(), t.ssa.fresh(), t.ssa.fresh());
    t.stmt(format!("scf.parallel ({bi}, {i}) = ({c0}, {c0}) to ({cb}, {cmp}) step ({c1}, {c32}) {{"));
    let mut task = String::new();
    let mut p = Block::new(t.ssa, &mut task, 2);
    ops.enter_task(&mut p, &bi, &i, &c32);
    let i1 = p.op(format!("arith.addi {i}, {c16} : index"));
    p.stmt(format!("scf.for {j} = {c0} to {cnp} step {c32} {{"));
    let mut body = String::new();
    let mut l = Block::new(p.ssa, &mut body, 4);
    let j1 = l.op(format!("arith.addi {j}, {c16} : index"));
    let j0v = l.op(format!("arith.muli {j}, {c2} : index"));
    let j1v = l.op(format!("arith.muli {j1}, {c2} : index"));
    let zeros: Vec<String> = (0..4).map(|q| ops.zero(&mut l, q)).collect();
    let accs: Vec<String> = (0..4).map(|_| l.ssa.fresh()).collect();
    let result = l.ssa.fresh();
    let iter: Vec<String> = accs.iter().zip(&zeros).map(|(acc, z)| format!("{acc} = {z}")).collect();
    let acc_ty = ops.acc_ty();
    l.stmt(format!("{result}:4 = scf.for {kk} = {c0} to {ckp} step {c32} iter_args({}) -> ({acc_ty}, {acc_ty}, {acc_ty}, {acc_ty}) {{", iter.join(", ")));
    let mut inner = String::new();
    let mut s = Block::new(l.ssa, &mut inner, 5);
    let k2 = s.op(format!("arith.divui {kk}, {c2} : index"));
    let a0 = ops.load_a(&mut s, &am, &bi, &i, &kk);
    let a1 = ops.load_a(&mut s, &am, &bi, &i1, &kk);
    let b0 = ops.load_b(&mut s, &bm, &bi, &k2, &j0v);
    let b1 = ops.load_b(&mut s, &bm, &bi, &k2, &j1v);
    let next = [
        ops.mulf(&mut s, &a0, &b0, &accs[0]),
        ops.mulf(&mut s, &a0, &b1, &accs[1]),
        ops.mulf(&mut s, &a1, &b0, &accs[2]),
        ops.mulf(&mut s, &a1, &b1, &accs[3]),
    ];
    s.stmt(format!("scf.yield {} : {acc_ty}, {acc_ty}, {acc_ty}, {acc_ty}", next.join(", ")));
    l.raw(&inner);
    l.stmt("}");
    let corners = [(&i, &j), (&i, &j1), (&i1, &j), (&i1, &j1)];
    for (q, (row, col)) in corners.iter().enumerate() {
        ops.store(&mut l, &cm, &bi, row, col, &format!("{result}#{q}"));
    }
    p.raw(&body);
    p.stmt("}");
    t.raw(&task);
    t.stmt("}");
    let padded_ty = tensor_ty(&[batch, mp, np], "f32");
    let ct = t.op(format!("bufferization.to_tensor {cm} restrict writable : {c_mem_ty} to {padded_ty}"));
    let o_shape = [batch, m, n];
    let valid = t.op(format!("tensor.extract_slice {ct}[0, 0, 0] [{batch}, {m}, {n}] [1, 1, 1] : {padded_ty} to {}", tensor_ty(&o_shape, "f32")));
    let rounded = crate::calls::round_to(f, &valid, &o_shape, DType::F32, d);
    let flat = to_flat(&mut f.top(), &rounded, &o_shape, e);
    Ok(from_flat(&mut f.top(), &flat, &os, e))
}

fn memref_ty(shape: &[usize], e: &str) -> String {
    tensor_ty(shape, e).replacen("tensor", "memref", 1)
}

/// `x` (dtype `d`, read through `map`) as a dense bf16 tensor of `shape`.
fn to_bf16(f: &mut Func, x: &str, x_shape: &[usize], map: &str, shape: &[usize], d: DType) -> String {
    let out_ty = tensor_ty(shape, "bf16");
    let mut t = f.top();
    let empty = t.op(format!("tensor.empty() : {out_ty}"));
    let (arg, out) = (t.ssa.fresh(), t.ssa.fresh());
    let result = t.ssa.fresh();
    let id = projection(3, &[0, 1, 2]);
    t.stmt(format!(
        "{result} = linalg.generic {{indexing_maps = [{map}, {id}], iterator_types = [\"parallel\", \"parallel\", \"parallel\"]}} ins({x} : {}) outs({empty} : {out_ty}) {{",
        tensor_ty(x_shape, elem(d))
    ));
    t.stmt(format!("^bb0({arg}: {}, {out}: bf16):", elem(d)));
    let mut body = String::new();
    let mut inner = Block::new(t.ssa, &mut body, 2);
    let v = if d == DType::BF16 { arg.clone() } else { inner.op(format!("arith.truncf {arg} : {} to bf16", elem(d))) };
    inner.stmt(format!("linalg.yield {v} : bf16"));
    t.raw(&body);
    t.stmt(format!("}} -> {out_ty}"));
    result
}

/// `x` zero-padded at the high end from `shape` to `padded`.
fn pad_high(f: &mut Func, x: &str, shape: &[usize], padded: &[usize], zero: &str) -> String {
    if shape == padded {
        return x.to_string();
    }
    let lo = vec![0; shape.len()];
    let hi: Vec<usize> = padded.iter().zip(shape).map(|(p, s)| p - s).collect();
    crate::calls::pad_with(f, x, shape, &lo, &hi, "bf16", zero)
}

/// `[batch, kp, np]` in VNNI layout `[batch, kp/2, 2·np]`: pairs of consecutive `k`
/// side by side, as `tdpbf16ps` reads its second operand.
fn vnni(f: &mut Func, x: &str, batch: usize, kp: usize, np: usize) -> String {
    let pairs = [batch, kp / 2, np, 2];
    let pairs_ty = tensor_ty(&pairs, "bf16");
    let mut t = f.top();
    let empty = t.op(format!("tensor.empty() : {pairs_ty}"));
    let (arg, out, result) = (t.ssa.fresh(), t.ssa.fresh(), t.ssa.fresh());
    let read = affine_map(4, &["d0".into(), "d1 * 2 + d3".into(), "d2".into()]);
    let id = projection(4, &[0, 1, 2, 3]);
    t.stmt(format!(
        "{result} = linalg.generic {{indexing_maps = [{read}, {id}], iterator_types = [\"parallel\", \"parallel\", \"parallel\", \"parallel\"]}} ins({x} : {}) outs({empty} : {pairs_ty}) {{",
        tensor_ty(&[batch, kp, np], "bf16")
    ));
    t.stmt(format!("^bb0({arg}: bf16, {out}: bf16):"));
    t.stmt(format!("  linalg.yield {arg} : bf16"));
    t.stmt(format!("}} -> {pairs_ty}"));
    let flat = tensor_ty(&[batch, kp / 2, 2 * np], "bf16");
    t.op(format!("tensor.collapse_shape {result} [[0], [1], [2, 3]] : {pairs_ty} into {flat}"))
}

/// The four tile operations in the unit's form. Emulated, a tile is a memref: an
/// operand tile a 16×32 view of the operand (no copy), an accumulator a 16×16 f32
/// view of a buffer with four per row block (so parallel tasks share none), and
/// `tile_mulf` a `linalg.generic` on them.
struct TileOps {
    unit: TileUnit,
    a_mem: (String, usize),
    b_mem: (String, usize),
    c_mem: (String, usize),
    /// Emulated: the buffer of every row block's accumulators, and its type.
    acc_buffer: Option<(String, String)>,
    /// Emulated: the current task's four accumulators.
    accs: Vec<String>,
}

const OPERAND_TILE: &str = "!amx.tile<16x32xbf16>";
const ACC_TILE: &str = "!amx.tile<16x16xf32>";
const ACC_MEM: &str = "memref<16x16xf32, strided<[16, 1], offset: ?>>";

fn view_ty(rows: usize, cols: usize, e: &str, row_stride: usize) -> String {
    format!("memref<{rows}x{cols}x{e}, strided<[{row_stride}, 1], offset: ?>>")
}

impl TileOps {
    /// The operations for memrefs `(type, row stride)`; emulated, allocates the
    /// accumulators of `[batch, row blocks]`.
    fn new(b: &mut Block, unit: TileUnit, a_mem: (String, usize), b_mem: (String, usize), c_mem: (String, usize), blocks: [usize; 2]) -> TileOps {
        let acc_buffer = match unit {
            TileUnit::Amx => None,
            TileUnit::Emulated => {
                let ty = format!("memref<{}x{}x4x16x16xf32>", blocks[0], blocks[1]);
                Some((b.op(format!("memref.alloc() : {ty}")), ty))
            }
        };
        TileOps { unit, a_mem, b_mem, c_mem, acc_buffer, accs: Vec::new() }
    }

    /// At the start of the task of batch `bi`, rows from `i`: emulated, picks its accumulators.
    fn enter_task(&mut self, b: &mut Block, bi: &str, i: &str, block: &str) {
        if let Some((buffer, ty)) = &self.acc_buffer {
            let row_block = b.op(format!("arith.divui {i}, {block} : index"));
            self.accs = (0..4)
                .map(|q| b.op(format!("memref.subview {buffer}[{bi}, {row_block}, {q}, 0, 0] [1, 1, 1, 16, 16] [1, 1, 1, 1, 1] : {ty} to {ACC_MEM}")))
                .collect();
        }
    }

    fn acc_ty(&self) -> &'static str {
        match self.unit {
            TileUnit::Amx => ACC_TILE,
            TileUnit::Emulated => ACC_MEM,
        }
    }

    /// Accumulator `q` set to zero.
    fn zero(&self, b: &mut Block, q: usize) -> String {
        match self.unit {
            TileUnit::Amx => b.op(format!("amx.tile_zero : {ACC_TILE}")),
            TileUnit::Emulated => {
                let z = b.op("arith.constant 0.0 : f32");
                b.stmt(format!("linalg.fill ins({z} : f32) outs({} : {ACC_MEM})", self.accs[q]));
                self.accs[q].clone()
            }
        }
    }

    /// The `rows`×`cols` tile of `mem` at `idx` (batch, row, column): 32 columns are
    /// an operand's bf16, 16 an accumulator's f32.
    fn tile(&self, b: &mut Block, mem: &str, (mem_ty, stride): &(String, usize), idx: [&str; 3], rows: usize, cols: usize) -> String {
        let e = if cols == TILE_K { "bf16" } else { "f32" };
        let at = idx.join(", ");
        b.op(format!("memref.subview {mem}[{at}] [1, {rows}, {cols}] [1, 1, 1] : {mem_ty} to {}", view_ty(rows, cols, e, *stride)))
    }

    fn load(&self, b: &mut Block, mem: &str, which: &(String, usize), idx: [&str; 3]) -> String {
        match self.unit {
            TileUnit::Amx => b.op(format!("amx.tile_load {mem}[{}] : {} into {OPERAND_TILE}", idx.join(", "), which.0)),
            TileUnit::Emulated => self.tile(b, mem, which, idx, TILE, TILE_K),
        }
    }

    fn load_a(&self, b: &mut Block, mem: &str, batch: &str, row: &str, k: &str) -> String {
        self.load(b, mem, &self.a_mem, [batch, row, k])
    }

    fn load_b(&self, b: &mut Block, mem: &str, batch: &str, k2: &str, col: &str) -> String {
        self.load(b, mem, &self.b_mem, [batch, k2, col])
    }

    /// `acc[m][n] += Σ_p Σ_q a[m][2p+q] · b[p][2n+q]`, products exact in f32.
    fn mulf(&self, b: &mut Block, x: &str, y: &str, acc: &str) -> String {
        match self.unit {
            TileUnit::Amx => b.op(format!("amx.tile_mulf {x}, {y}, {acc} : {OPERAND_TILE}, {OPERAND_TILE}, {ACC_TILE}")),
            TileUnit::Emulated => {
                // Each row's 32 bf16 as 16 pairs: (m, p, q) and (p, n, q).
                let pairs = |b: &mut Block, t: &str, stride: usize| {
                    let (from, to) = (view_ty(TILE, TILE_K, "bf16", stride), format!("memref<16x16x2xbf16, strided<[{stride}, 2, 1], offset: ?>>"));
                    (b.op(format!("memref.expand_shape {t} [[0], [1, 2]] output_shape [16, 16, 2] : {from} into {to}")), to)
                };
                let ((x, xt), (y, yt)) = (pairs(b, x, self.a_mem.1), pairs(b, y, self.b_mem.1));
                let maps = [projection(4, &[0, 2, 3]), projection(4, &[2, 1, 3]), projection(4, &[0, 1])];
                let (u, v, o) = (b.ssa.fresh(), b.ssa.fresh(), b.ssa.fresh());
                b.stmt(format!(
                    "linalg.generic {{indexing_maps = [{}], iterator_types = [\"parallel\", \"parallel\", \"reduction\", \"reduction\"]}} ins({x}, {y} : {xt}, {yt}) outs({acc} : {ACC_MEM}) {{",
                    maps.join(", ")
                ));
                b.stmt(format!("^bb0({u}: bf16, {v}: bf16, {o}: f32):"));
                let mut body = String::new();
                let mut inner = Block::new(b.ssa, &mut body, 1);
                let uf = inner.op(format!("arith.extf {u} : bf16 to f32"));
                let vf = inner.op(format!("arith.extf {v} : bf16 to f32"));
                let p = inner.op(format!("arith.mulf {uf}, {vf} : f32"));
                let sum = inner.op(format!("arith.addf {o}, {p} : f32"));
                inner.stmt(format!("linalg.yield {sum} : f32"));
                let indent = b.indent.clone();
                for line in body.lines() {
                    b.raw(&format!("{indent}{line}\n"));
                }
                b.stmt("}");
                acc.to_string()
            }
        }
    }

    fn store(&self, b: &mut Block, mem: &str, batch: &str, row: &str, col: &str, v: &str) {
        match self.unit {
            TileUnit::Amx => b.stmt(format!("amx.tile_store {mem}[{batch}, {row}, {col}], {v} : {}, {ACC_TILE}", self.c_mem.0)),
            TileUnit::Emulated => {
                let dst = self.tile(b, mem, &self.c_mem, [batch, row, col], TILE, TILE);
                b.stmt(format!("linalg.copy ins({v} : {ACC_MEM}) outs({dst} : {})", view_ty(TILE, TILE, "f32", self.c_mem.1)));
            }
        }
    }
}

/// `@tc_tile_peak(n, in, out)`: `n` rounds of four independent `tile_mulf`s on tiles
/// loaded once from `in`, each accumulator stored to `out` (so nothing is dead). The measured ceiling of [`crate::jit::amx_peak_gflops`].
pub const PEAK_KERNEL: &str = "module {
func.func @tc_tile_peak(%n: index, %in: memref<16x32xbf16>, %out: memref<16x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = amx.tile_load %in[%c0, %c0] : memref<16x32xbf16> into !amx.tile<16x32xbf16>
  %b = amx.tile_load %in[%c0, %c0] : memref<16x32xbf16> into !amx.tile<16x32xbf16>
  %z0 = amx.tile_zero : !amx.tile<16x16xf32>
  %z1 = amx.tile_zero : !amx.tile<16x16xf32>
  %z2 = amx.tile_zero : !amx.tile<16x16xf32>
  %z3 = amx.tile_zero : !amx.tile<16x16xf32>
  %r:4 = scf.for %i = %c0 to %n step %c1 iter_args(%x0 = %z0, %x1 = %z1, %x2 = %z2, %x3 = %z3) -> (!amx.tile<16x16xf32>, !amx.tile<16x16xf32>, !amx.tile<16x16xf32>, !amx.tile<16x16xf32>) {
    %y0 = amx.tile_mulf %a, %b, %x0 : !amx.tile<16x32xbf16>, !amx.tile<16x32xbf16>, !amx.tile<16x16xf32>
    %y1 = amx.tile_mulf %a, %b, %x1 : !amx.tile<16x32xbf16>, !amx.tile<16x32xbf16>, !amx.tile<16x16xf32>
    %y2 = amx.tile_mulf %a, %b, %x2 : !amx.tile<16x32xbf16>, !amx.tile<16x32xbf16>, !amx.tile<16x16xf32>
    %y3 = amx.tile_mulf %a, %b, %x3 : !amx.tile<16x32xbf16>, !amx.tile<16x32xbf16>, !amx.tile<16x16xf32>
    scf.yield %y0, %y1, %y2, %y3 : !amx.tile<16x16xf32>, !amx.tile<16x16xf32>, !amx.tile<16x16xf32>, !amx.tile<16x16xf32>
  }
  amx.tile_store %out[%c0, %c0], %r#0 : memref<16x16xf32>, !amx.tile<16x16xf32>
  amx.tile_store %out[%c0, %c0], %r#1 : memref<16x16xf32>, !amx.tile<16x16xf32>
  amx.tile_store %out[%c0, %c0], %r#2 : memref<16x16xf32>, !amx.tile<16x16xf32>
  amx.tile_store %out[%c0, %c0], %r#3 : memref<16x16xf32>, !amx.tile<16x16xf32>
  return
}
}
";

/// Whether this CPU has AMX with bf16 (CPUID leaf 7: AMX-TILE, AMX-BF16) and the
/// kernel grants this process the tile data state (`arch_prctl(ARCH_REQ_XCOMP_PERM,
/// XFEATURE_XTILEDATA)`, which Linux requires before the first tile instruction).
/// The error names the CPU and what it lacks.
pub fn amx_available() -> Result<(), String> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::__cpuid_count;
        let max_leaf = __cpuid_count(0, 0).eax;
        let edx = if max_leaf >= 7 { __cpuid_count(7, 0).edx } else { 0 };
        let (tile, bf16) = (edx & (1 << 24) != 0, edx & (1 << 22) != 0);
        if !(tile && bf16) {
            let missing: Vec<&str> = [(tile, "amx-tile"), (bf16, "amx-bf16")].iter().filter(|(has, _)| !has).map(|(_, name)| *name).collect();
            return Err(format!("this CPU ({}) has no AMX: it lacks {}", cpu_name(), missing.join(" and ")));
        }
        request_tile_permission()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Err("AMX exists only on x86-64 CPUs".to_string())
    }
}

#[cfg(target_arch = "x86_64")]
fn cpu_name() -> String {
    use std::arch::x86_64::__cpuid;
    let max_ext = __cpuid(0x8000_0000).eax;
    if max_ext < 0x8000_0004 {
        return "unknown CPU".to_string();
    }
    let mut bytes = Vec::with_capacity(48);
    for leaf in 0x8000_0002u32..=0x8000_0004 {
        let r = __cpuid(leaf);
        for word in [r.eax, r.ebx, r.ecx, r.edx] {
            bytes.extend_from_slice(&word.to_le_bytes());
        }
    }
    String::from_utf8_lossy(&bytes).trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string()
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn request_tile_permission() -> Result<(), String> {
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    // SAFETY: arch_prctl with ARCH_REQ_XCOMP_PERM only changes this process's permitted
    // XSAVE features; it reads no memory.
    let rc = unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) };
    if rc != 0 {
        return Err(format!("the kernel refused AMX tile data to this process (arch_prctl: {})", std::io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(all(target_arch = "x86_64", not(target_os = "linux")))]
fn request_tile_permission() -> Result<(), String> {
    Ok(())
}
