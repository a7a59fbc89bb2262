//! Float math emitted inline as Cranelift IR, for scalars (`f32`) and 4-lane vectors
//! (`f32x4`) alike: [`Fx`] is the lane-generic emitter. [`Fx::call`] lowers the shared
//! f32 transcendentals of `tc_kernel::math` (`exp`, `log`, `tanh`, `sigmoid`, `sin`,
//! `cos`, `erf`), one Cranelift instruction per node, with fused multiply-adds where the
//! host has FMA; the result is bit for bit the routine's `eval` (`tests/accuracy.rs`).
//!
//! `max_nan`/`min_nan` are the graph IR's NaN-propagating maximum and minimum
//! (`a >= b ? a : b`, NaN if either is NaN), exact on every lane.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, Endianness, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;
use tc_kernel::math::{Bin, Cmp, Conv, Func, ICmp, Int, Node, Un, V as MV};

/// Emits f32 math on `ty`, which is `F32` or `F32X4`.
pub struct Fx<'a, 'b> {
    pub b: &'a mut FunctionBuilder<'b>,
    pub ty: Type,
    /// Whether the host has fused multiply-add (polynomials then use it).
    pub fma: bool,
}

impl Fx<'_, '_> {
    fn vector(&self) -> bool {
        self.ty.is_vector()
    }

    /// The integer type with the same lanes.
    pub fn int_ty(&self) -> Type {
        if self.vector() {
            types::I32X4
        } else {
            types::I32
        }
    }

    fn flags(&self) -> MemFlagsData {
        MemFlagsData::new().with_endianness(Endianness::Little)
    }

    pub fn c(&mut self, v: f32) -> Value {
        let s = self.b.ins().f32const(v);
        if self.vector() {
            self.b.ins().splat(self.ty, s)
        } else {
            s
        }
    }

    pub fn ci(&mut self, v: i32) -> Value {
        let s = self.b.ins().iconst(types::I32, v as i64);
        if self.vector() {
            self.b.ins().splat(types::I32X4, s)
        } else {
            s
        }
    }

    pub fn bits(&mut self, x: Value) -> Value {
        let (t, f) = (self.int_ty(), self.flags());
        self.b.ins().bitcast(t, f, x)
    }

    pub fn from_bits(&mut self, x: Value) -> Value {
        let (t, f) = (self.ty, self.flags());
        self.b.ins().bitcast(t, f, x)
    }

    /// A float comparison: an `i8` for scalars, an all-ones lane mask for vectors.
    pub fn fcmp(&mut self, cc: FloatCC, a: Value, b: Value) -> Value {
        self.b.ins().fcmp(cc, a, b)
    }

    pub fn icmp(&mut self, cc: IntCC, a: Value, b: Value) -> Value {
        self.b.ins().icmp(cc, a, b)
    }

    /// `cond ? a : b` on floats, `cond` from [`Fx::fcmp`] or [`Fx::icmp`].
    pub fn select(&mut self, cond: Value, a: Value, b: Value) -> Value {
        if self.vector() {
            let ty = self.b.func.dfg.value_type(a);
            let m = if self.b.func.dfg.value_type(cond) == ty {
                cond
            } else {
                let f = self.flags();
                self.b.ins().bitcast(ty, f, cond)
            };
            self.b.ins().bitselect(m, a, b)
        } else {
            self.b.ins().select(cond, a, b)
        }
    }

    pub fn add(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fadd(a, b)
    }

    pub fn sub(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fsub(a, b)
    }

    pub fn mul(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fmul(a, b)
    }

    pub fn div(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fdiv(a, b)
    }

    /// Maximum propagating NaN: `a >= b ? a : b`, or NaN when `a` is NaN.
    pub fn max_nan(&mut self, a: Value, b: Value) -> Value {
        let ge = self.fcmp(FloatCC::GreaterThanOrEqual, a, b);
        let m = self.select(ge, a, b);
        let nan = self.fcmp(FloatCC::Unordered, a, a);
        self.select(nan, a, m)
    }

    /// Minimum propagating NaN: `a <= b ? a : b`, or NaN when `a` is NaN.
    pub fn min_nan(&mut self, a: Value, b: Value) -> Value {
        let le = self.fcmp(FloatCC::LessThanOrEqual, a, b);
        let m = self.select(le, a, b);
        let nan = self.fcmp(FloatCC::Unordered, a, a);
        self.select(nan, a, m)
    }

