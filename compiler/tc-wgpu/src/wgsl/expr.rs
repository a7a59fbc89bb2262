//! Scalar WGSL for a stage's expression DAG: one `let` per [`Expr`] at a domain point,
//! with the semantics of `tc_ir::ops` (via the helpers of [`super::math`]).
//!
//! Values are held as: `f32` for f32 and f16 (an f16 result is rounded to f16 after
//! every operation with `q16`, as the interpreter rounds each op once); `i32` for i32
//! and for index values (`ExprOp::Index`, typed i64 in the kernel program but always
//! below 2^31 here); `u32` for u8 (kept in 0..=255, arithmetic masked); `bool` for bool.
//! f64, bf16 and other i64 values have no representation.
//!
//! f32 `+ - *` are correctly rounded on every device, so they match the interpreter
//! bit for bit; `/` and `sqrt` are as precise as the device makes them (Vulkan allows
//! a few ulp; llvmpipe rounds correctly). Comparisons treat NaN as the interpreter does
//! (`!=` is true, the rest false), whatever the driver's ordered/unordered choice.
//!
//! Every float constant and every float result passes through `exact` (see
//! [`Helper::Exact`]), and an operation on two equal operands gets a second barrier on
//! one of them: the driver then cannot fold `x * 0.0`, `x - x` or `0.0 / x` to 0 (wrong
//! for NaN, infinities and signed zeros) nor reassociate or distribute arithmetic (which
//! changes rounding), so each operation computes what the interpreter computes.

use super::math::{Helper, Helpers};
use super::{check_view, CodegenError, Shader};
use std::collections::HashMap;
use tc_ir::{BinaryOp, UnaryOp};
use tc_kernel::math::Func;
use tc_kernel::{BufferId, Expr, ExprOp, Scalar, Stage, View};
use tc_tensor::DType;

/// A value's register class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Val {
    /// f32, or f16 when `half`.
    F { half: bool },
    I,
    U8,
    B,
}

impl Val {
    pub fn of(dtype: DType) -> Result<Val, CodegenError> {
        match dtype {
            DType::F32 => Ok(Val::F { half: false }),
            DType::F16 => Ok(Val::F { half: true }),
            DType::I32 => Ok(Val::I),
            DType::U8 => Ok(Val::U8),
            DType::Bool => Ok(Val::B),
            DType::F64 | DType::BF16 | DType::I64 => Err(CodegenError::UnsupportedDType(dtype)),
        }
    }

    /// The WGSL type of a register.
    pub fn ty(self) -> &'static str {
        match self {
            Val::F { .. } => "f32",
            Val::I => "i32",
            Val::U8 => "u32",
            Val::B => "bool",
        }
    }
}

/// The register class of an expression (an index value is an i32).
pub fn val_of(e: &Expr) -> Result<Val, CodegenError> {
    match e.op {
        ExprOp::Index { .. } => Ok(Val::I),
        _ => Val::of(e.dtype),
    }
}

/// A WGSL f32 constant, opaque to the driver's optimiser (through `exact`).
pub fn f32_lit(x: f64, h: &mut Helpers) -> String {
    h.need(Helper::Exact);
    format!("exact({})", f32_plain(x, h))
}

/// A WGSL f32 literal (infinities and NaN through the helpers).
pub fn f32_plain(x: f64, h: &mut Helpers) -> String {
    let x = x as f32;
    if x.is_nan() {
        h.need(Helper::NanInf);
        return "nan_f32()".into();
    }
    if x.is_infinite() {
        h.need(Helper::NanInf);
        return if x > 0.0 { "inf_f32()".into() } else { "(-inf_f32())".into() };
    }
    let s = format!("{x:?}");
    if x.is_sign_negative() {
        format!("({s}f)")
    } else {
        format!("{s}f")
    }
}

/// A WGSL i32 literal.
pub fn i32_lit(x: i64) -> String {
    if x == i32::MIN as i64 {
        "(-2147483647i - 1i)".into()
    } else if x < 0 {
        format!("({x}i)")
    } else {
        format!("{x}i")
    }
}

