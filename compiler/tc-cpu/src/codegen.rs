//! Code generation of one loop kernel as a Cranelift function
//! `fn(buffers: *const *mut u8, lo: i64, hi: i64)`.
//!
//! `buffers[k]` is the base address of the kernel's `k`-th buffer ([`LoopFn::buffers`]).
//! `[lo, hi)` is the range of domain axis 0 this call covers, so the executor can split
//! the work over threads: axis 0 is the first outer axis, or, in an elementwise kernel
//! (no outer axes), the first axis of its one stage.
//!
//! The loop nest runs the outer axes, then each stage's inner loops. Every expression is
//! emitted at the shallowest loop level where all its inputs are known (its *depth*: the
//! innermost axis any of its views moves along), so loop-invariant work — a row's mean,
//! a broadcast bias, a reduction's slot — is computed once per iteration of the loop
//! that changes it. Element indices are affine ([`View`]); each level adds its axis'
//! term to the partial index of every view.
//!
//! Values are held as: `f64` for f64; `f32` for f32, f16 and bf16 (f16/bf16 results are
//! rounded to their dtype after every operation, with [`crate::narrow`]); `i64`, `i32`
//! for those ints; `i8` for u8 and bool (0 or 1). Float sums and products accumulate in
//! f64 and round once, as the interpreter does.
//!
//! The innermost loop of a stage is vectorised (4 lanes of f32, unrolled, with a
//! scalar tail)
//! when everything varying along it is f32 (or a bool computed from f32 comparisons, as
//! a lane mask), loads and stores along it are contiguous, and a reduction folds an f32
//! value. Everything else runs as scalar code with the same semantics.

use crate::externs::Sig;
use crate::math::Fx;
use tc_kernel::math::Func;
use crate::narrow;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, AbiParam, Block, BlockArg, ConstantData, Endianness, FuncRef, InstBuilder, MemFlagsData, Type, UserFuncName, Value};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Linkage, Module};
use std::collections::HashMap;
use tc_ir::{BinaryOp, ReduceOp, UnaryOp};
use tc_kernel::{Action, BufferId, ExprOp, KernelProgram, LoopKernel, Scalar, Stage, View};
use tc_tensor::DType;

/// A compiled loop kernel: its function and the buffers it takes, in argument order.
pub struct LoopFn {
    pub id: FuncId,
    pub buffers: Vec<BufferId>,
    /// The function's Cranelift IR, before optimisation.
    pub clif: String,
}

/// Vectors per iteration of an unrolled vector loop (independent work for the
/// out-of-order core to overlap).
const UNROLL: usize = 4;

/// How many lanes a value has where it is emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lanes {
    Scalar,
    Vector,
}

/// The register type holding a value of `dtype`.
fn repr(dtype: DType) -> Type {
    match dtype {
        DType::F64 => types::F64,
        DType::F32 | DType::F16 | DType::BF16 => types::F32,
        DType::I64 => types::I64,
        DType::I32 => types::I32,
        DType::U8 | DType::Bool => types::I8,
    }
}

fn is_narrow(dtype: DType) -> bool {
    matches!(dtype, DType::F16 | DType::BF16)
}

fn is_signed(dtype: DType) -> bool {
    matches!(dtype, DType::I64 | DType::I32)
}

fn flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

fn vflags() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// Per-stage facts the emitter needs.
struct StageInfo {
    /// Loop level of each expression (0 = before any loop).
    depth: Vec<usize>,
    /// View id of each Load/Index expression.
    view_of: Vec<Option<usize>>,
    /// Every view of the stage: expression views, then store views.
    views: Vec<View>,
    /// View id of each store target (Store action) or of the reduce store.
    store_views: Vec<usize>,
    vectorize: bool,
}

fn view_depth(v: &View) -> usize {
    v.strides.iter().rposition(|&s| s != 0).map_or(0, |d| d + 1)
}

fn stage_info(stage: &Stage, kernel: &LoopKernel) -> StageInfo {
    let n = stage.exprs.len();
    let mut depth = vec![0usize; n];
    let mut view_of = vec![None; n];
    let mut views = Vec::new();
    for (i, e) in stage.exprs.iter().enumerate() {
        depth[i] = match &e.op {
            ExprOp::Load { view, .. } | ExprOp::Index { view } => {
                view_of[i] = Some(views.len());
                views.push(view.clone());
                view_depth(view)
            }
            ExprOp::Const(_) => 0,
            ExprOp::Slot { .. } => kernel.outer,
            ExprOp::Unary(_, a) | ExprOp::Cast(a) => depth[a.index()],
            ExprOp::Binary(_, a, b) => depth[a.index()].max(depth[b.index()]),
            ExprOp::Select(c, a, b) => depth[c.index()].max(depth[a.index()]).max(depth[b.index()]),
        };
    }
    let mut store_views = Vec::new();
    match &stage.action {
        Action::Store(stores) => {
            for s in stores {
                store_views.push(views.len());
                views.push(s.view.clone());
            }
        }
        Action::Reduce { store: Some((_, v)), .. } => {
            store_views.push(views.len());
            views.push(v.clone());
        }
        Action::Reduce { store: None, .. } => {}
    }
    let mut info = StageInfo { depth, view_of, views, store_views, vectorize: false };
    info.vectorize = vectorizable(stage, kernel, &info);
    info
}

/// Whether the stage's innermost loop can run 4 f32 lanes at a time (module docs).
fn vectorizable(stage: &Stage, kernel: &LoopKernel, info: &StageInfo) -> bool {
    let r = kernel.domain.len();
    if r <= kernel.outer {
        return false;
    }
    let inner = r - 1;
    let dt = |e: tc_kernel::ExprId| stage.exprs[e.index()].dtype;
    let f32_or_mask = |d: DType| d == DType::F32 || d == DType::Bool;
    let ok = stage.exprs.iter().enumerate().all(|(i, e)| {
        if info.depth[i] != r {
            // Used as a splat: only f32 and bool scalars are splatted.
            return true;
        }
        match &e.op {
            ExprOp::Load { view, .. } => e.dtype == DType::F32 && view.strides[inner] == 1,
            ExprOp::Index { .. } | ExprOp::Const(_) | ExprOp::Slot { .. } => false,
            ExprOp::Unary(UnaryOp::Not, a) => dt(*a) == DType::Bool,
            ExprOp::Unary(_, _) => e.dtype == DType::F32,
            ExprOp::Binary(op, a, b) => {
                let (x, y) = (dt(*a), dt(*b));
                if op.is_logical() {
                    x == DType::Bool
                } else {
                    x == DType::F32 && y == DType::F32
                }
            }
            ExprOp::Select(c, a, _) => dt(*c) == DType::Bool && f32_or_mask(dt(*a)),
            ExprOp::Cast(a) => matches!((dt(*a), e.dtype), (DType::F32, DType::Bool) | (DType::Bool, DType::F32)),
        }
    });
    // Scalars used by lanes must be splattable.
    let splats_ok = stage.exprs.iter().enumerate().all(|(i, e)| {
        let operands: Vec<usize> = match &e.op {
            ExprOp::Unary(_, a) | ExprOp::Cast(a) => vec![a.index()],
            ExprOp::Binary(_, a, b) => vec![a.index(), b.index()],
            ExprOp::Select(c, a, b) => vec![c.index(), a.index(), b.index()],
            _ => vec![],
        };
        info.depth[i] != r || operands.iter().all(|&o| info.depth[o] == r || f32_or_mask(stage.exprs[o].dtype))
    });
    let action_ok = match &stage.action {
        Action::Store(stores) => stores.iter().all(|s| s.view.strides[inner] == 1 && dt(s.value) == DType::F32),
        Action::Reduce { value, .. } => info.depth[value.index()] == r && dt(*value) == DType::F32,
    };
    ok && splats_ok && action_ok
}

