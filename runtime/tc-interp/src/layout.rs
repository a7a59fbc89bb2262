//! Data movement: `Iota`, `Broadcast`, `Reshape`, `Transpose`, `Reverse`, `Slice`,
//! `Pad`, `Concat`, `Gather` and `ScatterAdd`.
//!
//! All but `Iota` and `ScatterAdd` only move elements: each computes, for every output
//! element in C order, the flat position of the input element it copies (see
//! [`crate::util::offsets`]) and gathers them without converting the dtype. `Gather`
//! and `ScatterAdd` normalise indices the same way: a negative index counts from the
//! end, then the index is clamped into `[0, size - 1]`.

use crate::util::{self, concat_data, invalid, ints_to_data, numel, offsets, strides, take, vals, vals_to_data, Vals};
use crate::InterpError;
use tc_ir::Type;
use tc_tensor::{DType, Tensor};

fn istrides(shape: &[usize]) -> Vec<isize> {
    strides(shape).into_iter().map(|s| s as isize).collect()
}

/// `Iota { axis }`: the index along `axis` at every element of the type's shape.
pub fn iota(axis: usize, ty: &Type) -> Result<Tensor, InterpError> {
    let shape = &ty.shape;
    if axis >= shape.len() {
        return Err(invalid("iota", format!("axis {axis} out of range for rank {}", shape.len())));
    }
    let size = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let v: Vec<i64> = (0..numel(shape)).map(|k| ((k / inner) % size) as i64).collect();
    util::tensor(shape.clone(), ints_to_data(ty.dtype, v))
}

/// `Broadcast { dims }` of `x` to `shape`: input axis `i` becomes output axis `dims[i]`.
pub fn broadcast(x: &Tensor, dims: &[usize], shape: &[usize]) -> Result<Tensor, InterpError> {
    let in_shape = x.shape();
    if dims.len() != in_shape.len() {
        return Err(invalid("broadcast", format!("{} dims for a rank-{} operand", dims.len(), in_shape.len())));
    }
    if dims.windows(2).any(|w| w[0] >= w[1]) || dims.iter().any(|&d| d >= shape.len()) {
        return Err(invalid("broadcast", format!("dims {dims:?} are not strictly increasing axes of {shape:?}")));
    }
    let in_strides = strides(in_shape);
    let mut map = vec![0isize; shape.len()];
    for (i, &d) in dims.iter().enumerate() {
        if in_shape[i] == shape[d] {
            map[d] = in_strides[i] as isize;
        } else if in_shape[i] != 1 {
            return Err(invalid("broadcast", format!("operand axis {i} has size {}, output axis {d} has {}", in_shape[i], shape[d])));
        }
        // A size-1 axis repeats its only element: stride 0.
    }
    let idx = offsets(shape, &map, 0);
    util::tensor(shape.to_vec(), take(x.data(), &idx))
}

/// `Reshape` of `x` to `shape` (same element count, same C order).
pub fn reshape(x: &Tensor, shape: &[usize]) -> Result<Tensor, InterpError> {
    if numel(shape) != x.len() {
        return Err(invalid("reshape", format!("cannot reshape {:?} to {shape:?}", x.shape())));
    }
    util::tensor(shape.to_vec(), x.data().clone())
}

/// `Transpose { perm }`: output axis `i` is input axis `perm[i]`.
pub fn transpose(x: &Tensor, perm: &[usize]) -> Result<Tensor, InterpError> {
    let rank = x.rank();
    let mut seen = vec![false; rank];
    if perm.len() != rank || perm.iter().any(|&p| p >= rank || std::mem::replace(&mut seen[p], true)) {
        return Err(invalid("transpose", format!("{perm:?} is not a permutation of {rank} axes")));
    }
    let in_strides = istrides(x.shape());
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
    let map: Vec<isize> = perm.iter().map(|&p| in_strides[p]).collect();
    let idx = offsets(&shape, &map, 0);
    util::tensor(shape, take(x.data(), &idx))
}

/// `Reverse { axes }`: reverse the element order along each of `axes`.
pub fn reverse(x: &Tensor, axes: &[usize]) -> Result<Tensor, InterpError> {
    let shape = x.shape();
    let mut map = istrides(shape);
    let mut base = 0isize;
    let mut flip = vec![false; shape.len()];
    for &a in axes {
        if a >= shape.len() {
            return Err(invalid("reverse", format!("axis {a} out of range for rank {}", shape.len())));
        }
        flip[a] = !flip[a];
    }
    for a in 0..shape.len() {
        if flip[a] && shape[a] > 0 {
            base += (shape[a] as isize - 1) * map[a];
            map[a] = -map[a];
        }
    }
    let idx = offsets(shape, &map, base);
    util::tensor(shape.to_vec(), take(x.data(), &idx))
}

