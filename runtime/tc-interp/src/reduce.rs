//! Reductions: `Reduce` (sum, prod, max, min over a set of axes) and `ArgReduce`
//! (index of the first maximum or minimum along one axis).
//!
//! Float sums and products accumulate in f64, in C order of the input, and round once.
//! Integer ones wrap. Max and min propagate NaN. Empty reductions give the identity:
//! sum 0, prod 1, max -inf (or the dtype's minimum: `i64::MIN`, `i32::MIN`, 0 for u8,
//! false for bool), min +inf (or the dtype's maximum). On bool, sum is `or` and prod is
//! `and` (the i64 result wrapped to bool as `!= 0`).
//! `ArgReduce` returns the first extreme index as i32; a NaN counts as the extreme, so
//! the first NaN wins (NumPy).

use crate::elementwise::{fmax_nan, fmin_nan};
use crate::util::{self, invalid, numel, offsets, strides, vals, vals_to_data, Vals};
use crate::InterpError;
use tc_ir::{ArgOp, ReduceOp};
use tc_tensor::{DType, Data, Tensor};

fn int_min(dtype: DType) -> i64 {
    match dtype {
        DType::I64 => i64::MIN,
        DType::I32 => i32::MIN as i64,
        _ => 0, // u8, bool
    }
}

fn int_max(dtype: DType) -> i64 {
    match dtype {
        DType::I64 => i64::MAX,
        DType::I32 => i32::MAX as i64,
        DType::U8 => u8::MAX as i64,
        _ => 1, // bool
    }
}

/// `Reduce { op, axes }` on `x`: the `axes` (sorted, distinct) are removed.
pub fn reduce(op: ReduceOp, axes: &[usize], x: &Tensor) -> Result<Tensor, InterpError> {
    let shape = x.shape();
    let rank = shape.len();
    if axes.windows(2).any(|w| w[0] >= w[1]) || axes.iter().any(|&a| a >= rank) {
        return Err(invalid("reduce", format!("axes {axes:?} are not sorted, distinct axes of a rank-{rank} tensor")));
    }
    let reduced: Vec<bool> = (0..rank).map(|a| axes.contains(&a)).collect();
    let out_shape: Vec<usize> = (0..rank).filter(|&a| !reduced[a]).map(|a| shape[a]).collect();
    let out_strides = strides(&out_shape);
    // Stride of each input axis in the output: 0 for a reduced axis.
    let mut map = Vec::with_capacity(rank);
    let mut k = 0;
    for &r in &reduced {
        if r {
            map.push(0isize);
        } else {
            map.push(out_strides[k] as isize);
            k += 1;
        }
    }
    // For input element i (C order), the output element it contributes to.
    let dest = offsets(shape, &map, 0);
    let n_out = numel(&out_shape);
    let count: usize = axes.iter().map(|&a| shape[a]).product();
    let dtype = x.dtype();

    let out = match vals(x) {
        Vals::F(v) => {
            // -0.0 is the exact identity of IEEE addition; an empty sum is +0.0.
            let init = match op {
                ReduceOp::Sum if count == 0 => 0.0,
                ReduceOp::Sum => -0.0,
                ReduceOp::Prod => 1.0,
                ReduceOp::Max => f64::NEG_INFINITY,
                ReduceOp::Min => f64::INFINITY,
            };
            let mut acc = vec![init; n_out];
            for (&o, &a) in dest.iter().zip(&v) {
                acc[o] = match op {
                    ReduceOp::Sum => acc[o] + a,
                    ReduceOp::Prod => acc[o] * a,
                    ReduceOp::Max => fmax_nan(acc[o], a),
                    ReduceOp::Min => fmin_nan(acc[o], a),
                };
            }
            Vals::F(acc)
        }
        other => {
            let v: Vec<i64> = match other {
                Vals::I(v) => v,
                Vals::B(b) => b.into_iter().map(i64::from).collect(),
                Vals::F(_) => unreachable!(),
            };
            let init = match op {
                ReduceOp::Sum => 0,
                ReduceOp::Prod => 1,
                ReduceOp::Max => int_min(dtype),
                ReduceOp::Min => int_max(dtype),
            };
            let mut acc = vec![init; n_out];
            for (&o, &a) in dest.iter().zip(&v) {
                acc[o] = match op {
                    ReduceOp::Sum => acc[o].wrapping_add(a),
                    ReduceOp::Prod => acc[o].wrapping_mul(a),
                    ReduceOp::Max => acc[o].max(a),
                    ReduceOp::Min => acc[o].min(a),
                };
            }
            Vals::I(acc)
        }
    };
    util::tensor(out_shape, vals_to_data(out, dtype))
}