/// The emitter of one function.
struct Gen<'a, 'b> {
    b: FunctionBuilder<'b>,
    module: &'a mut JITModule,
    externs: &'a HashMap<&'static str, (FuncId, Sig)>,
    frefs: HashMap<&'static str, FuncRef>,
    math: &'a mut MathFns,
    math_refs: HashMap<(Func, bool), FuncRef>,
    program: &'a KernelProgram,
    kernel: &'a LoopKernel,
    /// Whether the host has FMA.
    fma: bool,
    /// Base address of each buffer.
    bases: HashMap<BufferId, Value>,
    /// The current index of each domain axis (valid inside its loop).
    idx: Vec<Option<Value>>,
    /// Each finished reduce stage's result.
    slots: Vec<Option<Value>>,
}

/// Per-stage emission state.
struct StageState {
    info: StageInfo,
    /// `partial[k][v]`: view `v`'s element index with axes `< k` applied.
    partial: Vec<Vec<Option<Value>>>,
    /// Scalar values of expressions.
    vals: Vec<Option<Value>>,
    /// Vector values (lane-varying expressions, or splats of scalars).
    vvals: Vec<Option<Value>>,
    /// The reduction accumulator, and the vector ones: one set per unrolled copy (so
    /// the copies' additions do not wait on each other), each one or two vectors.
    acc: Option<Variable>,
    vacc: Vec<Vec<Variable>>,
}

impl Gen<'_, '_> {
    fn iconst(&mut self, v: i64) -> Value {
        self.b.ins().iconst(types::I64, v)
    }

    fn fref(&mut self, name: &'static str) -> FuncRef {
        if let Some(&f) = self.frefs.get(name) {
            return f;
        }
        let (id, _) = self.externs[name];
        let f = self.module.declare_func_in_func(id, self.b.func);
        self.frefs.insert(name, f);
        f
    }

    /// `f(x)` for f32 or f32x4 `x` (`vector`): a call of the program's one copy of the
    /// routine, so that a stage's code grows by a call, not by the routine, per use.
    fn math_call(&mut self, f: Func, vector: bool, x: Value) -> Value {
        let fref = match self.math_refs.get(&(f, vector)) {
            Some(&r) => r,
            None => {
                let id = self.math.id(self.module, f, vector);
                let r = self.module.declare_func_in_func(id, self.b.func);
                self.math_refs.insert((f, vector), r);
                r
            }
        };
        let inst = self.b.ins().call(fref, &[x]);
        self.b.inst_results(inst)[0]
    }

    fn call(&mut self, name: &'static str, args: &[Value]) -> Value {
        let f = self.fref(name);
        let inst = self.b.ins().call(f, args);
        self.b.inst_results(inst)[0]
    }

    /// Start a counted loop `for i in (start..end).step_by(step)` (the body runs while
    /// `i + step <= end`); returns `i`, the header and the exit block (which receives
    /// the final `i`).
    fn loop_begin(&mut self, start: Value, end: Value, step: i64) -> (Value, Block, Block) {
        let header = self.b.create_block();
        let body = self.b.create_block();
        let exit = self.b.create_block();
        let i = self.b.append_block_param(header, types::I64);
        self.b.append_block_param(exit, types::I64);
        self.b.ins().jump(header, &[BlockArg::Value(start)]);
        self.b.switch_to_block(header);
        let next = self.b.ins().iadd_imm_s(i, step);
        let go = self.b.ins().icmp(IntCC::SignedLessThanOrEqual, next, end);
        self.b.ins().brif(go, body, &[], exit, &[BlockArg::Value(i)]);
        self.b.switch_to_block(body);
        (i, header, exit)
    }

    /// Close a loop opened by [`Gen::loop_begin`]; returns the index it stopped at.
    fn loop_end(&mut self, i: Value, header: Block, exit: Block, step: i64) -> Value {
        let next = self.b.ins().iadd_imm_s(i, step);
        self.b.ins().jump(header, &[BlockArg::Value(next)]);
        self.b.switch_to_block(exit);
        self.b.block_params(exit)[0]
    }

    fn elem_addr(&mut self, buffer: BufferId, index: Value) -> Value {
        let size = self.program.buffer(buffer).ty.dtype.size_bytes() as i64;
        let off = self.b.ins().imul_imm_s(index, size);
        let base = self.bases[&buffer];
        self.b.ins().iadd(base, off)
    }

    fn load_elem(&mut self, buffer: BufferId, index: Value) -> Value {
        let dtype = self.program.buffer(buffer).ty.dtype;
        let addr = self.elem_addr(buffer, index);
        match dtype {
            DType::F16 => {
                let h = self.b.ins().uload16(types::I32, flags(), addr, 0);
                narrow::f16_bits_to_f32(&mut self.b, h)
            }
            DType::BF16 => {
                let h = self.b.ins().uload16(types::I32, flags(), addr, 0);
                narrow::bf16_bits_to_f32(&mut self.b, h)
            }
            d => self.b.ins().load(repr(d), flags(), addr, 0),
        }
    }

    fn store_elem(&mut self, buffer: BufferId, index: Value, v: Value) {
        let dtype = self.program.buffer(buffer).ty.dtype;
        let addr = self.elem_addr(buffer, index);
        let v = match dtype {
            DType::F16 => narrow::f32_to_f16_bits(&mut self.b, v),
            DType::BF16 => narrow::f32_to_bf16_bits(&mut self.b, v),
            _ => {
                self.b.ins().store(flags(), v, addr, 0);
                return;
            }
        };
        self.b.ins().istore16(flags(), v, addr, 0);
    }