/// `Slice { start, end }`: `x[start[0]..end[0], ...]`.
pub fn slice(x: &Tensor, start: &[usize], end: &[usize]) -> Result<Tensor, InterpError> {
    let shape = x.shape();
    let rank = shape.len();
    if start.len() != rank || end.len() != rank || (0..rank).any(|a| start[a] > end[a] || end[a] > shape[a]) {
        return Err(invalid("slice", format!("bounds {start:?}..{end:?} do not fit shape {shape:?}")));
    }
    let in_strides = istrides(shape);
    let out_shape: Vec<usize> = (0..rank).map(|a| end[a] - start[a]).collect();
    let base: isize = (0..rank).map(|a| start[a] as isize * in_strides[a]).sum();
    let idx = offsets(&out_shape, &in_strides, base);
    util::tensor(out_shape, take(x.data(), &idx))
}

/// `Pad { lo, hi }`: `lo[i]` and `hi[i]` copies of the scalar `value` before and after axis `i`.
pub fn pad(x: &Tensor, value: &Tensor, lo: &[usize], hi: &[usize]) -> Result<Tensor, InterpError> {
    let shape = x.shape();
    let rank = shape.len();
    if lo.len() != rank || hi.len() != rank {
        return Err(invalid("pad", format!("lo {lo:?} and hi {hi:?} do not match rank {rank}")));
    }
    if value.len() != 1 || value.rank() != 0 {
        return Err(invalid("pad", format!("the padding value must be a scalar, got shape {:?}", value.shape())));
    }
    let out_shape: Vec<usize> = (0..rank).map(|a| lo[a] + shape[a] + hi[a]).collect();
    let out_strides = istrides(&out_shape);
    let base: isize = (0..rank).map(|a| lo[a] as isize * out_strides[a]).sum();
    let n = x.len();
    // Flat storage: x's elements then the value at position n.
    let all = concat_data(&[x.data(), value.data()])
        .ok_or_else(|| invalid("pad", format!("value has dtype {}, operand {}", value.dtype(), x.dtype())))?;
    let mut idx = vec![n; numel(&out_shape)];
    for (k, pos) in offsets(shape, &out_strides, base).into_iter().enumerate() {
        idx[pos] = k;
    }
    util::tensor(out_shape, take(&all, &idx))
}

/// `Concat { axis }`: join `parts` (one dtype, equal shapes except along `axis`).
pub fn concat(parts: &[&Tensor], axis: usize) -> Result<Tensor, InterpError> {
    let Some(first) = parts.first() else {
        return Err(invalid("concat", "no operands"));
    };
    let rank = first.rank();
    if axis >= rank {
        return Err(invalid("concat", format!("axis {axis} out of range for rank {rank}")));
    }
    let mut out_shape = first.shape().to_vec();
    out_shape[axis] = 0;
    for p in parts {
        let s = p.shape();
        if s.len() != rank || (0..rank).any(|a| a != axis && s[a] != first.shape()[a]) {
            return Err(invalid("concat", format!("shapes {:?} and {:?} differ off axis {axis}", first.shape(), s)));
        }
        out_shape[axis] += s[axis];
    }
    let datas: Vec<_> = parts.iter().map(|p| p.data()).collect();
    let all = concat_data(&datas).ok_or_else(|| invalid("concat", "operands have different dtypes"))?;
    let out_strides = istrides(&out_shape);
    let mut idx = vec![0usize; numel(&out_shape)];
    let mut along = 0usize; // where this part starts along `axis`
    let mut first_elem = 0usize; // where this part starts in `all`
    for p in parts {
        let positions = offsets(p.shape(), &out_strides, along as isize * out_strides[axis]);
        for (k, pos) in positions.into_iter().enumerate() {
            idx[pos] = first_elem + k;
        }
        along += p.shape()[axis];
        first_elem += p.len();
    }
    util::tensor(out_shape, take(&all, &idx))
}

/// Normalise an index into an axis of `size > 0`: negative counts from the end, then clamp.
pub fn normalize_index(i: i64, size: usize) -> usize {
    let size = size as i64;
    let i = if i < 0 { i.saturating_add(size) } else { i };
    i.clamp(0, size - 1) as usize
}

fn indices(op: &'static str, idx: &Tensor) -> Result<Vec<i64>, InterpError> {
    if !idx.dtype().is_int() {
        return Err(invalid(op, format!("indices have dtype {}, not an integer", idx.dtype())));
    }
    Ok(idx.data().to_i64_vec())
}

