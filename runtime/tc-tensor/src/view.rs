//! Borrowed tensors: a shape and C-order elements that someone else owns (a host
//! application's buffer, a NumPy array), read in place for the duration of a call
//! instead of being copied into a [`Tensor`].

use crate::{DType, Data, ShapeMismatch, Tensor};
use half::{bf16, f16};

/// Borrowed element storage, one variant per dtype, always C order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DataRef<'a> {
    F64(&'a [f64]),
    F32(&'a [f32]),
    F16(&'a [f16]),
    BF16(&'a [bf16]),
    I64(&'a [i64]),
    I32(&'a [i32]),
    U8(&'a [u8]),
    Bool(&'a [bool]),
}

impl<'a> DataRef<'a> {
    pub fn dtype(&self) -> DType {
        match self {
            DataRef::F64(_) => DType::F64,
            DataRef::F32(_) => DType::F32,
            DataRef::F16(_) => DType::F16,
            DataRef::BF16(_) => DType::BF16,
            DataRef::I64(_) => DType::I64,
            DataRef::I32(_) => DType::I32,
            DataRef::U8(_) => DType::U8,
            DataRef::Bool(_) => DType::Bool,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            DataRef::F64(v) => v.len(),
            DataRef::F32(v) => v.len(),
            DataRef::F16(v) => v.len(),
            DataRef::BF16(v) => v.len(),
            DataRef::I64(v) => v.len(),
            DataRef::I32(v) => v.len(),
            DataRef::U8(v) => v.len(),
            DataRef::Bool(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The address of the first element, for compiled code that reads the storage (and
    /// never writes it).
    pub fn base_ptr(&self) -> *const u8 {
        match self {
            DataRef::F64(v) => v.as_ptr() as *const u8,
            DataRef::F32(v) => v.as_ptr() as *const u8,
            DataRef::F16(v) => v.as_ptr() as *const u8,
            DataRef::BF16(v) => v.as_ptr() as *const u8,
            DataRef::I64(v) => v.as_ptr() as *const u8,
            DataRef::I32(v) => v.as_ptr() as *const u8,
            DataRef::U8(v) => v.as_ptr(),
            DataRef::Bool(v) => v.as_ptr() as *const u8,
        }
    }

    /// Owned storage holding a copy of the elements.
    pub fn to_data(&self) -> Data {
        match *self {
            DataRef::F64(v) => Data::F64(v.to_vec()),
            DataRef::F32(v) => Data::F32(v.to_vec()),
            DataRef::F16(v) => Data::F16(v.to_vec()),
            DataRef::BF16(v) => Data::BF16(v.to_vec()),
            DataRef::I64(v) => Data::I64(v.to_vec()),
            DataRef::I32(v) => Data::I32(v.to_vec()),
            DataRef::U8(v) => Data::U8(v.to_vec()),
            DataRef::Bool(v) => Data::Bool(v.to_vec()),
        }
    }
}

impl Data {
    /// The storage, borrowed.
    pub fn as_ref(&self) -> DataRef<'_> {
        match self {
            Data::F64(v) => DataRef::F64(v),
            Data::F32(v) => DataRef::F32(v),
            Data::F16(v) => DataRef::F16(v),
            Data::BF16(v) => DataRef::BF16(v),
            Data::I64(v) => DataRef::I64(v),
            Data::I32(v) => DataRef::I32(v),
            Data::U8(v) => DataRef::U8(v),
            Data::Bool(v) => DataRef::Bool(v),
        }
    }
}

/// A dense tensor borrowed from its owner: a shape and C-order elements of that shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TensorRef<'a> {
    shape: &'a [usize],
    data: DataRef<'a>,
}

impl<'a> TensorRef<'a> {
    /// A borrowed tensor whose storage has exactly as many elements as the shape.
    pub fn new(shape: &'a [usize], data: DataRef<'a>) -> Result<TensorRef<'a>, ShapeMismatch> {
        // An overflowing product cannot equal a slice's length.
        let want = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        if want != Some(data.len()) {
            return Err(ShapeMismatch {
                shape: shape.to_vec(),
                elements: data.len(),
            });
        }
        Ok(TensorRef { shape, data })
    }

    pub fn shape(&self) -> &'a [usize] {
        self.shape
    }

    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    pub fn data(&self) -> DataRef<'a> {
        self.data
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// An owned copy.
    pub fn to_tensor(&self) -> Tensor {
        Tensor::new(self.shape.to_vec(), self.data.to_data())
            .expect("a TensorRef's shape matches its storage")
    }
}

impl Tensor {
    /// The tensor, borrowed: what a call that reads its inputs in place takes.
    pub fn view(&self) -> TensorRef<'_> {
        TensorRef {
            shape: self.shape(),
            data: self.data().as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_reads_the_same_storage_and_copies_back_equal() {
        let t = Tensor::from_f32(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let v = t.view();
        assert_eq!(v.dtype(), DType::F32);
        assert_eq!(v.shape(), &[2, 3]);
        assert_eq!(v.data().base_ptr(), t.data().base_ptr() as *const u8);
        assert_eq!(v.to_tensor(), t);
    }

    #[test]
    fn the_shape_must_match_the_storage() {
        let values = [1i32, 2, 3];
        assert!(TensorRef::new(&[3], DataRef::I32(&values)).is_ok());
        let err = TensorRef::new(&[2, 2], DataRef::I32(&values)).unwrap_err();
        assert_eq!(err.elements, 3);
        // A shape whose product overflows is refused, not wrapped.
        assert!(TensorRef::new(&[usize::MAX, 2], DataRef::I32(&values)).is_err());
        assert!(TensorRef::new(&[], DataRef::Bool(&[true])).is_ok());
    }
}