    /// An f32 value rounded to `dtype` (f16/bf16), held as f32.
    fn quantize(&mut self, dtype: DType, v: Value) -> Value {
        match dtype {
            DType::F16 => {
                let h = narrow::f32_to_f16_bits(&mut self.b, v);
                narrow::f16_bits_to_f32(&mut self.b, h)
            }
            DType::BF16 => {
                let h = narrow::f32_to_bf16_bits(&mut self.b, v);
                narrow::bf16_bits_to_f32(&mut self.b, h)
            }
            _ => v,
        }
    }

    /// A float value (in its repr) widened to f64, exactly.
    fn widen_f64(&mut self, dtype: DType, v: Value) -> Value {
        if dtype == DType::F64 {
            v
        } else {
            self.b.ins().fpromote(types::F64, v)
        }
    }

    /// An f64 rounded once to float `dtype`, in its repr.
    fn round_f64(&mut self, dtype: DType, v: Value) -> Value {
        match dtype {
            DType::F64 => v,
            DType::F32 => self.b.ins().fdemote(types::F32, v),
            d => {
                let odd = narrow::f64_to_f32_odd(&mut self.b, v);
                self.quantize(d, odd)
            }
        }
    }

    /// `f(x)` computed in f64 by an extern and rounded once to `dtype`.
    fn via_f64(&mut self, dtype: DType, name: &'static str, args: &[Value]) -> Value {
        let wide: Vec<Value> = args.iter().map(|&a| self.widen_f64(dtype, a)).collect();
        let r = self.call(name, &wide);
        self.round_f64(dtype, r)
    }

    fn fconst(&mut self, dtype: DType, v: f64) -> Value {
        if repr(dtype) == types::F64 {
            self.b.ins().f64const(v)
        } else {
            self.b.ins().f32const(v as f32)
        }
    }

    fn scalar_const(&mut self, dtype: DType, s: Scalar) -> Value {
        match s {
            Scalar::F(x) => self.fconst(dtype, x),
            Scalar::I(x) => self.b.ins().iconst(repr(dtype), x),
            Scalar::B(x) => self.b.ins().iconst(types::I8, x as i64),
        }
    }

    fn int_select(&mut self, c: Value, a: Value, b: Value) -> Value {
        self.b.ins().select(c, a, b)
    }