/// The literal of a scalar in register class `v` (the fuser gives float dtypes `F`,
/// integer dtypes `I` and bool `B` immediates).
pub fn literal(v: Val, s: Scalar, h: &mut Helpers) -> Result<String, CodegenError> {
    Ok(match (v, s) {
        (Val::F { .. }, Scalar::F(x)) => f32_lit(x, h),
        (Val::I, Scalar::I(x)) => i32_lit(x),
        (Val::U8, Scalar::I(x)) => format!("{}u", x as u8),
        (Val::B, Scalar::B(b)) => b.to_string(),
        (v, s) => return Err(CodegenError::Unsupported(format!("the constant {s:?} as a {} value", v.ty()))),
    })
}

/// `offset + Σ stride · var` as a WGSL i32 expression over the index variables `vars`.
pub fn affine(view: &View, vars: &[String]) -> String {
    let mut terms = Vec::new();
    for (s, v) in view.strides.iter().zip(vars) {
        match *s {
            0 => {}
            1 => terms.push(v.clone()),
            s => terms.push(format!("{} * {v}", i32_lit(s as i64))),
        }
    }
    if view.offset != 0 || terms.is_empty() {
        terms.push(i32_lit(view.offset as i64));
    }
    terms.join(" + ")
}

/// The register value of element `index` of `buffer`.
pub fn load(sh: &mut Shader, buffer: BufferId, index: &str) -> String {
    let name = sh.name(buffer);
    from_storage(sh.program.buffer(buffer).ty.dtype, &format!("{name}[{index}]"))
}

/// The register value of `dtype` held in storage as `x`.
fn from_storage(dtype: DType, x: &str) -> String {
    match dtype {
        DType::F16 => format!("f32({x})"),
        DType::Bool => format!("({x} != 0u)"),
        _ => x.to_string(),
    }
}

/// The statement storing register value `value` into element `index` of `buffer`.
pub fn store(sh: &mut Shader, buffer: BufferId, index: &str, value: &str) -> String {
    let name = sh.name(buffer);
    format!("{name}[{index}] = {};", to_storage(sh.program.buffer(buffer).ty.dtype, value))
}

/// Register value `value` of `dtype` as storage holds it.
pub fn to_storage(dtype: DType, value: &str) -> String {
    match dtype {
        DType::F16 => format!("f16({value})"),
        DType::Bool => format!("select(0u, 1u, {value})"),
        _ => value.to_string(),
    }
}

/// `x` rounded to f16 when `v` is an f16 register.
pub fn quantize(v: Val, x: String, h: &mut Helpers) -> String {
    if v == (Val::F { half: true }) {
        h.need(Helper::Q16);
        format!("q16({x})")
    } else {
        x
    }
}

fn unary(op: UnaryOp, v: Val, x: &str, h: &mut Helpers) -> Result<String, CodegenError> {
    let mut call = |helper: Helper, f: &str| {
        h.need(helper);
        format!("{f}({x})")
    };
    if let (Val::F { .. }, Some(f)) = (v, Func::of(op)) {
        return Ok(quantize(v, call(Helper::Math(f), &format!("{}_f", f.name())), h));
    }
    let r = match (v, op) {
        (Val::B, UnaryOp::Not) => format!("!{x}"),
        (Val::I, UnaryOp::Neg) => format!("(0i - {x})"),
        (Val::I, UnaryOp::Abs) => format!("abs({x})"),
        (Val::I, UnaryOp::Sign) => format!("sign({x})"),
        (Val::U8, UnaryOp::Neg) => format!("((0u - {x}) & 255u)"),
        (Val::U8, UnaryOp::Abs) => x.to_string(),
        (Val::U8, UnaryOp::Sign) => format!("min({x}, 1u)"),
        (Val::F { .. }, UnaryOp::Neg) => format!("(-{x})"),
        (Val::F { .. }, UnaryOp::Abs) => format!("abs({x})"),
        (Val::F { .. }, UnaryOp::Sign) => call(Helper::SignF, "sign_f"),
        (Val::F { .. }, UnaryOp::Floor) => format!("floor({x})"),
        (Val::F { .. }, UnaryOp::Ceil) => format!("ceil({x})"),
        (Val::F { .. }, UnaryOp::Round) => format!("round({x})"),
        // WGSL's sqrt is correctly rounded on conforming devices; negative → NaN and
        // 1/sqrt(0) = inf are explicit.
        (Val::F { .. }, UnaryOp::Sqrt) => {
            h.need(Helper::NanInf);
            quantize(v, format!("select(sqrt({x}), nan_f32(), {x} < 0.0)"), h)
        }
        (Val::F { .. }, UnaryOp::Rsqrt) => {
            h.need(Helper::NanInf);
            quantize(v, format!("select(1.0 / sqrt({x}), nan_f32(), {x} < 0.0)"), h)
        }
        (v, op) => return Err(CodegenError::Unsupported(format!("{} on {v:?} values", op.name()))),
    };
    Ok(r)
}

