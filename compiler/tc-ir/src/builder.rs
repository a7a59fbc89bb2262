//! Typed node constructors: each method appends one primitive op to a [`Graph`] and
//! computes its result type, so the front end and the autodiff transform build graphs
//! without restating typing rules. Callers check user-facing preconditions (and report
//! diagnostics) before calling; these methods assume well-typed operands.

use crate::{ArgOp, BinaryOp, Dist, Graph, NodeId, Op, PoolKind, ReduceOp, Type, UnaryOp};
use tc_tensor::{DType, Data, Tensor};

impl Graph {
    pub fn param(&mut self, index: usize, ty: Type) -> NodeId {
        self.push(Op::Param(index), vec![], ty)
    }

    pub fn constant(&mut self, t: Tensor) -> NodeId {
        let ty = Type::new(t.dtype(), t.shape().to_vec());
        self.push(Op::Const(t), vec![], ty)
    }

    /// A scalar constant of `dtype` holding `v` (rounded or truncated per `Data::from_f64`).
    pub fn scalar(&mut self, dtype: DType, v: f64) -> NodeId {
        let t = Tensor::new(vec![], Data::from_f64(dtype, &[v])).expect("one element for a scalar");
        self.constant(t)
    }

    /// A scalar integer constant (exact for i64).
    pub fn scalar_int(&mut self, dtype: DType, v: i64) -> NodeId {
        let t = Tensor::new(vec![], Data::from_i64(dtype, &[v])).expect("one element for a scalar");
        self.constant(t)
    }

    /// `v` broadcast to a tensor of `ty`.
    pub fn full(&mut self, ty: &Type, v: f64) -> NodeId {
        let s = self.scalar(ty.dtype, v);
        self.broadcast(s, &ty.shape)
    }

    pub fn iota(&mut self, ty: Type, axis: usize) -> NodeId {
        self.push(Op::Iota { axis }, vec![], ty)
    }

    pub fn random(&mut self, dist: Dist, seed: NodeId, ty: Type) -> NodeId {
        self.push(Op::Random(dist), vec![seed], ty)
    }

    pub fn unary(&mut self, op: UnaryOp, x: NodeId) -> NodeId {
        let ty = self.ty(x).clone();
        self.push(Op::Unary(op), vec![x], ty)
    }

    /// Elementwise binary op on operands of identical type.
    pub fn binary(&mut self, op: BinaryOp, a: NodeId, b: NodeId) -> NodeId {
        let a_ty = self.ty(a);
        let ty = a_ty.with_dtype(op.result_dtype(a_ty.dtype));
        self.push(Op::Binary(op), vec![a, b], ty)
    }

    pub fn add(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.binary(BinaryOp::Add, a, b)
    }

    pub fn sub(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.binary(BinaryOp::Sub, a, b)
    }

    pub fn mul(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.binary(BinaryOp::Mul, a, b)
    }

    pub fn div(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.binary(BinaryOp::Div, a, b)
    }

    pub fn neg(&mut self, x: NodeId) -> NodeId {
        self.unary(UnaryOp::Neg, x)
    }

    /// `x (op) scalar`, the scalar broadcast to x's type.
    pub fn binary_scalar(&mut self, op: BinaryOp, x: NodeId, v: f64) -> NodeId {
        let ty = self.ty(x).clone();
        let s = self.full(&ty, v);
        self.binary(op, x, s)
    }

    pub fn select(&mut self, cond: NodeId, a: NodeId, b: NodeId) -> NodeId {
        let ty = self.ty(a).clone();
        self.push(Op::Select, vec![cond, a, b], ty)
    }

    /// Conversion to `dtype`; returns `x` itself when it already has that dtype.
    pub fn cast(&mut self, x: NodeId, dtype: DType) -> NodeId {
        if self.ty(x).dtype == dtype {
            return x;
        }
        let ty = self.ty(x).with_dtype(dtype);
        self.push(Op::Cast, vec![x], ty)
    }

    /// Reduction over `axes` (any order; duplicates not allowed), which are removed.
    pub fn reduce(&mut self, op: ReduceOp, x: NodeId, axes: &[usize]) -> NodeId {
        let mut axes = axes.to_vec();
        axes.sort_unstable();
        let in_ty = self.ty(x);
        let shape = in_ty.shape.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect();
        let ty = Type::new(in_ty.dtype, shape);
        self.push(Op::Reduce { op, axes }, vec![x], ty)
    }

    pub fn arg_reduce(&mut self, op: ArgOp, x: NodeId, axis: usize) -> NodeId {
        let mut shape = self.ty(x).shape.clone();
        shape.remove(axis);
        self.push(Op::ArgReduce { op, axis }, vec![x], Type::new(DType::I32, shape))
    }

    /// NumPy-style broadcast of `x` to `shape` (aligned at the right); returns `x`
    /// itself when the shape is already equal.
    /// The positions that sort `x` along `axis` (`Op::ArgSort`).
    pub fn argsort(&mut self, x: NodeId, axis: usize, descending: bool) -> NodeId {
        let shape = self.ty(x).shape.clone();
        self.push(Op::ArgSort { axis, descending }, vec![x], Type::new(DType::I32, shape))
    }

    pub fn broadcast(&mut self, x: NodeId, shape: &[usize]) -> NodeId {
        let in_ty = self.ty(x);
        if in_ty.shape == shape {
            return x;
        }
        let offset = shape.len() - in_ty.rank();
        let dims = (0..in_ty.rank()).map(|i| i + offset).collect();
        let ty = Type::new(in_ty.dtype, shape.to_vec());
        self.push(Op::Broadcast { dims }, vec![x], ty)
    }