    fn scalar_unary(&mut self, op: UnaryOp, dtype: DType, x: Value) -> Value {
        if dtype == DType::Bool {
            return self.b.ins().bxor_imm_s(x, 1);
        }
        if !dtype.is_float() {
            let ty = repr(dtype);
            return match op {
                UnaryOp::Neg => self.b.ins().ineg(x),
                UnaryOp::Abs if is_signed(dtype) => {
                    let n = self.b.ins().ineg(x);
                    let lt = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, x, 0);
                    self.int_select(lt, n, x)
                }
                UnaryOp::Abs => x,
                _ => {
                    // Sign.
                    let one = self.b.ins().iconst(ty, 1);
                    let zero = self.b.ins().iconst(ty, 0);
                    if is_signed(dtype) {
                        let m1 = self.b.ins().iconst(ty, -1);
                        let gt = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, x, 0);
                        let lt = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, x, 0);
                        let s = self.int_select(lt, m1, zero);
                        self.int_select(gt, one, s)
                    } else {
                        let nz = self.b.ins().icmp_imm_s(IntCC::NotEqual, x, 0);
                        self.int_select(nz, one, zero)
                    }
                }
            };
        }
        match op {
            UnaryOp::Neg => self.b.ins().fneg(x),
            UnaryOp::Abs => self.b.ins().fabs(x),
            UnaryOp::Sign => {
                let zero = self.fconst(dtype, 0.0);
                let one = self.fconst(dtype, 1.0);
                let m1 = self.fconst(dtype, -1.0);
                let gt = self.b.ins().fcmp(FloatCC::GreaterThan, x, zero);
                let lt = self.b.ins().fcmp(FloatCC::LessThan, x, zero);
                let s = self.b.ins().select(lt, m1, zero);
                let s = self.b.ins().select(gt, one, s);
                let nan = self.b.ins().fcmp(FloatCC::Unordered, x, x);
                self.b.ins().select(nan, x, s)
            }
            UnaryOp::Floor => self.b.ins().floor(x),
            UnaryOp::Ceil => self.b.ins().ceil(x),
            UnaryOp::Round => self.b.ins().nearest(x),
            UnaryOp::Sqrt => {
                let s = self.b.ins().sqrt(x);
                self.quantize(dtype, s)
            }
            UnaryOp::Rsqrt => {
                let w = self.widen_f64(dtype, x);
                let s = self.b.ins().sqrt(w);
                let one = self.b.ins().f64const(1.0);
                let r = self.b.ins().fdiv(one, s);
                self.round_f64(dtype, r)
            }
            _ if dtype == DType::F32 && Func::of(op).is_some() => {
                self.math_call(Func::of(op).expect("just checked"), false, x)
            }
            UnaryOp::Exp => self.via_f64(dtype, "tc_exp", &[x]),
            UnaryOp::Log => self.via_f64(dtype, "tc_log", &[x]),
            UnaryOp::Tanh => self.via_f64(dtype, "tc_tanh", &[x]),
            UnaryOp::Sigmoid => self.via_f64(dtype, "tc_sigmoid", &[x]),
            UnaryOp::Sin => self.via_f64(dtype, "tc_sin", &[x]),
            UnaryOp::Cos => self.via_f64(dtype, "tc_cos", &[x]),
            UnaryOp::Erf => self.via_f64(dtype, "tc_erf", &[x]),
            UnaryOp::Atan => self.via_f64(dtype, "tc_atan", &[x]),
            UnaryOp::Not => self.b.ins().bxor_imm_s(x, 1),
        }
    }

    /// Python-style integer division and remainder (0 for a zero divisor; `MIN / -1`
    /// wraps).
    fn int_div_rem(&mut self, op: BinaryOp, dtype: DType, a: Value, b: Value) -> Value {
        let ty = repr(dtype);
        let zero = self.b.ins().iconst(ty, 0);
        let one = self.b.ins().iconst(ty, 1);
        let is_zero = self.b.ins().icmp_imm_s(IntCC::Equal, b, 0);
        if !is_signed(dtype) {
            // u8 and bool: unsigned, computed in i32.
            let a32 = self.b.ins().uextend(types::I32, a);
            let bs = self.int_select(is_zero, one, b);
            let b32 = self.b.ins().uextend(types::I32, bs);
            let r = if op == BinaryOp::Div { self.b.ins().udiv(a32, b32) } else { self.b.ins().urem(a32, b32) };
            let r = self.b.ins().ireduce(ty, r);
            return self.int_select(is_zero, zero, r);
        }
        let is_m1 = self.b.ins().icmp_imm_s(IntCC::Equal, b, -1);
        let special = self.b.ins().bor(is_zero, is_m1);
        let bs = self.int_select(special, one, b);
        let q = self.b.ins().sdiv(a, bs);
        let r = self.b.ins().srem(a, bs);
        let r_nz = self.b.ins().icmp_imm_s(IntCC::NotEqual, r, 0);
        let x = self.b.ins().bxor(r, bs);
        let signs_differ = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, x, 0);
        let adjust = self.b.ins().band(r_nz, signs_differ);
        if op == BinaryOp::Div {
            let q1 = self.b.ins().iadd_imm_s(q, -1);
            let qf = self.int_select(adjust, q1, q);
            let na = self.b.ins().ineg(a);
            let qf = self.int_select(is_m1, na, qf);
            self.int_select(is_zero, zero, qf)
        } else {
            let rb = self.b.ins().iadd(r, bs);
            let rf = self.int_select(adjust, rb, r);
            self.int_select(special, zero, rf)
        }
    }

    fn int_cc(op: BinaryOp, signed: bool) -> IntCC {
        match (op, signed) {
            (BinaryOp::Eq, _) => IntCC::Equal,
            (BinaryOp::Ne, _) => IntCC::NotEqual,
            (BinaryOp::Lt, true) => IntCC::SignedLessThan,
            (BinaryOp::Le, true) => IntCC::SignedLessThanOrEqual,
            (BinaryOp::Gt, true) => IntCC::SignedGreaterThan,
            (BinaryOp::Ge, true) => IntCC::SignedGreaterThanOrEqual,
            (BinaryOp::Lt, false) => IntCC::UnsignedLessThan,
            (BinaryOp::Le, false) => IntCC::UnsignedLessThanOrEqual,
            (BinaryOp::Gt, false) => IntCC::UnsignedGreaterThan,
            (_, _) => IntCC::UnsignedGreaterThanOrEqual,
        }
    }

    fn float_cc(op: BinaryOp) -> FloatCC {
        match op {
            BinaryOp::Eq => FloatCC::Equal,
            BinaryOp::Ne => FloatCC::NotEqual,
            BinaryOp::Lt => FloatCC::LessThan,
            BinaryOp::Le => FloatCC::LessThanOrEqual,
            BinaryOp::Gt => FloatCC::GreaterThan,
            _ => FloatCC::GreaterThanOrEqual,
        }
    }

    /// `op` on scalars of operand dtype `dtype`.
    fn scalar_binary(&mut self, op: BinaryOp, dtype: DType, a: Value, b: Value) -> Value {
        if op.is_comparison() {
            return if dtype.is_float() {
                self.b.ins().fcmp(Self::float_cc(op), a, b)
            } else {
                self.b.ins().icmp(Self::int_cc(op, is_signed(dtype)), a, b)
            };
        }
        if dtype.is_float() {
            let r = match op {
                BinaryOp::Add => self.b.ins().fadd(a, b),
                BinaryOp::Sub => self.b.ins().fsub(a, b),
                BinaryOp::Mul => self.b.ins().fmul(a, b),
                BinaryOp::Div => self.b.ins().fdiv(a, b),
                BinaryOp::Rem => return self.via_f64(dtype, "tc_mod", &[a, b]),
                BinaryOp::Pow => return self.via_f64(dtype, "tc_pow", &[a, b]),
                BinaryOp::Max => return Fx { b: &mut self.b, ty: repr(dtype), fma: self.fma }.max_nan(a, b),
                _ => return Fx { b: &mut self.b, ty: repr(dtype), fma: self.fma }.min_nan(a, b),
            };
            return self.quantize(dtype, r);
        }
        match op {
            BinaryOp::Add => self.b.ins().iadd(a, b),
            BinaryOp::Sub => self.b.ins().isub(a, b),
            BinaryOp::Mul => self.b.ins().imul(a, b),
            BinaryOp::Div | BinaryOp::Rem => self.int_div_rem(op, dtype, a, b),
            BinaryOp::And => self.b.ins().band(a, b),
            BinaryOp::Or => self.b.ins().bor(a, b),
            BinaryOp::Max | BinaryOp::Min => {
                let cc = if op == BinaryOp::Max { BinaryOp::Ge } else { BinaryOp::Le };
                let c = self.b.ins().icmp(Self::int_cc(cc, is_signed(dtype)), a, b);
                self.int_select(c, a, b)
            }
            _ => unreachable!("float-only op {op:?} on {dtype}"),
        }
    }

    /// Conversion of `x` from `from` to `to` (semantics of `Op::Cast`).
    fn scalar_cast(&mut self, from: DType, to: DType, x: Value) -> Value {
        if from == to {
            return x;
        }
        let (rf, rt) = (repr(from), repr(to));
        if to == DType::Bool {
            return if from.is_float() {
                let zero = self.fconst(from, 0.0);
                self.b.ins().fcmp(FloatCC::NotEqual, x, zero)
            } else {
                self.b.ins().icmp_imm_s(IntCC::NotEqual, x, 0)
            };
        }
        match (from.is_float(), to.is_float()) {
            (true, true) => match (rf == types::F64, to) {
                (true, _) => self.round_f64(to, x),
                (false, DType::F64) => self.b.ins().fpromote(types::F64, x),
                // f32/f16/bf16 to f32/f16/bf16: the value is exact in f32; round once.
                (false, _) => self.quantize(to, x),
            },
            (true, false) => {
                // Truncate toward zero, saturating; NaN → 0.
                if to == DType::U8 {
                    let i = self.b.ins().fcvt_to_sint_sat(types::I32, x);
                    let zero = self.b.ins().iconst(types::I32, 0);
                    let max = self.b.ins().iconst(types::I32, 255);
                    let lt = self.b.ins().icmp(IntCC::SignedLessThan, i, zero);
                    let i = self.int_select(lt, zero, i);
                    let gt = self.b.ins().icmp(IntCC::SignedGreaterThan, i, max);
                    let i = self.int_select(gt, max, i);
                    self.b.ins().ireduce(types::I8, i)
                } else {
                    self.b.ins().fcvt_to_sint_sat(rt, x)
                }
            }
            (false, true) => {
                if is_narrow(to) && matches!(from, DType::I64 | DType::I32) {
                    let w = if from == DType::I32 { self.b.ins().sextend(types::I64, x) } else { x };
                    let name = if to == DType::F16 { "tc_i64_to_f16" } else { "tc_i64_to_bf16" };
                    let bits = self.call(name, &[w]);
                    return if to == DType::F16 { narrow::f16_bits_to_f32(&mut self.b, bits) } else { narrow::bf16_bits_to_f32(&mut self.b, bits) };
                }
                let x = if rf == types::I8 { self.b.ins().uextend(types::I32, x) } else { x };
                self.b.ins().fcvt_from_sint(rt, x)
            }
            (false, false) => {
                let (wf, wt) = (rf.bits(), rt.bits());
                if wt < wf {
                    self.b.ins().ireduce(rt, x)
                } else if wt == wf {
                    x
                } else if is_signed(from) {
                    self.b.ins().sextend(rt, x)
                } else {
                    self.b.ins().uextend(rt, x)
                }
            }
        }
    }

    /// The scalar value of expression `i` (its operands are already emitted).
    fn emit_scalar(&mut self, stage: &Stage, ss: &mut StageState, i: usize) -> Value {
        let e = &stage.exprs[i];
        let val = |ss: &StageState, a: tc_kernel::ExprId| ss.vals[a.index()].expect("operand emitted before its user");
        match &e.op {
            ExprOp::Load { buffer, .. } => {
                let v = ss.info.view_of[i].expect("load has a view");
                let index = ss.partial[ss.info.depth[i].max(self.kernel.outer)][v].expect("partial index");
                self.load_elem(*buffer, index)
            }
            ExprOp::Index { .. } => {
                let v = ss.info.view_of[i].expect("index has a view");
                ss.partial[ss.info.depth[i].max(self.kernel.outer)][v].expect("partial index")
            }
            ExprOp::Const(s) => self.scalar_const(e.dtype, *s),
            ExprOp::Slot { stage } => self.slots[*stage].expect("slot of an earlier stage"),
            ExprOp::Unary(op, a) => self.scalar_unary(*op, e.dtype, val(ss, *a)),
            ExprOp::Binary(op, a, b) => {
                let dt = stage.exprs[a.index()].dtype;
                self.scalar_binary(*op, dt, val(ss, *a), val(ss, *b))
            }
            ExprOp::Select(c, a, b) => {
                let c = val(ss, *c);
                self.b.ins().select(c, val(ss, *a), val(ss, *b))
            }
            ExprOp::Cast(a) => {
                let from = stage.exprs[a.index()].dtype;
                self.scalar_cast(from, e.dtype, val(ss, *a))
            }
        }
    }

    /// The vector value of operand `a`: its lanes, or a splat of its scalar.
    fn vec_operand(&mut self, stage: &Stage, ss: &mut StageState, a: tc_kernel::ExprId) -> Value {
        if let Some(v) = ss.vvals[a.index()] {
            return v;
        }
        let s = ss.vals[a.index()].expect("scalar operand emitted");
        let v = if stage.exprs[a.index()].dtype == DType::Bool {
            let ones = self.b.ins().iconst(types::I32, -1);
            let zero = self.b.ins().iconst(types::I32, 0);
            let m = self.b.ins().select(s, ones, zero);
            self.b.ins().splat(types::I32X4, m)
        } else {
            self.b.ins().splat(types::F32X4, s)
        };
        ss.vvals[a.index()] = Some(v);
        v
    }

    /// `f(lanes)` through an f64 extern, lane by lane.
    fn lanewise(&mut self, name: &'static str, args: &[Value]) -> Value {
        let mut out = args[0];
        for lane in 0..4u8 {
            let wide: Vec<Value> = args
                .iter()
                .map(|&a| {
                    let x = self.b.ins().extractlane(a, lane);
                    self.b.ins().fpromote(types::F64, x)
                })
                .collect();
            let r = self.call(name, &wide);
            let r = self.b.ins().fdemote(types::F32, r);
            out = self.b.ins().insertlane(out, r, lane);
        }
        out
    }

    /// The lanes of expression `i` (f32x4, or an i32x4 mask for bool).
    fn emit_vector(&mut self, stage: &Stage, ss: &mut StageState, i: usize) -> Value {
        let e = &stage.exprs[i];
        match &e.op {
            ExprOp::Load { buffer, .. } => {
                let v = ss.info.view_of[i].expect("load has a view");
                let index = ss.partial[ss.info.depth[i]][v].expect("partial index");
                let addr = self.elem_addr(*buffer, index);
                self.b.ins().load(types::F32X4, flags(), addr, 0)
            }
            ExprOp::Unary(op, a) => {
                let x = self.vec_operand(stage, ss, *a);
                if let Some(f) = Func::of(*op) {
                    return self.math_call(f, true, x);
                }
                let mut fx = Fx { b: &mut self.b, ty: types::F32X4, fma: self.fma };
                match op {
                    UnaryOp::Not => fx.b.ins().bnot(x),
                    UnaryOp::Neg => fx.b.ins().fneg(x),
                    UnaryOp::Abs => fx.b.ins().fabs(x),
                    UnaryOp::Sign => {
                        let zero = fx.c(0.0);
                        let one = fx.c(1.0);
                        let m1 = fx.c(-1.0);
                        let gt = fx.fcmp(FloatCC::GreaterThan, x, zero);
                        let lt = fx.fcmp(FloatCC::LessThan, x, zero);
                        let s = fx.select(lt, m1, zero);
                        let s = fx.select(gt, one, s);
                        let nan = fx.fcmp(FloatCC::Unordered, x, x);
                        fx.select(nan, x, s)
                    }
                    UnaryOp::Floor => fx.b.ins().floor(x),
                    UnaryOp::Ceil => fx.b.ins().ceil(x),
                    UnaryOp::Round => fx.b.ins().nearest(x),
                    UnaryOp::Sqrt => fx.b.ins().sqrt(x),
                    UnaryOp::Rsqrt => {
                        let s = fx.b.ins().sqrt(x);
                        let one = fx.c(1.0);
                        fx.div(one, s)
                    }
                    UnaryOp::Exp | UnaryOp::Log | UnaryOp::Tanh | UnaryOp::Sigmoid | UnaryOp::Sin | UnaryOp::Cos | UnaryOp::Erf | UnaryOp::Atan => {
                        unreachable!("tc_kernel::math functions are lowered above")
                    }
                }
            }
            ExprOp::Binary(op, a, b) => {
                let x = self.vec_operand(stage, ss, *a);
                let y = self.vec_operand(stage, ss, *b);
                let mut fx = Fx { b: &mut self.b, ty: types::F32X4, fma: self.fma };
                match op {
                    BinaryOp::Add => fx.add(x, y),
                    BinaryOp::Sub => fx.sub(x, y),
                    BinaryOp::Mul => fx.mul(x, y),
                    BinaryOp::Div => fx.div(x, y),
                    BinaryOp::Max => fx.max_nan(x, y),
                    BinaryOp::Min => fx.min_nan(x, y),
                    BinaryOp::And => fx.b.ins().band(x, y),
                    BinaryOp::Or => fx.b.ins().bor(x, y),
                    BinaryOp::Rem => self.lanewise("tc_mod", &[x, y]),
                    BinaryOp::Pow => self.lanewise("tc_pow", &[x, y]),
                    cmp => fx.fcmp(Self::float_cc(*cmp), x, y),
                }
            }
            ExprOp::Select(c, a, b) => {
                let c = self.vec_operand(stage, ss, *c);
                let x = self.vec_operand(stage, ss, *a);
                let y = self.vec_operand(stage, ss, *b);
                Fx { b: &mut self.b, ty: types::F32X4, fma: self.fma }.select(c, x, y)
            }
            ExprOp::Cast(a) => {
                let x = self.vec_operand(stage, ss, *a);
                let mut fx = Fx { b: &mut self.b, ty: types::F32X4, fma: self.fma };
                if e.dtype == DType::Bool {
                    let zero = fx.c(0.0);
                    fx.fcmp(FloatCC::NotEqual, x, zero)
                } else {
                    // Mask to 0.0 / 1.0.
                    let one = fx.c(1.0);
                    let one_bits = fx.bits(one);
                    let m = fx.b.ins().band(x, one_bits);
                    fx.from_bits(m)
                }
            }
            ExprOp::Index { .. } | ExprOp::Const(_) | ExprOp::Slot { .. } => unreachable!("not lane-varying"),
        }
    }

    /// Enter level `k + 1` (inside the loop over axis `k`): extend every view's partial
    /// index by axis `k`'s term, then emit the expressions of depth `k + 1`.
    fn enter_level(&mut self, stage: &Stage, ss: &mut StageState, k: usize, lanes: Lanes) {
        let i = self.idx[k].expect("loop index");
        for v in 0..ss.info.views.len() {
            let prev = ss.partial[k][v].expect("partial of the previous level");
            let s = ss.info.views[v].strides[k];
            ss.partial[k + 1][v] = Some(if s == 0 {
                prev
            } else {
                let t = self.b.ins().imul_imm_s(i, s as i64);
                self.b.ins().iadd(prev, t)
            });
        }
        self.emit_depth(stage, ss, k + 1, lanes);
    }

    /// Emit every expression of depth `d`.
    fn emit_depth(&mut self, stage: &Stage, ss: &mut StageState, d: usize, lanes: Lanes) {
        for i in 0..stage.exprs.len() {
            if ss.info.depth[i] != d && !(d == self.kernel.outer && ss.info.depth[i] < d) {
                continue;
            }
            match lanes {
                Lanes::Scalar => {
                    let v = self.emit_scalar(stage, ss, i);
                    ss.vals[i] = Some(v);
                }
                Lanes::Vector => {
                    let v = self.emit_vector(stage, ss, i);
                    ss.vvals[i] = Some(v);
                }
            }
        }
    }

    fn float_acc_init(op: ReduceOp, empty: bool) -> f64 {
        match op {
            ReduceOp::Sum if empty => 0.0,
            ReduceOp::Sum => -0.0,
            ReduceOp::Prod => 1.0,
            ReduceOp::Max => f64::NEG_INFINITY,
            ReduceOp::Min => f64::INFINITY,
        }
    }

    /// The accumulator's register type and initial value for reducing `dtype`.
    fn acc_init(&mut self, op: ReduceOp, dtype: DType, empty: bool) -> (Type, Value) {
        if dtype.is_float() {
            let init = Self::float_acc_init(op, empty);
            return match op {
                ReduceOp::Sum | ReduceOp::Prod => (types::F64, self.b.ins().f64const(init)),
                _ => (repr(dtype), self.fconst(dtype, init)),
            };
        }
        let ty = repr(dtype);
        let v = match (op, dtype) {
            (ReduceOp::Sum, _) => 0,
            (ReduceOp::Prod, _) => 1,
            (ReduceOp::Max, DType::I64) => i64::MIN,
            (ReduceOp::Max, DType::I32) => i32::MIN as i64,
            (ReduceOp::Max, _) => 0,
            (ReduceOp::Min, DType::I64) => i64::MAX,
            (ReduceOp::Min, DType::I32) => i32::MAX as i64,
            (ReduceOp::Min, DType::U8) => 255,
            (ReduceOp::Min, _) => 1,
        };
        (ty, self.b.ins().iconst(ty, v))
    }

    /// `acc ⊕ v` for a scalar `v` of `dtype`.
    fn combine(&mut self, op: ReduceOp, dtype: DType, acc: Value, v: Value) -> Value {
        if dtype.is_float() {
            return match op {
                ReduceOp::Sum => {
                    let w = self.widen_f64(dtype, v);
                    self.b.ins().fadd(acc, w)
                }
                ReduceOp::Prod => {
                    let w = self.widen_f64(dtype, v);
                    self.b.ins().fmul(acc, w)
                }
                ReduceOp::Max => Fx { b: &mut self.b, ty: repr(dtype), fma: self.fma }.max_nan(acc, v),
                ReduceOp::Min => Fx { b: &mut self.b, ty: repr(dtype), fma: self.fma }.min_nan(acc, v),
            };
        }
        let bop = match op {
            ReduceOp::Sum => BinaryOp::Add,
            ReduceOp::Prod => BinaryOp::Mul,
            ReduceOp::Max => BinaryOp::Max,
            ReduceOp::Min => BinaryOp::Min,
        };
        self.scalar_binary(bop, dtype, acc, v)
    }

    /// The action at one scalar point of the innermost level.
    fn point_scalar(&mut self, stage: &Stage, ss: &mut StageState) {
        let r = self.kernel.domain.len();
        match &stage.action {
            Action::Store(stores) => {
                for (s, &vid) in stores.iter().zip(&ss.info.store_views) {
                    let index = ss.partial[r][vid].expect("store index");
                    let v = ss.vals[s.value.index()].expect("stored value");
                    self.store_elem(s.buffer, index, v);
                }
            }
            Action::Reduce { op, value, .. } => {
                let acc_var = ss.acc.expect("accumulator");
                let dtype = stage.exprs[value.index()].dtype;
                let acc = self.b.use_var(acc_var);
                let v = ss.vals[value.index()].expect("reduced value");
                let acc = self.combine(*op, dtype, acc, v);
                self.b.def_var(acc_var, acc);
            }
        }
    }

    /// The action for 4 lanes of the innermost level, by unrolled copy `copy`.
    fn point_vector(&mut self, stage: &Stage, ss: &mut StageState, copy: usize) {
        let r = self.kernel.domain.len();
        match &stage.action {
            Action::Store(stores) => {
                for (s, vid) in stores.iter().zip(ss.info.store_views.clone()) {
                    let index = ss.partial[r][vid].expect("store index");
                    let v = self.vec_operand(stage, ss, s.value);
                    let addr = self.elem_addr(s.buffer, index);
                    self.b.ins().store(flags(), v, addr, 0);
                }
            }
            Action::Reduce { op, value, .. } => {
                let v = ss.vvals[value.index()].expect("reduced lanes");
                match op {
                    ReduceOp::Sum | ReduceOp::Prod => {
                        let lo = self.b.ins().fvpromote_low(v);
                        let bytes = self.b.ins().bitcast(types::I8X16, vflags(), v);
                        let mask: Vec<u8> = (8..16).chain(8..16).collect();
                        let imm = self.b.func.dfg.immediates.push(ConstantData::from(mask));
                        let hi_bytes = self.b.ins().shuffle(bytes, bytes, imm);
                        let hi = self.b.ins().bitcast(types::F32X4, vflags(), hi_bytes);
                        let hi = self.b.ins().fvpromote_low(hi);
                        for (var, part) in ss.vacc[copy].clone().into_iter().zip([lo, hi]) {
                            let acc = self.b.use_var(var);
                            let acc = if *op == ReduceOp::Sum { self.b.ins().fadd(acc, part) } else { self.b.ins().fmul(acc, part) };
                            self.b.def_var(var, acc);
                        }
                    }
                    ReduceOp::Max | ReduceOp::Min => {
                        let var = ss.vacc[copy][0];
                        let acc = self.b.use_var(var);
                        let mut fx = Fx { b: &mut self.b, ty: types::F32X4, fma: self.fma };
                        let acc = if *op == ReduceOp::Max { fx.max_nan(acc, v) } else { fx.min_nan(acc, v) };
                        self.b.def_var(var, acc);
                    }
                }
            }
        }
    }

    /// Fold the vector accumulators into the scalar one.
    fn fold_vector_acc(&mut self, stage: &Stage, ss: &mut StageState) {
        let Action::Reduce { op, value, .. } = &stage.action else {
            return;
        };
        let dtype = stage.exprs[value.index()].dtype;
        let acc_var = ss.acc.expect("accumulator");
        let mut acc = self.b.use_var(acc_var);
        for var in ss.vacc.concat() {
            let v = self.b.use_var(var);
            let lanes = if matches!(op, ReduceOp::Sum | ReduceOp::Prod) { 2 } else { 4 };
            for lane in 0..lanes {
                let x = self.b.ins().extractlane(v, lane);
                acc = match op {
                    ReduceOp::Sum => self.b.ins().fadd(acc, x),
                    ReduceOp::Prod => self.b.ins().fmul(acc, x),
                    _ => self.combine(*op, dtype, acc, x),
                };
            }
        }
        self.b.def_var(acc_var, acc);
    }

    /// The inner loops from level `k` (all expressions of depth `<= k` emitted).
    fn inner(&mut self, stage: &Stage, ss: &mut StageState, k: usize, lo: Value, hi: Value) {
        let r = self.kernel.domain.len();
        if k == r {
            self.point_scalar(stage, ss);
            return;
        }
        let (start, end) = if k == 0 { (lo, hi) } else { (self.iconst(0), self.iconst(self.kernel.domain[k] as i64)) };
        let mut start = start;
        if k + 1 == r && ss.info.vectorize {
            // Splat the scalars the lanes may use, once, before the loop.
            for (i, e) in stage.exprs.iter().enumerate() {
                if ss.info.depth[i] <= k && matches!(e.dtype, DType::F32 | DType::Bool) && ss.vals[i].is_some() {
                    ss.vvals[i] = None;
                    self.vec_operand(stage, ss, tc_kernel::ExprId(i as u32));
                }
            }
            if let Action::Reduce { op, .. } = &stage.action {
                let init = Self::float_acc_init(*op, false);
                let (ty, parts, v) = if matches!(op, ReduceOp::Sum | ReduceOp::Prod) {
                    let s = self.b.ins().f64const(init);
                    (types::F64X2, 2, self.b.ins().splat(types::F64X2, s))
                } else {
                    let s = self.b.ins().f32const(init as f32);
                    (types::F32X4, 1, self.b.ins().splat(types::F32X4, s))
                };
                ss.vacc = (0..UNROLL)
                    .map(|_| {
                        (0..parts)
                            .map(|_| {
                                let var = self.b.declare_var(ty);
                                self.b.def_var(var, v);
                                var
                            })
                            .collect()
                    })
                    .collect();
            }
            // UNROLL vectors per iteration, then single vectors, then scalars.
            for copies in [UNROLL, 1] {
                let step = 4 * copies as i64;
                let (i, header, exit) = self.loop_begin(start, end, step);
                for c in 0..copies {
                    self.idx[k] = Some(if c == 0 { i } else { self.b.ins().iadd_imm_s(i, 4 * c as i64) });
                    self.enter_level(stage, ss, k, Lanes::Vector);
                    self.point_vector(stage, ss, c);
                }
                start = self.loop_end(i, header, exit, step);
            }
            self.fold_vector_acc(stage, ss);
        }
        let (i, header, exit) = self.loop_begin(start, end, 1);
        self.idx[k] = Some(i);
        self.enter_level(stage, ss, k, Lanes::Scalar);
        self.inner(stage, ss, k + 1, lo, hi);
        self.loop_end(i, header, exit, 1);
    }

    fn emit_stage(&mut self, s: usize, lo: Value, hi: Value) {
        let kernel = self.kernel;
        let stage = &kernel.stages[s];
        let info = stage_info(stage, self.kernel);
        let outer = self.kernel.outer;
        let r = self.kernel.domain.len();
        let nv = info.views.len();
        let n = stage.exprs.len();
        let mut ss = StageState { info, partial: vec![vec![None; nv]; r + 1], vals: vec![None; n], vvals: vec![None; n], acc: None, vacc: Vec::new() };
        // Partial indices at the stage's level: the outer axes applied.
        for v in 0..nv {
            let view = &ss.info.views[v];
            let mut acc = self.iconst(view.offset as i64);
            for d in 0..outer {
                if view.strides[d] != 0 {
                    let i = self.idx[d].expect("outer index");
                    let t = self.b.ins().imul_imm_s(i, view.strides[d] as i64);
                    acc = self.b.ins().iadd(acc, t);
                }
            }
            ss.partial[outer][v] = Some(acc);
        }
        if self.kernel.domain[outer..].contains(&0) {
            // No inner point: nothing is loaded (a hoisted load would read an empty
            // buffer) and a reduction is its identity.
            self.empty_stage(s, &ss);
            return;
        }
        self.emit_depth(stage, &mut ss, outer, Lanes::Scalar);
        if let Action::Reduce { op, value, .. } = &stage.action {
            let dtype = stage.exprs[value.index()].dtype;
            let (ty, init) = self.acc_init(*op, dtype, false);
            let var = self.b.declare_var(ty);
            self.b.def_var(var, init);
            ss.acc = Some(var);
        }
        self.inner(stage, &mut ss, outer, lo, hi);
        if let Action::Reduce { op, value, store } = &stage.action {
            let dtype = stage.exprs[value.index()].dtype;
            let acc = self.b.use_var(ss.acc.expect("accumulator"));
            let result = if dtype.is_float() && matches!(op, ReduceOp::Sum | ReduceOp::Prod) { self.round_f64(dtype, acc) } else { acc };
            self.slots[s] = Some(result);
            if let Some((buffer, _)) = store {
                let index = ss.partial[outer][ss.info.store_views[0]].expect("store index");
                self.store_elem(*buffer, index, result);
            }
        }
    }

    /// Stage `s` over an empty inner space, at one outer point: a store stage does
    /// nothing; a reduction's result (its slot, and its store) is the identity.
    fn empty_stage(&mut self, s: usize, ss: &StageState) {
        let stage = &self.kernel.stages[s];
        let Action::Reduce { op, value, store } = &stage.action else { return };
        let dtype = stage.exprs[value.index()].dtype;
        let (_, init) = self.acc_init(*op, dtype, true);
        let result = if dtype.is_float() && matches!(op, ReduceOp::Sum | ReduceOp::Prod) { self.round_f64(dtype, init) } else { init };
        self.slots[s] = Some(result);
        if let Some((buffer, _)) = store {
            let index = ss.partial[self.kernel.outer][ss.info.store_views[0]].expect("store index");
            self.store_elem(*buffer, index, result);
        }
    }

    /// The outer loops from level `k`, then the stages.
    fn outer(&mut self, k: usize, lo: Value, hi: Value) {
        if k == self.kernel.outer {
            for s in 0..self.kernel.stages.len() {
                self.emit_stage(s, lo, hi);
            }
            return;
        }
        let (start, end) = if k == 0 { (lo, hi) } else { (self.iconst(0), self.iconst(self.kernel.domain[k] as i64)) };
        let (i, header, exit) = self.loop_begin(start, end, 1);
        self.idx[k] = Some(i);
        self.outer(k + 1, lo, hi);
        self.loop_end(i, header, exit, 1);
    }
}