fn compare(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Eq => "==",
        BinaryOp::Ne => "!=",
        BinaryOp::Lt => "<",
        BinaryOp::Le => "<=",
        BinaryOp::Gt => ">",
        _ => ">=",
    }
}

/// `op` on two registers of class `v` (the operands' class).
pub fn binary(op: BinaryOp, v: Val, a: &str, b: &str, h: &mut Helpers) -> Result<String, CodegenError> {
    // Some drivers compare floats as ordered even for `!=`: NaN is unequal explicitly.
    if op == BinaryOp::Ne && matches!(v, Val::F { .. }) {
        h.need(Helper::IsNan);
        return Ok(format!("({a} != {b} || is_nan({a}) || is_nan({b}))"));
    }
    // Ordered comparisons are false on NaN, however the driver compares.
    if op.is_comparison() && matches!(v, Val::F { .. }) {
        h.need(Helper::IsNan);
        return Ok(format!("({a} {} {b} && !is_nan({a}) && !is_nan({b}))", compare(op)));
    }
    if op.is_comparison() && v != Val::B {
        return Ok(format!("({a} {} {b})", compare(op)));
    }
    let mut call = |helper: Helper, f: &str| {
        h.need(helper);
        format!("{f}({a}, {b})")
    };
    let r = match (v, op) {
        (Val::B, BinaryOp::And | BinaryOp::Min) => format!("({a} && {b})"),
        (Val::B, BinaryOp::Or | BinaryOp::Max) => format!("({a} || {b})"),
        (Val::B, BinaryOp::Eq) => format!("({a} == {b})"),
        (Val::B, BinaryOp::Ne) => format!("({a} != {b})"),
        (Val::B, BinaryOp::Lt) => format!("(!{a} && {b})"),
        (Val::B, BinaryOp::Le) => format!("(!{a} || {b})"),
        (Val::B, BinaryOp::Gt) => format!("({a} && !{b})"),
        (Val::B, BinaryOp::Ge) => format!("({a} || !{b})"),
        (Val::I, BinaryOp::Add) => format!("({a} + {b})"),
        (Val::I, BinaryOp::Sub) => format!("({a} - {b})"),
        (Val::I, BinaryOp::Mul) => format!("({a} * {b})"),
        (Val::I, BinaryOp::Div) => call(Helper::IDiv, "idiv"),
        (Val::I, BinaryOp::Rem) => call(Helper::IRem, "irem"),
        (Val::I | Val::U8, BinaryOp::Max) => format!("max({a}, {b})"),
        (Val::I | Val::U8, BinaryOp::Min) => format!("min({a}, {b})"),
        (Val::U8, BinaryOp::Add) => format!("(({a} + {b}) & 255u)"),
        (Val::U8, BinaryOp::Sub) => format!("(({a} - {b}) & 255u)"),
        (Val::U8, BinaryOp::Mul) => format!("(({a} * {b}) & 255u)"),
        (Val::U8, BinaryOp::Div) => call(Helper::UDiv, "udiv"),
        (Val::U8, BinaryOp::Rem) => call(Helper::URem, "urem"),
        (Val::F { .. }, BinaryOp::Add) => quantize(v, format!("({a} + {b})"), h),
        (Val::F { .. }, BinaryOp::Sub) => quantize(v, format!("({a} - {b})"), h),
        (Val::F { .. }, BinaryOp::Mul) => quantize(v, format!("({a} * {b})"), h),
        (Val::F { .. }, BinaryOp::Div) => quantize(v, format!("({a} / {b})"), h),
        (Val::F { .. }, BinaryOp::Rem) => quantize(v, call(Helper::Mod, "mod_f"), h),
        (Val::F { .. }, BinaryOp::Pow) => quantize(v, call(Helper::Pow, "pow_f"), h),
        (Val::F { .. }, BinaryOp::Max) => call(Helper::MaxNan, "max_nan"),
        (Val::F { .. }, BinaryOp::Min) => call(Helper::MinNan, "min_nan"),
        (v, op) => return Err(CodegenError::Unsupported(format!("{} on {v:?} values", op.name()))),
    };
    Ok(r)
}