/// `ArgReduce { op, axis }` on `x`: the index (i32) of the first maximum or minimum
/// along `axis`, which is removed. A NaN is the extreme (the first NaN wins).
pub fn arg_reduce(op: ArgOp, axis: usize, x: &Tensor) -> Result<Tensor, InterpError> {
    let shape = x.shape();
    if axis >= shape.len() {
        return Err(invalid("argreduce", format!("axis {axis} out of range for rank {}", shape.len())));
    }
    let len = shape[axis];
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let mut out_shape = shape.to_vec();
    out_shape.remove(axis);
    if len == 0 && outer * inner > 0 {
        return Err(invalid("argreduce", "the reduced axis is empty"));
    }
    let max = op == ArgOp::ArgMax;
    let mut result = Vec::with_capacity(outer * inner);
    match vals(x) {
        Vals::F(v) => {
            for o in 0..outer {
                for i in 0..inner {
                    let at = |j: usize| v[(o * len + j) * inner + i];
                    let mut best = at(0);
                    let mut best_j = 0;
                    if !best.is_nan() {
                        for j in 1..len {
                            let a = at(j);
                            if a.is_nan() {
                                best_j = j;
                                break;
                            }
                            if (max && a > best) || (!max && a < best) {
                                best = a;
                                best_j = j;
                            }
                        }
                    }
                    result.push(best_j as i64);
                }
            }
        }
        other => {
            let v: Vec<i64> = match other {
                Vals::I(v) => v,
                Vals::B(b) => b.into_iter().map(i64::from).collect(),
                Vals::F(_) => unreachable!(),
            };
            for o in 0..outer {
                for i in 0..inner {
                    let at = |j: usize| v[(o * len + j) * inner + i];
                    let mut best = at(0);
                    let mut best_j = 0;
                    for j in 1..len {
                        let a = at(j);
                        if (max && a > best) || (!max && a < best) {
                            best = a;
                            best_j = j;
                        }
                    }
                    result.push(best_j as i64);
                }
            }
        }
    }
    util::tensor(out_shape, Data::I32(result.into_iter().map(|j| j as i32).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;
    use proptest::prelude::*;

    fn t(shape: &[usize], data: Data) -> Tensor {
        Tensor::new(shape.to_vec(), data).unwrap()
    }

    #[test]
    fn sum_prod_max_min_f32() {
        // [[1, 2, 3], [4, 5, 6]]
        let x = t(&[2, 3], Data::F32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
        assert_eq!(reduce(ReduceOp::Sum, &[0], &x).unwrap(), t(&[3], Data::F32(vec![5.0, 7.0, 9.0])));
        assert_eq!(reduce(ReduceOp::Sum, &[1], &x).unwrap(), t(&[2], Data::F32(vec![6.0, 15.0])));
        assert_eq!(reduce(ReduceOp::Sum, &[0, 1], &x).unwrap(), t(&[], Data::F32(vec![21.0])));
        assert_eq!(reduce(ReduceOp::Prod, &[1], &x).unwrap(), t(&[2], Data::F32(vec![6.0, 120.0])));
        assert_eq!(reduce(ReduceOp::Max, &[0], &x).unwrap(), t(&[3], Data::F32(vec![4.0, 5.0, 6.0])));
        assert_eq!(reduce(ReduceOp::Min, &[1], &x).unwrap(), t(&[2], Data::F32(vec![1.0, 4.0])));
        assert_eq!(reduce(ReduceOp::Sum, &[], &x).unwrap(), x);
    }

    #[test]
    fn float_sum_accumulates_in_f64() {
        // In f32, 2^24 + 1 + 1 + ... stays 2^24; in f64 the ones add up.
        let mut v = vec![16777216.0f32];
        v.extend([1.0; 4]);
        let x = t(&[5], Data::F32(v));
        assert_eq!(reduce(ReduceOp::Sum, &[0], &x).unwrap().as_f32().unwrap(), &[16777220.0]);
        // f16: 2048 + 1 + 1 = 2050 (in f16 steps 2048 + 1 would round back to 2048).
        let x = t(&[3], Data::F16(vec![f16::from_f64(2048.0), f16::ONE, f16::ONE]));
        assert_eq!(reduce(ReduceOp::Sum, &[0], &x).unwrap().data(), &Data::F16(vec![f16::from_f64(2050.0)]));
    }

    #[test]
    fn max_min_propagate_nan() {
        let x = t(&[2, 3], Data::F64(vec![1.0, f64::NAN, 3.0, 4.0, 5.0, 6.0]));
        let mx = reduce(ReduceOp::Max, &[1], &x).unwrap().data().to_f64_vec();
        assert!(mx[0].is_nan());
        assert_eq!(mx[1], 6.0);
        let mn = reduce(ReduceOp::Min, &[0], &x).unwrap().data().to_f64_vec();
        assert_eq!(mn[0], 1.0);
        assert!(mn[1].is_nan());
        assert_eq!(mn[2], 3.0);
    }

    #[test]
    fn empty_reductions_give_identities() {
        let shape = [2, 0];
        let f = t(&shape, Data::F32(vec![]));
        assert_eq!(reduce(ReduceOp::Sum, &[1], &f).unwrap(), t(&[2], Data::F32(vec![0.0, 0.0])));
        assert_eq!(reduce(ReduceOp::Prod, &[1], &f).unwrap(), t(&[2], Data::F32(vec![1.0, 1.0])));
        assert_eq!(reduce(ReduceOp::Max, &[1], &f).unwrap(), t(&[2], Data::F32(vec![f32::NEG_INFINITY; 2])));
        assert_eq!(reduce(ReduceOp::Min, &[1], &f).unwrap(), t(&[2], Data::F32(vec![f32::INFINITY; 2])));
        let sum = reduce(ReduceOp::Sum, &[1], &f).unwrap();
        assert!(sum.as_f32().unwrap().iter().all(|x| x.is_sign_positive()));
        let cases = [
            (Data::I64(vec![]), Data::I64(vec![i64::MIN; 2]), Data::I64(vec![i64::MAX; 2])),
            (Data::I32(vec![]), Data::I32(vec![i32::MIN; 2]), Data::I32(vec![i32::MAX; 2])),
            (Data::U8(vec![]), Data::U8(vec![0; 2]), Data::U8(vec![255; 2])),
            (Data::Bool(vec![]), Data::Bool(vec![false; 2]), Data::Bool(vec![true; 2])),
        ];
        for (data, max, min) in cases {
            let x = t(&shape, data);
            assert_eq!(reduce(ReduceOp::Max, &[1], &x).unwrap().data(), &max);
            assert_eq!(reduce(ReduceOp::Min, &[1], &x).unwrap().data(), &min);
        }
        let x = t(&shape, Data::I32(vec![]));
        assert_eq!(reduce(ReduceOp::Sum, &[1], &x).unwrap().data(), &Data::I32(vec![0, 0]));
        assert_eq!(reduce(ReduceOp::Prod, &[1], &x).unwrap().data(), &Data::I32(vec![1, 1]));
        // Reducing a non-empty axis of an empty tensor gives an empty result.
        assert_eq!(reduce(ReduceOp::Sum, &[0], &x).unwrap().shape(), &[0]);
    }

    #[test]
    fn integer_reductions_wrap() {
        let x = t(&[3], Data::I32(vec![i32::MAX, 1, 1]));
        assert_eq!(reduce(ReduceOp::Sum, &[0], &x).unwrap().data(), &Data::I32(vec![i32::MIN + 1]));
        let x = t(&[2], Data::U8(vec![16, 17]));
        assert_eq!(reduce(ReduceOp::Prod, &[0], &x).unwrap().data(), &Data::U8(vec![16]));
        let x = t(&[3], Data::U8(vec![200, 100, 0]));
        assert_eq!(reduce(ReduceOp::Sum, &[0], &x).unwrap().data(), &Data::U8(vec![44]));
        assert_eq!(reduce(ReduceOp::Max, &[0], &x).unwrap().data(), &Data::U8(vec![200]));
        let x = t(&[2, 2], Data::Bool(vec![true, false, false, false]));
        assert_eq!(reduce(ReduceOp::Max, &[1], &x).unwrap().data(), &Data::Bool(vec![true, false]));
        assert_eq!(reduce(ReduceOp::Min, &[0], &x).unwrap().data(), &Data::Bool(vec![false, false]));
        assert_eq!(reduce(ReduceOp::Sum, &[1], &x).unwrap().data(), &Data::Bool(vec![true, false]));
    }

    #[test]
    fn bad_axes_are_errors() {
        let x = t(&[2, 3], Data::F32(vec![0.0; 6]));
        assert!(reduce(ReduceOp::Sum, &[1, 0], &x).is_err());
        assert!(reduce(ReduceOp::Sum, &[2], &x).is_err());
        assert!(reduce(ReduceOp::Sum, &[0, 0], &x).is_err());
        assert!(arg_reduce(ArgOp::ArgMax, 2, &x).is_err());
    }

    #[test]
    fn argmax_argmin_first_and_nan() {
        let x = t(&[2, 4], Data::F32(vec![1.0, 3.0, 3.0, 2.0, 5.0, f32::NAN, 7.0, f32::NAN]));
        assert_eq!(arg_reduce(ArgOp::ArgMax, 1, &x).unwrap(), t(&[2], Data::I32(vec![1, 1])));
        assert_eq!(arg_reduce(ArgOp::ArgMin, 1, &x).unwrap(), t(&[2], Data::I32(vec![0, 1])));
        assert_eq!(arg_reduce(ArgOp::ArgMax, 0, &x).unwrap(), t(&[4], Data::I32(vec![1, 1, 1, 1])));
        assert_eq!(arg_reduce(ArgOp::ArgMin, 0, &x).unwrap(), t(&[4], Data::I32(vec![0, 1, 0, 1])));
        // NaN first in the row.
        let x = t(&[3], Data::F64(vec![f64::NAN, 9.0, f64::NAN]));
        assert_eq!(arg_reduce(ArgOp::ArgMax, 0, &x).unwrap().data(), &Data::I32(vec![0]));
        // Ties in integers: first index.
        let x = t(&[5], Data::I64(vec![-3, 8, -3, 8, -9]));
        assert_eq!(arg_reduce(ArgOp::ArgMax, 0, &x).unwrap().data(), &Data::I32(vec![1]));
        assert_eq!(arg_reduce(ArgOp::ArgMin, 0, &x).unwrap().data(), &Data::I32(vec![4]));
        let x = t(&[3], Data::Bool(vec![false, true, true]));
        assert_eq!(arg_reduce(ArgOp::ArgMax, 0, &x).unwrap().data(), &Data::I32(vec![1]));
        let x = t(&[3], Data::U8(vec![7, 7, 7]));
        assert_eq!(arg_reduce(ArgOp::ArgMin, 0, &x).unwrap().data(), &Data::I32(vec![0]));
        // -inf is a proper minimum.
        let x = t(&[3], Data::F32(vec![0.0, f32::NEG_INFINITY, -1.0]));
        assert_eq!(arg_reduce(ArgOp::ArgMin, 0, &x).unwrap().data(), &Data::I32(vec![1]));
        // An empty reduced axis is an error unless the result is empty.
        assert!(arg_reduce(ArgOp::ArgMax, 1, &t(&[2, 0], Data::F32(vec![]))).is_err());
        assert_eq!(arg_reduce(ArgOp::ArgMax, 1, &t(&[0, 0], Data::F32(vec![]))).unwrap().shape(), &[0]);
    }

    /// A random shape of rank 0..=4 with small dims (including 0 sometimes), random
    /// f64 data, and a random sorted subset of axes.
    fn shape_data_axes() -> impl Strategy<Value = (Vec<usize>, Vec<f64>, Vec<usize>)> {
        prop::collection::vec(0usize..4, 0..=4).prop_flat_map(|shape| {
            let n: usize = shape.iter().product();
            let rank = shape.len();
            (
                Just(shape),
                prop::collection::vec(-100i32..100, n).prop_map(|v| v.into_iter().map(|x| x as f64 / 4.0).collect()),
                prop::collection::vec(any::<bool>(), rank).prop_map(|m| m.iter().enumerate().filter(|(_, &b)| b).map(|(i, _)| i).collect()),
            )
        })
    }

    proptest! {
        /// Reduce Sum over random axes equals a straightforward nested-loop sum, computed
        /// by enumerating every input multi-index and its output multi-index.
        #[test]
        fn sum_matches_nested_loops((shape, data, axes) in shape_data_axes()) {
            let x = Tensor::new(shape.clone(), Data::F64(data.clone())).unwrap();
            let got = reduce(ReduceOp::Sum, &axes, &x).unwrap();
            let out_shape: Vec<usize> = (0..shape.len()).filter(|a| !axes.contains(a)).map(|a| shape[a]).collect();
            prop_assert_eq!(got.shape(), &out_shape[..]);
            let mut want = vec![0.0f64; out_shape.iter().product()];
            for (flat, &value) in data.iter().enumerate() {
                // Decode the multi-index of `flat`.
                let mut idx = vec![0; shape.len()];
                let mut r = flat;
                for a in (0..shape.len()).rev() {
                    idx[a] = r % shape[a];
                    r /= shape[a];
                }
                let mut o = 0;
                for a in 0..shape.len() {
                    if !axes.contains(&a) {
                        o = o * shape[a] + idx[a];
                    }
                }
                want[o] += value;
            }
            // Quarter-integers below 2^40 sum exactly in any order.
            prop_assert_eq!(got.data(), &Data::F64(want));
        }

        #[test]
        fn int_sum_matches_float_sum((shape, data, axes) in shape_data_axes()) {
            let ints: Vec<i64> = data.iter().map(|&x| (x * 4.0) as i64).collect();
            let xi = Tensor::new(shape.clone(), Data::I64(ints.clone())).unwrap();
            let xf = Tensor::new(shape.clone(), Data::F64(ints.iter().map(|&v| v as f64).collect())).unwrap();
            let si = reduce(ReduceOp::Sum, &axes, &xi).unwrap();
            let sf = reduce(ReduceOp::Sum, &axes, &xf).unwrap();
            prop_assert_eq!(si.data().to_f64_vec(), sf.data().to_f64_vec());
        }
    }
}

/// The stable sorting permutation of `x` along `axis` (`Op::ArgSort`): NaN last in both
/// orders, equal elements in their original order.
pub fn arg_sort(axis: usize, descending: bool, x: &Tensor) -> Result<Tensor, InterpError> {
    let shape = x.shape();
    if axis >= shape.len() {
        return Err(invalid("argsort", format!("axis {axis} out of range for rank {}", shape.len())));
    }
    let len = shape[axis];
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let keys: Vec<f64> = match vals(x) {
        Vals::F(v) => v,
        // Integers up to 2^53 order exactly as f64; i64 beyond compares through i128 below.
        Vals::I(v) => v.into_iter().map(|i| i as f64).collect(),
        Vals::B(b) => b.into_iter().map(f64::from).collect(),
    };
    let exact_ints: Option<Vec<i64>> = match vals(x) {
        Vals::I(v) => Some(v),
        _ => None,
    };
    let mut result = vec![0i64; outer * len * inner];
    let mut order: Vec<usize> = Vec::with_capacity(len);
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| (o * len + j) * inner + i;
            order.clear();
            order.extend(0..len);
            order.sort_by(|&a, &b| {
                let ord = match &exact_ints {
                    Some(v) => v[at(a)].cmp(&v[at(b)]),
                    None => {
                        let (ka, kb) = (keys[at(a)], keys[at(b)]);
                        match (ka.is_nan(), kb.is_nan()) {
                            (true, true) => return std::cmp::Ordering::Equal,
                            (true, false) => return std::cmp::Ordering::Greater,
                            (false, true) => return std::cmp::Ordering::Less,
                            _ => ka.partial_cmp(&kb).expect("no NaN here"),
                        }
                    }
                };
                if descending { ord.reverse() } else { ord }
            });
            for (k, &j) in order.iter().enumerate() {
                result[at(k)] = j as i64;
            }
        }
    }
    Ok(Tensor::new(shape.to_vec(), tc_tensor::Data::from_i64(DType::I32, &result)).expect("one index per element"))
}