/// Compile `kernel` into `module` as function `name`.
pub fn compile_loop(
    module: &mut JITModule,
    ctx: &mut Context,
    fctx: &mut FunctionBuilderContext,
    callees: &mut Callees,
    program: &KernelProgram,
    kernel: &LoopKernel,
    name: &str,
) -> Result<LoopFn, String> {
    let ptr = module.target_config().pointer_type();
    let mut sig = module.make_signature();
    sig.params.extend([AbiParam::new(ptr), AbiParam::new(types::I64), AbiParam::new(types::I64)]);
    let id = module.declare_function(name, Linkage::Local, &sig).map_err(|e| e.to_string())?;
    ctx.func.signature = sig;
    ctx.func.name = UserFuncName::user(0, id.as_u32());
    let k = tc_kernel::Kernel::Loop(kernel.clone());
    let mut buffers = k.reads();
    for b in k.writes() {
        if !buffers.contains(&b) {
            buffers.push(b);
        }
    }
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let (args, lo, hi) = (params[0], params[1], params[2]);
        let mut bases = HashMap::new();
        for (k, &buf) in buffers.iter().enumerate() {
            let base = b.ins().load(ptr, MemFlagsData::trusted(), args, (8 * k) as i32);
            bases.insert(buf, base);
        }
        let fma = crate::jit::has_fma(module.isa());
        let mut g = Gen {
            b,
            module,
            fma,
            externs: callees.externs,
            frefs: HashMap::new(),
            math: &mut callees.math,
            math_refs: HashMap::new(),
            program,
            kernel,
            bases,
            idx: vec![None; kernel.domain.len()],
            slots: vec![None; kernel.stages.len()],
        };
        g.outer(0, lo, hi);
        g.b.ins().return_(&[]);
        g.b.seal_all_blocks();
        let config = g.module.target_config();
        g.b.finalize(config);
    }
    let clif = ctx.func.display().to_string();
    module.define_function(id, ctx).map_err(|e| format!("{e:?}"))?;
    module.clear_context(ctx);
    Ok(LoopFn { id, buffers, clif })
}

