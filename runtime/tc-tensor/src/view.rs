//! Borrowed tensors: a shape and C-order elements that someone else owns (a host
//! application's buffer, a NumPy array), read in place for the duration of a call
//! instead of being copied into a [`Tensor`] ([`TensorRef`]), or lent to the call to be
//! read and then overwritten by the output paired with it ([`TensorMut`], a donated
//! input).

use crate::{DType, Data, ShapeMismatch, Tensor};
use half::{bf16, f16};
use std::marker::PhantomData;

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

/// A dense tensor lent to one call to be read and then overwritten: a donated input,
/// whose storage the output paired with it may take instead of new memory. It is an
/// exclusive borrow of its elements for `'a`, like `&'a mut [T]`.
#[derive(Debug)]
pub struct TensorMut<'a> {
    shape: &'a [usize],
    dtype: DType,
    ptr: *mut u8,
    len: usize,
    _lent: PhantomData<&'a mut [u8]>,
}

// SAFETY: a TensorMut is an exclusive borrow of plain elements, as `&mut [T]` is.
unsafe impl Send for TensorMut<'_> {}
// SAFETY: shared access only reads (`TensorMut::view`), as through `&&mut [T]`.
unsafe impl Sync for TensorMut<'_> {}

impl<'a> TensorMut<'a> {
    /// A tensor of `shape` over `len` elements of `dtype` at `ptr` (a host buffer, such
    /// as a writable NumPy array); refused when `len` is not the shape's element count.
    ///
    /// # Safety
    /// `ptr` is non-null, aligned for `dtype`, valid for reads and writes of `len`
    /// elements of `dtype` that hold valid values of it (0 or 1 for bool), and nothing
    /// else reads or writes them during `'a`.
    pub unsafe fn from_raw_parts(shape: &'a [usize], dtype: DType, ptr: *mut u8, len: usize) -> Result<TensorMut<'a>, ShapeMismatch> {
        let want = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        if want != Some(len) {
            return Err(ShapeMismatch { shape: shape.to_vec(), elements: len });
        }
        Ok(TensorMut { shape, dtype, ptr, len, _lent: PhantomData })
    }

    pub fn shape(&self) -> &'a [usize] {
        self.shape
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The address of the first element, for compiled code that reads the storage and
    /// then writes the output paired with it there.
    pub fn base_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// The elements, read only (what a backend that does not write lent inputs reads).
    pub fn view(&self) -> TensorRef<'_> {
        let (p, n) = (self.ptr, self.len);
        // SAFETY: `from_raw_parts`'s contract: aligned, valid, initialised elements.
        let data = unsafe {
            match self.dtype {
                DType::F64 => DataRef::F64(std::slice::from_raw_parts(p as *const f64, n)),
                DType::F32 => DataRef::F32(std::slice::from_raw_parts(p as *const f32, n)),
                DType::F16 => DataRef::F16(std::slice::from_raw_parts(p as *const f16, n)),
                DType::BF16 => DataRef::BF16(std::slice::from_raw_parts(p as *const bf16, n)),
                DType::I64 => DataRef::I64(std::slice::from_raw_parts(p as *const i64, n)),
                DType::I32 => DataRef::I32(std::slice::from_raw_parts(p as *const i32, n)),
                DType::U8 => DataRef::U8(std::slice::from_raw_parts(p as *const u8, n)),
                DType::Bool => DataRef::Bool(std::slice::from_raw_parts(p as *const bool, n)),
            }
        };
        TensorRef { shape: self.shape, data }
    }
}

impl Tensor {
    /// The tensor, lent for one call that may overwrite it with an output.
    pub fn view_mut(&mut self) -> TensorMut<'_> {
        let (dtype, len, ptr) = (self.dtype(), self.len(), self.data().base_ptr());
        // SAFETY: the storage is this tensor's own, borrowed exclusively for the
        // lifetime of the result, and holds `len` valid elements of `dtype`.
        unsafe { TensorMut::from_raw_parts(self.shape(), dtype, ptr, len) }.expect("a tensor's shape matches its storage")
    }
}

/// One input of a call that may write some of its inputs: read in place, or lent
/// (donated) so that the output paired with it is written into its storage.
#[derive(Debug)]
pub enum Arg<'a> {
    Read(TensorRef<'a>),
    Lent(TensorMut<'a>),
}

impl Arg<'_> {
    /// The input's elements, read only.
    pub fn view(&self) -> TensorRef<'_> {
        match self {
            Arg::Read(t) => *t,
            Arg::Lent(t) => t.view(),
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

    #[test]
    fn a_lent_tensor_reads_and_writes_its_owners_storage() {
        let mut t = Tensor::from_f32(vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let ptr = t.data().base_ptr();
        {
            let lent = t.view_mut();
            assert_eq!((lent.dtype(), lent.shape(), lent.len()), (DType::F32, &[2usize, 2][..], 4));
            assert_eq!(lent.base_ptr(), ptr);
            assert_eq!(lent.view().to_tensor(), Tensor::from_f32(vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap());
            // SAFETY: four f32s, lent exclusively.
            unsafe { *(lent.base_ptr() as *mut f32).add(3) = 9.0 };
        }
        assert_eq!(t, Tensor::from_f32(vec![2, 2], vec![1.0, 2.0, 3.0, 9.0]).unwrap());
        let mut values = [0u8; 6];
        // SAFETY: six u8s, lent exclusively; the shape's count differs and is refused.
        let refused = unsafe { TensorMut::from_raw_parts(&[2, 2], DType::U8, values.as_mut_ptr(), 6) };
        assert_eq!(refused.unwrap_err().elements, 6);
    }
}