/// Conversion of register `x` from class `from` to `to` (semantics of `Op::Cast`).
pub fn cast(from: Val, to: Val, x: &str, h: &mut Helpers) -> String {
    match (from, to) {
        (Val::I, Val::I) | (Val::U8, Val::U8) | (Val::B, Val::B) => x.to_string(),
        (Val::F { .. }, Val::F { half: false }) => x.to_string(),
        (Val::F { .. }, Val::F { half: true }) => quantize(to, x.to_string(), h),
        (Val::F { .. }, Val::I) => {
            h.need(Helper::F2I);
            format!("f2i({x})")
        }
        (Val::F { .. }, Val::U8) => {
            h.need(Helper::F2U8);
            format!("f2u8({x})")
        }
        (Val::F { .. }, Val::B) => {
            h.need(Helper::IsNan);
            format!("({x} != 0.0 || is_nan({x}))")
        }
        (Val::I, Val::F { .. }) => {
            h.need(Helper::I2F);
            quantize(to, format!("i2f({x})"), h)
        }
        (Val::I, Val::U8) => format!("(u32({x}) & 255u)"),
        (Val::I, Val::B) => format!("({x} != 0i)"),
        (Val::U8, Val::F { .. }) => quantize(to, format!("f32({x})"), h),
        (Val::U8, Val::I) => format!("i32({x})"),
        (Val::U8, Val::B) => format!("({x} != 0u)"),
        (Val::B, Val::F { .. }) => format!("select(0.0f, 1.0f, {x})"),
        (Val::B, Val::I) => format!("select(0i, 1i, {x})"),
        (Val::B, Val::U8) => format!("select(0u, 1u, {x})"),
    }
}

/// How a stage's expressions read the kernel's state.
pub struct Env<'a> {
    /// The kernel's domain.
    pub domain: &'a [usize],
    /// The i32 index variable of each domain axis.
    pub vars: &'a [String],
    /// The variable holding each reduce stage's result (by stage number).
    pub slots: &'a [String],
    /// In a vectorised kernel, the lane being evaluated.
    pub lane: Option<Lane<'a>>,
}

/// One of the four consecutive points of a vectorised pointwise kernel's invocation.
#[derive(Clone, Copy)]
pub struct Lane<'a> {
    /// 0..4, along the innermost domain axis.
    pub index: usize,
    /// The variable already loaded for each (buffer, view): a `vec4` of the four lanes'
    /// elements, or one element shared by them (a broadcast: innermost stride 0).
    pub loaded: &'a [(BufferId, View, String)],
}