/// What kernels call: the host functions of [`crate::externs`] and the program's math
/// routines.
pub struct Callees<'a> {
    pub externs: &'a HashMap<&'static str, (FuncId, Sig)>,
    pub math: MathFns,
}

/// The `tc_kernel::math` routines a program calls, one function each for f32 and for
/// f32x4 lanes, declared as kernels first use them and defined once after them
/// ([`MathFns::define`]). Inlined at every use, a routine's few hundred instructions
/// made chains of transcendentals compile in time superlinear in the stage.
#[derive(Default)]
pub struct MathFns {
    declared: Vec<((Func, bool), FuncId)>,
}

impl MathFns {
    fn id(&mut self, module: &mut JITModule, f: Func, vector: bool) -> FuncId {
        if let Some(&(_, id)) = self.declared.iter().find(|(key, _)| *key == (f, vector)) {
            return id;
        }
        let ty = if vector { types::F32X4 } else { types::F32 };
        let mut sig = module.make_signature();
        sig.params.push(AbiParam::new(ty));
        sig.returns.push(AbiParam::new(ty));
        let name = format!("tc_math_{}_{}", f.name(), if vector { "f32x4" } else { "f32" });
        let id = module.declare_function(&name, Linkage::Local, &sig).expect("math routines have unique names and one signature");
        self.declared.push(((f, vector), id));
        id
    }