    /// `f(x)`: the shared routine of `tc_kernel::math`, lowered node by node.
    pub fn call(&mut self, f: Func, x: Value) -> Value {
        let r = f.routine();
        let mut vals: Vec<Value> = Vec::with_capacity(r.nodes.len());
        for node in &r.nodes {
            let v = |m: MV| vals[m.index()];
            let value = match *node {
                Node::Arg => x,
                Node::F(c) => self.c(c),
                Node::I(c) => self.ci(c),
                Node::Un(op, a) => {
                    let a = v(a);
                    match op {
                        Un::Neg => self.b.ins().fneg(a),
                        Un::Abs => self.b.ins().fabs(a),
                        Un::Floor => self.b.ins().floor(a),
                        Un::Round => self.b.ins().nearest(a),
                    }
                }
                Node::Bin(op, a, b) => {
                    let (a, b) = (v(a), v(b));
                    match op {
                        Bin::Add => self.add(a, b),
                        Bin::Sub => self.sub(a, b),
                        Bin::Mul => self.mul(a, b),
                        Bin::Div => self.div(a, b),
                    }
                }
                Node::MulAdd(a, b, c) if self.fma => self.b.ins().fma(v(a), v(b), v(c)),
                Node::MulAdd(a, b, c) => {
                    let p = self.mul(v(a), v(b));
                    self.add(p, v(c))
                }
                Node::FCmp(op, a, b) => {
                    let cc = match op {
                        Cmp::Lt => FloatCC::LessThan,
                        Cmp::Le => FloatCC::LessThanOrEqual,
                        Cmp::Eq => FloatCC::Equal,
                    };
                    self.fcmp(cc, v(a), v(b))
                }
                Node::Int(op, a, b) => self.int(op, v(a), v(b), &r.nodes[b.index()]),
                Node::ICmp(op, a, b) => {
                    let cc = match op {
                        ICmp::Eq => IntCC::Equal,
                        ICmp::Lt => IntCC::SignedLessThan,
                        ICmp::Ult => IntCC::UnsignedLessThan,
                    };
                    self.icmp(cc, v(a), v(b))
                }
                Node::Conv(op, a) => {
                    let (a, ity, fty) = (v(a), self.int_ty(), self.ty);
                    match op {
                        Conv::Bits => self.bits(a),
                        Conv::FromBits => self.from_bits(a),
                        Conv::ToInt => self.b.ins().fcvt_to_sint_sat(ity, a),
                        Conv::FromInt => self.b.ins().fcvt_from_sint(fty, a),
                        Conv::FromUint => self.b.ins().fcvt_from_uint(fty, a),
                    }
                }
                Node::And(a, b) => self.b.ins().band(v(a), v(b)),
                Node::Or(a, b) => self.b.ins().bor(v(a), v(b)),
                Node::Not(a) if self.vector() => self.b.ins().bnot(v(a)),
                Node::Not(a) => self.b.ins().bxor_imm_s(v(a), 1),
                Node::Select(c, a, b) => self.select(v(c), v(a), v(b)),
            };
            vals.push(value);
        }
        vals[r.result.index()]
    }

    /// An i32 operation on lanes; `amount` is the node of `b`, whose constant shift
    /// amounts stay scalar (Cranelift shifts every lane of a vector by one amount).
    fn int(&mut self, op: Int, a: Value, b: Value, amount: &Node) -> Value {
        match op {
            Int::Add => return self.b.ins().iadd(a, b),
            Int::Sub => return self.b.ins().isub(a, b),
            Int::Mul => return self.b.ins().imul(a, b),
            Int::And => return self.b.ins().band(a, b),
            Int::Or => return self.b.ins().bor(a, b),
            Int::Shl | Int::Shr | Int::UShr => {}
        }
        if !self.vector() {
            return shift(self.b, op, a, b);
        }
        if let Node::I(n) = *amount {
            let n = self.b.ins().iconst(types::I32, n as i64);
            return shift(self.b, op, a, n);
        }
        // Per-lane amounts: lane by lane.
        let mut out = a;
        for lane in 0..4u8 {
            let x = self.b.ins().extractlane(a, lane);
            let n = self.b.ins().extractlane(b, lane);
            let y = shift(self.b, op, x, n);
            out = self.b.ins().insertlane(out, y, lane);
        }
        out
    }
}

/// `x` shifted by `n` (modulo the lane width) as shift `op` says.
fn shift(b: &mut FunctionBuilder<'_>, op: Int, x: Value, n: Value) -> Value {
    match op {
        Int::Shl => b.ins().ishl(x, n),
        Int::Shr => b.ins().sshr(x, n),
        _ => b.ins().ushr(x, n),
    }
}