    /// Broadcast with an explicit axis mapping (input axis `i` to output axis `dims[i]`).
    pub fn broadcast_in_dim(&mut self, x: NodeId, shape: &[usize], dims: Vec<usize>) -> NodeId {
        let ty = Type::new(self.ty(x).dtype, shape.to_vec());
        self.push(Op::Broadcast { dims }, vec![x], ty)
    }

    /// Returns `x` itself when the shape is already equal.
    pub fn reshape(&mut self, x: NodeId, shape: &[usize]) -> NodeId {
        if self.ty(x).shape == shape {
            return x;
        }
        let ty = Type::new(self.ty(x).dtype, shape.to_vec());
        self.push(Op::Reshape, vec![x], ty)
    }

    /// Returns `x` itself for the identity permutation.
    pub fn transpose(&mut self, x: NodeId, perm: &[usize]) -> NodeId {
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return x;
        }
        let in_ty = self.ty(x);
        let ty = Type::new(in_ty.dtype, perm.iter().map(|&p| in_ty.shape[p]).collect());
        self.push(Op::Transpose { perm: perm.to_vec() }, vec![x], ty)
    }

    pub fn reverse(&mut self, x: NodeId, axes: Vec<usize>) -> NodeId {
        let ty = self.ty(x).clone();
        self.push(Op::Reverse { axes }, vec![x], ty)
    }

    pub fn slice(&mut self, x: NodeId, start: Vec<usize>, end: Vec<usize>) -> NodeId {
        let in_ty = self.ty(x);
        if start.iter().all(|&s| s == 0) && end == in_ty.shape {
            return x;
        }
        let ty = Type::new(in_ty.dtype, start.iter().zip(&end).map(|(s, e)| e - s).collect());
        self.push(Op::Slice { start, end }, vec![x], ty)
    }

    /// Pad with a scalar node `value` of x's dtype.
    pub fn pad(&mut self, x: NodeId, value: NodeId, lo: Vec<usize>, hi: Vec<usize>) -> NodeId {
        let in_ty = self.ty(x);
        let shape = in_ty.shape.iter().zip(lo.iter().zip(&hi)).map(|(d, (l, h))| d + l + h).collect();
        let ty = Type::new(in_ty.dtype, shape);
        self.push(Op::Pad { lo, hi }, vec![x, value], ty)
    }

    pub fn concat(&mut self, xs: Vec<NodeId>, axis: usize) -> NodeId {
        if xs.len() == 1 {
            return xs[0];
        }
        let first = self.ty(xs[0]).clone();
        let mut shape = first.shape.clone();
        shape[axis] = xs.iter().map(|&x| self.ty(x).shape[axis]).sum();
        self.push(Op::Concat { axis }, xs, Type::new(first.dtype, shape))
    }

    pub fn gather(&mut self, x: NodeId, idx: NodeId, axis: usize) -> NodeId {
        let x_ty = self.ty(x);
        let mut shape = x_ty.shape[..axis].to_vec();
        shape.extend_from_slice(&self.ty(idx).shape);
        shape.extend_from_slice(&x_ty.shape[axis + 1..]);
        let ty = Type::new(x_ty.dtype, shape);
        self.push(Op::Gather { axis }, vec![x, idx], ty)
    }

    pub fn scatter_add(&mut self, idx: NodeId, updates: NodeId, axis: usize, ty: Type) -> NodeId {
        self.push(Op::ScatterAdd { axis }, vec![idx, updates], ty)
    }

    /// Batched matmul of `[..., M, K]` and `[..., K, N]` with identical batch dims.
    pub fn matmul(&mut self, a: NodeId, b: NodeId) -> NodeId {
        let a_ty = self.ty(a);
        let b_ty = self.ty(b);
        let mut shape = a_ty.shape.clone();
        let last = shape.len() - 1;
        shape[last] = b_ty.shape[b_ty.rank() - 1];
        let ty = Type::new(a_ty.dtype, shape);
        self.push(Op::MatMul, vec![a, b], ty)
    }

    pub fn conv2d(&mut self, x: NodeId, w: NodeId, stride: [usize; 2], pad: [(usize, usize); 2], dilation: [usize; 2]) -> NodeId {
        let x_ty = self.ty(x);
        let w_ty = self.ty(w);
        let out = |i: usize| {
            let padded = x_ty.shape[2 + i] + pad[i].0 + pad[i].1;
            let window = dilation[i] * (w_ty.shape[2 + i] - 1) + 1;
            (padded - window) / stride[i] + 1
        };
        let ty = Type::new(x_ty.dtype, vec![x_ty.shape[0], w_ty.shape[0], out(0), out(1)]);
        self.push(Op::Conv2d { stride, pad, dilation }, vec![x, w], ty)
    }

    pub fn pool(&mut self, kind: PoolKind, x: NodeId, size: [usize; 2], stride: [usize; 2]) -> NodeId {
        let s = &self.ty(x).shape;
        let shape = vec![s[0], s[1], (s[2] - size[0]) / stride[0] + 1, (s[3] - size[1]) / stride[1] + 1];
        let ty = Type::new(self.ty(x).dtype, shape);
        self.push(Op::Pool { kind, size, stride }, vec![x], ty)
    }

    pub fn pool_grad(&mut self, kind: PoolKind, x: NodeId, dy: NodeId, size: [usize; 2], stride: [usize; 2]) -> NodeId {
        let ty = self.ty(x).clone();
        self.push(Op::PoolGrad { kind, size, stride }, vec![x, dy], ty)
    }
}