    /// Define every routine the kernels called; their Cranelift IR, for `emit --stage clif`.
    pub fn define(&self, module: &mut JITModule, ctx: &mut Context, fctx: &mut FunctionBuilderContext) -> Result<String, String> {
        let fma = crate::jit::has_fma(module.isa());
        let mut clif = String::new();
        for &((f, vector), id) in &self.declared {
            let ty = if vector { types::F32X4 } else { types::F32 };
            ctx.func.signature = module.make_signature();
            ctx.func.signature.params.push(AbiParam::new(ty));
            ctx.func.signature.returns.push(AbiParam::new(ty));
            ctx.func.name = UserFuncName::user(0, id.as_u32());
            {
                let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
                let entry = b.create_block();
                b.append_block_params_for_function_params(entry);
                b.switch_to_block(entry);
                let x = b.block_params(entry)[0];
                let r = Fx { b: &mut b, ty, fma }.call(f, x);
                b.ins().return_(&[r]);
                b.seal_all_blocks();
                b.finalize(module.target_config());
            }
            clif.push_str(&format!("; {}{}\n{}\n", f.name(), if vector { " f32x4" } else { " f32" }, ctx.func.display()));
            module.define_function(id, ctx).map_err(|e| format!("{e:?}"))?;
            module.clear_context(ctx);
        }
        Ok(clif)
    }
}
