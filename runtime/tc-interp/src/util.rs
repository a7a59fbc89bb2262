//! Shared helpers: C-order strides and strided offset iteration, packing of f64/i64
//! values into every dtype (rounded once, by `tc_tensor`'s correctly rounded
//! conversions), the widened value representation the op families compute in, and
//! dtype-generic gathering of elements by flat index.

use crate::InterpError;
use tc_tensor::{DType, Data, Tensor};

/// Row-major (C order) strides of `shape`, in elements.
pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

pub(crate) fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// For every multi-index of `shape` in C order, the offset `base + Σ idx[i] * strides[i]`.
/// This one helper expresses transpose, broadcast, slice, reverse, pad, concat and the
/// output mapping of reductions. Linear in the element count.
pub(crate) fn offsets(shape: &[usize], strides: &[isize], base: isize) -> Vec<usize> {
    debug_assert_eq!(shape.len(), strides.len());
    let n = numel(shape);
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let rank = shape.len();
    let mut idx = vec![0usize; rank];
    let mut off = base;
    loop {
        debug_assert!(off >= 0);
        out.push(off as usize);
        // Odometer increment from the last axis.
        let mut ax = rank;
        loop {
            if ax == 0 {
                return out;
            }
            ax -= 1;
            idx[ax] += 1;
            off += strides[ax];
            if idx[ax] < shape[ax] {
                break;
            }
            off -= strides[ax] * shape[ax] as isize;
            idx[ax] = 0;
        }
    }
}

/// Storage of float `dtype` from f64 values, each rounded once to nearest even.
pub(crate) fn floats_to_data(dtype: DType, v: Vec<f64>) -> Data {
    assert!(dtype.is_float(), "floats_to_data called with non-float dtype {dtype}");
    match dtype {
        DType::F64 => Data::F64(v),
        _ => Data::from_f64(dtype, &v),
    }
}

/// Storage of `dtype` from i64 values: integers wrap (two's complement), bool is
/// `!= 0`, floats are the correctly rounded conversion.
pub(crate) fn ints_to_data(dtype: DType, v: Vec<i64>) -> Data {
    match dtype {
        DType::I64 => Data::I64(v),
        _ => Data::from_i64(dtype, &v),
    }
}

/// Elements widened to what the op families compute in: f64 for floats (exact),
/// i64 for integers (exact), bool as is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Vals {
    F(Vec<f64>),
    I(Vec<i64>),
    B(Vec<bool>),
}

pub(crate) fn vals(t: &Tensor) -> Vals {
    match t.data() {
        Data::Bool(b) => Vals::B(b.clone()),
        d if d.dtype().is_float() => Vals::F(d.to_f64_vec()),
        d => Vals::I(d.to_i64_vec()),
    }
}

/// Pack computed values as `dtype` (floats rounded once, integers wrapped).
pub(crate) fn vals_to_data(v: Vals, dtype: DType) -> Data {
    match v {
        Vals::F(f) if dtype.is_float() => floats_to_data(dtype, f),
        Vals::F(f) => Data::from_f64(dtype, &f),
        Vals::I(i) => ints_to_data(dtype, i),
        Vals::B(b) => match dtype {
            DType::Bool => Data::Bool(b),
            other => ints_to_data(other, b.into_iter().map(i64::from).collect()),
        },
    }
}

/// The elements of `d` at the flat positions `idx`, in that order (any dtype, no conversion).
pub(crate) fn take(d: &Data, idx: &[usize]) -> Data {
    macro_rules! pick {
        ($($variant:ident),*) => {
            match d {
                $(Data::$variant(v) => Data::$variant(idx.iter().map(|&i| v[i]).collect()),)*
            }
        };
    }
    pick!(F64, F32, F16, BF16, I64, I32, U8, Bool)
}

/// The storages of `parts` (all of one dtype) joined end to end; `None` if the dtypes
/// differ or `parts` is empty.
pub(crate) fn concat_data(parts: &[&Data]) -> Option<Data> {
    let first = parts.first()?;
    macro_rules! join {
        ($($variant:ident),*) => {
            match first {
                $(Data::$variant(_) => {
                    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
                    for p in parts {
                        match p {
                            Data::$variant(v) => out.extend_from_slice(v),
                            _ => return None,
                        }
                    }
                    Data::$variant(out)
                })*
            }
        };
    }
    Some(join!(F64, F32, F16, BF16, I64, I32, U8, Bool))
}

/// A tensor from a shape and storage that the caller built to match.
pub(crate) fn tensor(shape: Vec<usize>, data: Data) -> Result<Tensor, InterpError> {
    Tensor::new(shape, data).map_err(|e| InterpError::Internal(format!("built a malformed tensor: {e}")))
}

pub(crate) fn invalid(op: &'static str, message: impl Into<String>) -> InterpError {
    InterpError::Invalid { op, message: message.into() }
}

pub(crate) fn unsupported(op: &'static str, dtype: DType) -> InterpError {
    InterpError::Unsupported { op, dtype }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn strides_and_offsets() {
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(strides(&[]), Vec::<usize>::new());
        assert_eq!(offsets(&[], &[], 5), vec![5]);
        assert_eq!(offsets(&[2, 0], &[1, 1], 0), Vec::<usize>::new());
        // Transposed view of a 2x3 matrix.
        assert_eq!(offsets(&[3, 2], &[1, 3], 0), vec![0, 3, 1, 4, 2, 5]);
        // Reversed axis.
        assert_eq!(offsets(&[3], &[-1], 2), vec![2, 1, 0]);
    }
}