impl Lane<'_> {
    /// This lane's element (as storage holds it) of the variable loaded for `buffer` at
    /// `view`, if any.
    fn component(&self, buffer: BufferId, view: &View) -> Option<String> {
        let (_, _, name) = self.loaded.iter().find(|(b, v, _)| *b == buffer && v == view)?;
        Some(match view.strides.last() {
            Some(0) => name.clone(),
            _ => format!("{name}.{}", &"xyzw"[self.index..self.index + 1]),
        })
    }
}

/// For each expression, the first expression of `exprs` that computes the same value
/// (the same op on the same values, or a load of the same element): two operands with
/// one representative are one value to the driver's compiler too.
fn representatives(exprs: &[Expr]) -> Vec<usize> {
    let mut first: HashMap<String, usize> = HashMap::new();
    let mut rep = Vec::with_capacity(exprs.len());
    for (i, e) in exprs.iter().enumerate() {
        let key = match &e.op {
            ExprOp::Load { buffer, view } => format!("load {buffer:?} {view:?}"),
            ExprOp::Index { view } => format!("index {view:?}"),
            ExprOp::Const(s) => format!("const {s:?} {:?}", e.dtype),
            ExprOp::Slot { stage } => format!("slot {stage}"),
            ExprOp::Unary(op, a) => format!("{op:?} {}", rep[a.index()]),
            ExprOp::Binary(op, a, b) => format!("{op:?} {} {}", rep[a.index()], rep[b.index()]),
            ExprOp::Select(c, a, b) => format!("select {} {} {}", rep[c.index()], rep[a.index()], rep[b.index()]),
            ExprOp::Cast(a) => format!("cast {:?} {}", e.dtype, rep[a.index()]),
        };
        rep.push(*first.entry(key).or_insert(i));
    }
    rep
}

/// One `let e{i}: T = ...;` line per expression of `stage`, each prefixed by `indent`.
pub fn emit_exprs(sh: &mut Shader, stage: &Stage, env: &Env, indent: &str, out: &mut String) -> Result<(), CodegenError> {
    let vals: Vec<Val> = stage.exprs.iter().map(val_of).collect::<Result<_, _>>()?;
    let rep = representatives(&stage.exprs);
    for (i, e) in stage.exprs.iter().enumerate() {
        let v = vals[i];
        let h = &mut sh.helpers;
        let rhs = match &e.op {
            ExprOp::Load { buffer, view } => {
                check_view(view, env.domain)?;
                match env.lane.and_then(|l| l.component(*buffer, view)) {
                    Some(x) => from_storage(e.dtype, &x),
                    None => load(sh, *buffer, &affine(view, env.vars)),
                }
            }
            ExprOp::Index { view } => {
                check_view(view, env.domain)?;
                format!("({})", affine(view, env.vars))
            }
            ExprOp::Const(s) => literal(v, *s, h)?,
            ExprOp::Slot { stage } => env.slots[*stage].clone(),
            ExprOp::Unary(op, a) => unary(*op, v, &format!("e{}", a.0), h)?,
            ExprOp::Binary(op, a, b) => {
                let operand = vals[a.index()];
                let mut second = format!("e{}", b.0);
                if matches!(operand, Val::F { .. }) && rep[a.index()] == rep[b.index()] {
                    h.need(Helper::Exact);
                    second = format!("exact_alt({second})");
                }
                binary(*op, operand, &format!("e{}", a.0), &second, h)?
            }
            ExprOp::Select(c, a, b) => format!("select(e{}, e{}, e{})", b.0, a.0, c.0),
            ExprOp::Cast(a) => cast(vals[a.index()], v, &format!("e{}", a.0), h),
        };
        // A float computed here is opaque to the optimiser wherever it is used.
        let computed = matches!(e.op, ExprOp::Unary(..) | ExprOp::Binary(..) | ExprOp::Select(..) | ExprOp::Cast(..));
        let rhs = if computed && matches!(v, Val::F { .. }) {
            sh.helpers.need(Helper::Exact);
            format!("exact({rhs})")
        } else {
            rhs
        };
        out.push_str(&format!("{indent}let e{i}: {} = {rhs};\n", v.ty()));
    }
    Ok(())
}