/// `Gather { axis }` (`take(x, idx, axis)`): result shape
/// `x.shape[..axis] ++ idx.shape ++ x.shape[axis+1..]`.
pub fn gather(x: &Tensor, idx: &Tensor, axis: usize) -> Result<Tensor, InterpError> {
    let shape = x.shape();
    if axis >= shape.len() {
        return Err(invalid("gather", format!("axis {axis} out of range for rank {}", shape.len())));
    }
    let ix = indices("gather", idx)?;
    let size = shape[axis];
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let mut out_shape = shape[..axis].to_vec();
    out_shape.extend_from_slice(idx.shape());
    out_shape.extend_from_slice(&shape[axis + 1..]);
    if size == 0 && numel(&out_shape) > 0 {
        return Err(invalid("gather", "indexing into an empty axis"));
    }
    let mut src = Vec::with_capacity(numel(&out_shape));
    for o in 0..outer {
        for &i in &ix {
            let row = (o * size + normalize_index(i, size)) * inner;
            src.extend(row..row + inner);
        }
    }
    util::tensor(out_shape, take(x.data(), &src))
}

/// `ScatterAdd { axis }`: a zero tensor of `shape` to which each element of `updates` is
/// added at its (normalised) index along `axis`. Floats accumulate in f64 and round
/// once; integers wrap.
pub fn scatter_add(idx: &Tensor, updates: &Tensor, axis: usize, shape: &[usize]) -> Result<Tensor, InterpError> {
    if axis >= shape.len() {
        return Err(invalid("scatter_add", format!("axis {axis} out of range for rank {}", shape.len())));
    }
    let ix = indices("scatter_add", idx)?;
    let size = shape[axis];
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let mut upd_shape = shape[..axis].to_vec();
    upd_shape.extend_from_slice(idx.shape());
    upd_shape.extend_from_slice(&shape[axis + 1..]);
    if updates.shape() != upd_shape.as_slice() {
        return Err(invalid("scatter_add", format!("updates have shape {:?}, expected {upd_shape:?}", updates.shape())));
    }
    if size == 0 && !updates.is_empty() {
        return Err(invalid("scatter_add", "scattering into an empty axis"));
    }
    // For each update element in C order, its destination.
    let mut dest = Vec::with_capacity(updates.len());
    for o in 0..outer {
        for &i in &ix {
            let row = (o * size + normalize_index(i, size)) * inner;
            dest.extend(row..row + inner);
        }
    }
    let n = numel(shape);
    let out = match vals(updates) {
        Vals::F(u) => {
            let mut acc = vec![0.0f64; n];
            for (&d, &v) in dest.iter().zip(&u) {
                acc[d] += v;
            }
            Vals::F(acc)
        }
        Vals::I(u) => {
            let mut acc = vec![0i64; n];
            for (&d, &v) in dest.iter().zip(&u) {
                acc[d] = acc[d].wrapping_add(v);
            }
            Vals::I(acc)
        }
        Vals::B(u) => {
            // Adding bools is `or`.
            let mut acc = vec![false; n];
            for (&d, &v) in dest.iter().zip(&u) {
                acc[d] |= v;
            }
            Vals::B(acc)
        }
    };
    let dtype: DType = updates.dtype();
    util::tensor(shape.to_vec(), vals_to_data(out, dtype))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tc_tensor::Data;

    fn t(shape: &[usize], data: Data) -> Tensor {
        Tensor::new(shape.to_vec(), data).unwrap()
    }
    fn ri(shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        t(shape, Data::I32((0..n as i32).collect()))
    }

    #[test]
    fn iota_along_axes() {
        let r = iota(1, &Type::new(DType::I32, vec![2, 3])).unwrap();
        assert_eq!(r.data(), &Data::I32(vec![0, 1, 2, 0, 1, 2]));
        let r = iota(0, &Type::new(DType::F32, vec![2, 3])).unwrap();
        assert_eq!(r.data(), &Data::F32(vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0]));
        let r = iota(0, &Type::new(DType::U8, vec![258])).unwrap();
        assert_eq!(&r.data().to_i64_vec()[255..], &[255, 0, 1]); // wraps
        assert!(iota(0, &Type::new(DType::I32, vec![])).is_err());
    }

    #[test]
    fn broadcast_with_dims() {
        // [3] -> [2, 3] along dims [1]
        let x = t(&[3], Data::I32(vec![1, 2, 3]));
        assert_eq!(broadcast(&x, &[1], &[2, 3]).unwrap().data(), &Data::I32(vec![1, 2, 3, 1, 2, 3]));
        // [2] -> [2, 3] along dims [0]
        let x = t(&[2], Data::I32(vec![1, 2]));
        assert_eq!(broadcast(&x, &[0], &[2, 3]).unwrap().data(), &Data::I32(vec![1, 1, 1, 2, 2, 2]));
        // [2, 1] -> [2, 2, 3] along dims [0, 2]: size-1 axis stretches.
        let x = t(&[2, 1], Data::U8(vec![7, 9]));
        assert_eq!(broadcast(&x, &[0, 2], &[2, 2, 3]).unwrap().data(), &Data::U8(vec![7; 6].into_iter().chain(vec![9; 6]).collect()));
        // scalar -> [2, 2]
        let x = t(&[], Data::Bool(vec![true]));
        assert_eq!(broadcast(&x, &[], &[2, 2]).unwrap().data(), &Data::Bool(vec![true; 4]));
        assert!(broadcast(&t(&[2], Data::I32(vec![1, 2])), &[1], &[2, 3]).is_err());
        assert!(broadcast(&t(&[1, 1], Data::I32(vec![1])), &[1, 0], &[2, 3]).is_err());
    }

    #[test]
    fn transpose_reverse_slice() {
        let x = ri(&[2, 3]);
        assert_eq!(transpose(&x, &[1, 0]).unwrap(), t(&[3, 2], Data::I32(vec![0, 3, 1, 4, 2, 5])));
        assert!(transpose(&x, &[0, 0]).is_err());
        let y = ri(&[2, 3, 4]);
        let z = transpose(&y, &[2, 0, 1]).unwrap();
        assert_eq!(z.shape(), &[4, 2, 3]);
        // z[k, i, j] = y[i, j, k] = 12 i + 4 j + k
        assert_eq!(z.as_i32().unwrap()[(3 * 2 + 1) * 3 + 2], 12 + 8 + 3);
        assert_eq!(reverse(&x, &[1]).unwrap().data(), &Data::I32(vec![2, 1, 0, 5, 4, 3]));
        assert_eq!(reverse(&x, &[0, 1]).unwrap().data(), &Data::I32(vec![5, 4, 3, 2, 1, 0]));
        assert_eq!(reverse(&x, &[]).unwrap(), x);
        assert_eq!(slice(&x, &[0, 1], &[2, 3]).unwrap(), t(&[2, 2], Data::I32(vec![1, 2, 4, 5])));
        assert_eq!(slice(&x, &[1, 0], &[1, 3]).unwrap().shape(), &[0, 3]);
        assert!(slice(&x, &[0, 2], &[2, 4]).is_err());
    }

    #[test]
    fn pad_and_concat() {
        let x = t(&[2, 2], Data::F32(vec![1.0, 2.0, 3.0, 4.0]));
        let v = t(&[], Data::F32(vec![-1.0]));
        let r = pad(&x, &v, &[1, 0], &[0, 2]).unwrap();
        assert_eq!(r, t(&[3, 4], Data::F32(vec![-1.0, -1.0, -1.0, -1.0, 1.0, 2.0, -1.0, -1.0, 3.0, 4.0, -1.0, -1.0])));
        assert!(pad(&x, &t(&[], Data::F64(vec![0.0])), &[0, 0], &[0, 0]).is_err());
        let a = ri(&[2, 1]);
        let b = t(&[2, 2], Data::I32(vec![10, 11, 12, 13]));
        assert_eq!(concat(&[&a, &b], 1).unwrap(), t(&[2, 3], Data::I32(vec![0, 10, 11, 1, 12, 13])));
        assert_eq!(concat(&[&b, &a.clone().reshaped(vec![1, 2]).unwrap()], 0).unwrap(), t(&[3, 2], Data::I32(vec![10, 11, 12, 13, 0, 1])));
        let e = t(&[2, 0], Data::I32(vec![]));
        assert_eq!(concat(&[&e, &a, &e], 1).unwrap(), a);
        assert!(concat(&[&a, &t(&[2, 1], Data::I64(vec![0, 1]))], 1).is_err());
    }

    #[test]
    fn gather_negative_and_clamped() {
        let x = t(&[2, 4], Data::F32(vec![0.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 13.0]));
        let idx = t(&[5], Data::I64(vec![0, -1, 7, -9, 2]));
        // -1 -> 3; 7 -> clamp 3; -9 -> -5 -> clamp 0.
        let r = gather(&x, &idx, 1).unwrap();
        assert_eq!(r, t(&[2, 5], Data::F32(vec![0.0, 3.0, 3.0, 0.0, 2.0, 10.0, 13.0, 13.0, 10.0, 12.0])));
        let idx = t(&[2, 2], Data::I32(vec![1, -2, 5, 0]));
        let r = gather(&x, &idx, 0).unwrap();
        assert_eq!(r.shape(), &[2, 2, 4]);
        assert_eq!(r.data().to_f64_vec(), vec![10.0, 11.0, 12.0, 13.0, 0.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 13.0, 0.0, 1.0, 2.0, 3.0]);
        let r = gather(&x, &t(&[], Data::U8(vec![2])), 1).unwrap();
        assert_eq!(r, t(&[2], Data::F32(vec![2.0, 12.0])));
        assert!(gather(&x, &t(&[1], Data::F32(vec![0.0])), 1).is_err());
        assert!(gather(&t(&[0], Data::F32(vec![])), &t(&[1], Data::I32(vec![0])), 0).is_err());
        assert_eq!(normalize_index(i64::MIN, 3), 0);
        assert_eq!(normalize_index(i64::MAX, 3), 2);
    }

    #[test]
    fn scatter_add_accumulates() {
        let idx = t(&[4], Data::I32(vec![0, -1, 2, 9]));
        let upd = t(&[2, 4], Data::F32(vec![1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0]));
        let r = scatter_add(&idx, &upd, 1, &[2, 3]).unwrap();
        // -1 -> 2, 9 -> clamp 2.
        assert_eq!(r, t(&[2, 3], Data::F32(vec![1.0, 0.0, 9.0, 10.0, 0.0, 90.0])));
        let r = scatter_add(&t(&[3], Data::I64(vec![1, 1, 1])), &t(&[3], Data::U8(vec![200, 50, 10])), 0, &[2]).unwrap();
        assert_eq!(r.data(), &Data::U8(vec![0, 4])); // 260 wraps to 4
        assert!(scatter_add(&idx, &upd, 1, &[3, 3]).is_err());
    }

    fn shape_and_perm() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        prop::collection::vec(0usize..4, 0..=5).prop_flat_map(|shape| {
            let rank = shape.len();
            (Just(shape), Just((0..rank).collect::<Vec<usize>>()).prop_shuffle())
        })
    }

    proptest! {
        #[test]
        fn transpose_then_inverse_is_identity((shape, perm) in shape_and_perm()) {
            let x = ri(&shape);
            let y = transpose(&x, &perm).unwrap();
            let mut inv = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inv[p] = i;
            }
            prop_assert_eq!(transpose(&y, &inv).unwrap(), x);
        }

        /// Broadcast agrees with a naive index mapping: out[idx] = x[idx'] where
        /// idx'[i] = idx[dims[i]] if x.shape[i] > 1 else 0.
        #[test]
        fn broadcast_matches_naive(
            out_shape in prop::collection::vec(1usize..4, 0..=4),
            mask in prop::collection::vec(any::<bool>(), 4),
            ones in prop::collection::vec(any::<bool>(), 4),
        ) {
            let rank = out_shape.len();
            let dims: Vec<usize> = (0..rank).filter(|&a| mask[a]).collect();
            let in_shape: Vec<usize> = dims.iter().enumerate().map(|(i, &d)| if ones[i] { 1 } else { out_shape[d] }).collect();
            let x = ri(&in_shape);
            let got = broadcast(&x, &dims, &out_shape).unwrap();
            let xs = x.as_i32().unwrap();
            let n: usize = out_shape.iter().product();
            let mut want = Vec::with_capacity(n);
            for flat in 0..n {
                let mut idx = vec![0; rank];
                let mut r = flat;
                for a in (0..rank).rev() {
                    idx[a] = r % out_shape[a];
                    r /= out_shape[a];
                }
                let mut src = 0;
                for (i, &d) in dims.iter().enumerate() {
                    let j = if in_shape[i] == 1 { 0 } else { idx[d] };
                    src = src * in_shape[i] + j;
                }
                want.push(xs[src]);
            }
            prop_assert_eq!(got.data(), &Data::I32(want));
        }

        #[test]
        fn reverse_twice_is_identity((shape, perm) in shape_and_perm()) {
            let x = ri(&shape);
            let axes: Vec<usize> = perm.iter().copied().filter(|a| a % 2 == 0).collect();
            let mut sorted = axes.clone();
            sorted.sort();
            let y = reverse(&x, &sorted).unwrap();
            prop_assert_eq!(reverse(&y, &sorted).unwrap(), x);
        }
    }
}
