//! The v1 shape, creation and gather built-ins: `moveaxis`, `flip`, `roll`, `tile`,
//! `repeat`, `tril`, `triu`, `zeros_like`, `ones_like`, `full_like`, `linspace`,
//! `take_along_axis` and `index_add`.
//!
//! All are views or single passes over primitive ops (transpose, reverse, slice and
//! concat, broadcast and reshape, iota masks, one gather or scatter), so they cost
//! O(output) and fuse where their primitives do. `take_along_axis` gathers through the
//! flattened input with one computed index per output element, never a one-hot mask.

use tc_ir::{BinaryOp, NodeId, Type};
use tc_tensor::DType;

use super::Builtin;
use crate::value::{TVal, Value};

/// The names this file lowers.
pub(crate) const NAMES: &[&str] = &[
    "moveaxis", "flip", "roll", "tile", "repeat", "tril", "triu", "zeros_like", "ones_like", "full_like", "linspace", "take_along_axis", "index_add",
];

impl Builtin<'_, '_, '_> {
    pub(super) fn shape_v1(&mut self, name: &str) -> Option<Value> {
        match name {
            "moveaxis" => self.moveaxis(),
            "flip" => {
                let x = self.tensor(0)?;
                let x = self.e.strong(x);
                let axes = if self.bound[1].is_some() { self.axes(1, x.ty.rank())? } else { (0..x.ty.rank()).collect() };
                let node = self.e.graph.reverse(x.node, axes);
                Some(self.e.tensor(node))
            }
            "roll" => self.roll(),
            "tile" => self.tile(),
            "repeat" => self.repeat(),
            "tril" | "triu" => self.triangle(name == "tril"),
            "zeros_like" | "ones_like" | "full_like" => {
                let x = self.tensor(0)?;
                let x = self.e.strong(x);
                let full = name == "full_like";
                let dtype = self.dtype_or(if full { 2 } else { 1 }, x.ty.dtype)?;
                let node = if full {
                    let v = self.tensor(1)?;
                    if !v.ty.shape.is_empty() {
                        let s = self.arg_span(1);
                        return Some(self.err("E0307", s, "the value of `full_like` must be a scalar".to_string()));
                    }
                    let v = self.e.convert(&v, dtype);
                    self.e.graph.broadcast(v.node, &x.ty.shape)
                } else {
                    self.e.graph.full(&Type::new(dtype, x.ty.shape.clone()), if name == "ones_like" { 1.0 } else { 0.0 })
                };
                Some(self.e.tensor(node))
            }
            "linspace" => self.linspace(),
            "take_along_axis" => self.take_along_axis(),
            "index_add" => self.index_add(),
            other => unreachable!("`{other}` is not a v1 shape built-in"),
        }
    }

    /// `moveaxis(x, source, destination)`: ints or tuples of equal length.
    fn moveaxis(&mut self) -> Option<Value> {
        let x = self.tensor(0)?;
        let x = self.e.strong(x);
        let rank = x.ty.rank();
        let (src, dst) = (self.axes(1, rank)?, self.axes(2, rank)?);
        if src.len() != dst.len() {
            let (a, b) = (src.len(), dst.len());
            return Some(self.err("E0306", self.span, format!("`moveaxis` moves {a} axes to {b} places; give as many of each")));
        }
        // NumPy's order: the axes not moved keep their order in the free places.
        let mut perm: Vec<Option<usize>> = vec![None; rank];
        for (&s, &d) in src.iter().zip(&dst) {
            perm[d] = Some(s);
        }
        let mut rest = (0..rank).filter(|a| !src.contains(a));
        let perm: Vec<usize> = perm.into_iter().map(|p| p.or_else(|| rest.next()).expect("one free axis per free place")).collect();
        let node = self.e.graph.transpose(x.node, &perm);
        Some(self.e.tensor(node))
    }

    /// `roll(x, shift, axis)`: each axis rotated by a slice and a concat; without an
    /// axis, the flattened tensor.
    fn roll(&mut self) -> Option<Value> {
        let x = self.tensor(0)?;
        let x = self.e.strong(x);
        let (v, s) = self.bound[1].clone()?;
        let shifts = self.ints(v, s, "a shift")?;
        let (mut node, axes, shape) = match self.bound[2].is_some() {
            true => (x.node, self.axes(2, x.ty.rank())?, x.ty.shape.clone()),
            false => {
                let n = x.ty.num_elements();
                (self.e.graph.reshape(x.node, &[n]), vec![0], vec![n])
            }
        };
        let shifts = match (shifts.len(), axes.len()) {
            (1, k) => vec![shifts[0]; k],
            (a, b) if a == b => shifts,
            (a, b) => return Some(self.err("E0306", s, format!("`roll` has {a} shifts for {b} axes"))),
        };
        for (&axis, &shift) in axes.iter().zip(&shifts) {
            let n = shape[axis];
            if n == 0 {
                continue;
            }
            let k = shift.rem_euclid(n as i64) as usize;
            if k == 0 {
                continue;
            }
            let mut end = shape.clone();
            let mut start = vec![0; shape.len()];
            start[axis] = n - k;
            let tail = self.e.graph.slice(node, start.clone(), end.clone());
            start[axis] = 0;
            end[axis] = n - k;
            let head = self.e.graph.slice(node, start, end);
            node = self.e.graph.concat(vec![tail, head], axis);
        }
        let node = self.e.graph.reshape(node, &x.ty.shape);
        Some(self.e.tensor(node))
    }

    /// `tile(x, reps)`: NumPy's, reps and shape aligned at the right.
    fn tile(&mut self) -> Option<Value> {
        let x = self.tensor(0)?;
        let x = self.e.strong(x);
        let (v, s) = self.bound[1].clone()?;
        let reps = self.ints(v, s, "a repetition count")?;
        if let Some(r) = reps.iter().find(|&&r| r < 0) {
            return Some(self.err("E0307", s, format!("a repetition count must not be negative, found {r}")));
        }
        let rank = reps.len().max(x.ty.rank());
        let mut shape = vec![1; rank - x.ty.rank()];
        shape.extend(&x.ty.shape);
        let mut reps_full = vec![1usize; rank - reps.len()];
        reps_full.extend(reps.iter().map(|&r| r as usize));
        // [r0, d0, r1, d1, ...] from [1, d0, 1, d1, ...], then merged pairwise.
        let spread: Vec<usize> = shape.iter().flat_map(|&d| [1, d]).collect();
        let wide: Vec<usize> = shape.iter().zip(&reps_full).flat_map(|(&d, &r)| [r, d]).collect();
        let out: Vec<usize> = shape.iter().zip(&reps_full).map(|(&d, &r)| d.saturating_mul(r)).collect();
        self.fits(&out, s)?;
        let node = self.e.graph.reshape(x.node, &spread);
        let node = self.e.graph.broadcast(node, &wide);
        let node = self.e.graph.reshape(node, &out);
        Some(self.e.tensor(node))
    }

    /// `repeat(x, n, axis)`: each element `n` times along `axis` (the flattened tensor
    /// without one).
    fn repeat(&mut self) -> Option<Value> {
        let x = self.tensor(0)?;
        let x = self.e.strong(x);
        let n = self.count(1)?;
        let (node, axis, shape) = match self.bound[2].is_some() {
            true => (x.node, self.axis(2, x.ty.rank())?, x.ty.shape.clone()),
            false => {
                let total = x.ty.num_elements();
                (self.e.graph.reshape(x.node, &[total]), 0, vec![total])
            }
        };
        if shape.is_empty() {
            return Some(self.err("E0306", self.span, "`repeat` of a scalar needs no axis: use `full`".to_string()));
        }
        let mut spread = shape.clone();
        spread.insert(axis + 1, 1);
        let mut wide = shape.clone();
        wide.insert(axis + 1, n);
        let mut out = shape.clone();
        out[axis] = shape[axis].saturating_mul(n);
        let s = self.arg_span(1);
        self.fits(&out, s)?;
        let node = self.e.graph.reshape(node, &spread);
        let node = self.e.graph.broadcast(node, &wide);
        let node = self.e.graph.reshape(node, &out);
        Some(self.e.tensor(node))
    }

    /// `tril(x, k)` / `triu(x, k)` on the last two axes: `x` where `j - i <= k`
    /// (`>= k`), zero elsewhere.
    fn triangle(&mut self, lower: bool) -> Option<Value> {
        let x = self.tensor(0)?;
        let x = self.e.strong(x);
        let rank = x.ty.rank();
        if rank < 2 {
            let shown = self.e.show(&x.ty);
            let name = if lower { "tril" } else { "triu" };
            return Some(self.err("E0306", self.span, format!("`{name}` needs a matrix (rank at least 2), found {shown}")));
        }
        let k = match self.bound[1].is_some() {
            true => self.int(1, "a diagonal offset")?,
            false => 0,
        };
        let g = &mut self.e.graph;
        let index_ty = Type::new(DType::I32, x.ty.shape.clone());
        let rows = g.iota(index_ty.clone(), rank - 2);
        let cols = g.iota(index_ty.clone(), rank - 1);
        let diff = g.sub(cols, rows);
        let k = g.full(&index_ty, k as f64);
        let keep = g.binary(if lower { BinaryOp::Le } else { BinaryOp::Ge }, diff, k);
        let zero = g.full(&x.ty, 0.0);
        let node = g.select(keep, x.node, zero);
        Some(self.e.tensor(node))
    }

    /// `linspace(start, stop, n, dtype=f32)`: `n` evenly spaced values, both ends
    /// included (the last is `stop` exactly), as NumPy's.
    fn linspace(&mut self) -> Option<Value> {
        let (start, stop) = (self.tensor(0)?, self.tensor(1)?);
        for (i, t) in [(0, &start), (1, &stop)] {
            if !t.ty.shape.is_empty() || t.konst.is_none() {
                let s = self.arg_span(i);
                return Some(self.err("E0307", s, "`linspace` needs compile-time scalar ends".to_string()));
            }
        }
        let (a, b) = (start.konst.expect("checked").as_f64(), stop.konst.expect("checked").as_f64());
        let n = self.count(2)?;
        let dtype = self.dtype_or(3, DType::F32)?;
        if !dtype.is_float() {
            let s = self.arg_span(3);
            return Some(self.e.wrong_dtype(self.env, "`linspace`", "a float dtype", dtype, s, None));
        }
        let ty = Type::new(dtype, vec![n]);
        let g = &mut self.e.graph;
        let i = g.iota(ty.clone(), 0);
        let step = if n > 1 { (b - a) / (n - 1) as f64 } else { 0.0 };
        let step = g.full(&ty, step);
        let a = g.full(&ty, a);
        let scaled = g.mul(i, step);
        let v = g.add(a, scaled);
        let node = if n > 1 {
            let last_i = g.full(&ty, (n - 1) as f64);
            let last = g.binary(BinaryOp::Eq, i, last_i);
            let b = g.full(&ty, b);
            g.select(last, b, v)
        } else {
            v
        };
        Some(self.e.tensor(node))
    }

    /// An integer index tensor normalised as gathers do: negative counts from the end,
    /// then clamped into `[0, n - 1]`; in `dtype`.
    fn normalised_index(&mut self, idx: &TVal, n: usize, dtype: DType) -> NodeId {
        let g = &mut self.e.graph;
        let ty = Type::new(dtype, idx.ty.shape.clone());
        let i = g.cast(idx.node, dtype);
        let zero = g.full(&ty, 0.0);
        let size = g.full(&ty, n as f64);
        let negative = g.binary(BinaryOp::Lt, i, zero);
        let wrapped = g.add(i, size);
        let i = g.select(negative, wrapped, i);
        let i = g.binary(BinaryOp::Max, i, zero);
        let last = g.full(&ty, n.saturating_sub(1) as f64);
        g.binary(BinaryOp::Min, i, last)
    }

    /// `take_along_axis(x, idx, axis)`: `out[..., j, ...] = x[..., idx[..., j, ...], ...]`
    /// with `idx` of x's rank, broadcast against `x` on the other axes.
    fn take_along_axis(&mut self) -> Option<Value> {
        let x = self.tensor(0)?;
        let x = self.e.strong(x);
        let idx = self.tensor(1)?;
        if !idx.ty.dtype.is_int() {
            let s = self.arg_span(1);
            return Some(self.e.wrong_dtype(self.env, "the index of `take_along_axis`", "an integer dtype", idx.ty.dtype, s, None));
        }
        let rank = x.ty.rank();
        if idx.ty.rank() != rank || rank == 0 {
            let (a, b) = (self.e.show(&x.ty), self.e.show(&idx.ty));
            return Some(self.err("E0306", self.span, format!("`take_along_axis` needs an index of the tensor's rank (at least 1): {a} and {b}")));
        }
        let axis = self.axis(2, rank)?;
        // The output: idx's size on `axis`, the broadcast of both elsewhere.
        let mut out = Vec::with_capacity(rank);
        for a in 0..rank {
            let (d, i) = (x.ty.shape[a], idx.ty.shape[a]);
            out.push(match a == axis {
                true => i,
                false if d == i || i == 1 => d,
                false if d == 1 => i,
                false => {
                    let (sa, sb) = (self.e.show(&x.ty), self.e.show(&idx.ty));
                    return Some(self.err("E0301", self.span, format!("cannot broadcast {sa} and {sb} outside axis {axis}")));
                }
            });
        }
        let n = x.ty.shape[axis];
        if n == 0 && out.iter().product::<usize>() > 0 {
            return Some(self.err("E0309", self.span, format!("`take_along_axis` gathers from axis {axis}, which is empty")));
        }
        let mut x_shape = out.clone();
        x_shape[axis] = n;
        let dtype = if x_shape.iter().product::<usize>() >= i32::MAX as usize { DType::I64 } else { DType::I32 };
        let along = self.normalised_index(&idx, n, dtype);
        let g = &mut self.e.graph;
        let xb = g.broadcast(x.node, &x_shape);
        let along = g.broadcast(along, &out);
        let node = self.gather_along(xb, &x_shape, along, axis, out[axis]);
        Some(self.e.tensor(node))
    }

    /// `x` (of `shape`) gathered along `axis` at `idx`, an in-range index of x's shape
    /// but `count` long on `axis`: one flat index per element, then one gather.
    pub(super) fn gather_along(&mut self, x: NodeId, shape: &[usize], idx: NodeId, axis: usize, count: usize) -> NodeId {
        let g = &mut self.e.graph;
        let mut out = shape.to_vec();
        out[axis] = count;
        let dtype = if shape.iter().product::<usize>() >= i32::MAX as usize { DType::I64 } else { DType::I32 };
        let ty = Type::new(dtype, out.clone());
        let along = g.cast(idx, dtype);
        let mut flat = g.full(&ty, 0.0);
        let mut stride = 1usize;
        for a in (0..shape.len()).rev() {
            let coord = if a == axis { along } else { g.iota(ty.clone(), a) };
            let scaled = match stride {
                1 => coord,
                _ => {
                    let st = g.full(&ty, stride as f64);
                    g.mul(coord, st)
                }
            };
            flat = g.add(flat, scaled);
            stride *= shape[a];
        }
        let xf = g.reshape(x, &[shape.iter().product()]);
        g.gather(xf, flat, 0)
    }

    /// `index_add(x, idx, v, axis=0)`: `x` plus `v`'s slices added at `idx` along
    /// `axis` (repeated indices accumulate), as JAX's `x.at[idx].add(v)`.
    fn index_add(&mut self) -> Option<Value> {
        let x = self.tensor(0)?;
        let x = self.e.strong(x);
        let idx = self.tensor(1)?;
        let v = self.tensor(2)?;
        if !idx.ty.dtype.is_int() || idx.ty.rank() != 1 {
            let (s, shown) = (self.arg_span(1), self.e.show(&idx.ty));
            return Some(self.err("E0305", s, format!("the index of `index_add` must be a 1-D integer tensor, found {shown}")));
        }
        if x.ty.rank() == 0 {
            return Some(self.err("E0306", self.span, "`index_add` needs a tensor of rank at least 1".to_string()));
        }
        let axis = if self.bound[3].is_some() { self.axis(3, x.ty.rank())? } else { 0 };
        let mut want = x.ty.shape.clone();
        want[axis] = idx.ty.shape[0];
        let v = if v.weak { self.e.convert(&v, x.ty.dtype) } else { v };
        if v.ty.dtype != x.ty.dtype {
            let s = self.arg_span(2);
            let what = format!("the values added into {}", x.ty.dtype);
            return Some(self.e.wrong_dtype(self.env, &what, &x.ty.dtype.to_string(), v.ty.dtype, s, None));
        }
        if crate::shapes::broadcast_shapes(&v.ty.shape, &want).as_deref() != Some(&want[..]) {
            let (a, b) = (self.e.show_shape(&v.ty.shape), self.e.show_shape(&want));
            let s = self.arg_span(2);
            return Some(self.err("E0301", s, format!("the values {a} do not broadcast to the indexed slices {b}")));
        }
        if x.ty.shape[axis] == 0 && idx.ty.shape[0] > 0 {
            return Some(self.err("E0309", self.span, format!("`index_add` adds into axis {axis}, which is empty")));
        }
        let g = &mut self.e.graph;
        let vb = g.broadcast(v.node, &want);
        let scattered = g.scatter_add(idx.node, vb, axis, x.ty.clone());
        let node = g.add(x.node, scattered);
        Some(self.e.tensor(node))
    }
}
