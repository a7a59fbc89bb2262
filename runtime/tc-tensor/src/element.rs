//! `Element`: the Rust types that are tensorc element types, and the typed conversions
//! between tensors and slices or vectors that the embedding API (SPEC §9) is built on.

use crate::{DType, Data, ShapeMismatch, Tensor};
use half::{bf16, f16};

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that is one of the eight tensorc element types:
/// `f64 f32 half::f16 half::bf16 i64 i32 u8 bool`.
///
/// The trait is sealed: the set of dtypes is fixed by the language.
pub trait Element: Copy + PartialEq + std::fmt::Debug + Send + Sync + 'static + sealed::Sealed {
    /// The dtype of tensors holding this type.
    const DTYPE: DType;

    /// Storage owning these elements (no copy).
    fn into_data(v: Vec<Self>) -> Data;

    /// The elements of `data`, if it holds this type.
    fn slice_of(data: &Data) -> Option<&[Self]>;

    /// The elements of `data`, if it holds this type (no copy).
    fn vec_of(data: Data) -> Result<Vec<Self>, Data>;
}

macro_rules! element {
    ($t:ty, $variant:ident) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$variant;

            fn into_data(v: Vec<Self>) -> Data {
                Data::$variant(v)
            }

            fn slice_of(data: &Data) -> Option<&[Self]> {
                match data {
                    Data::$variant(v) => Some(v),
                    _ => None,
                }
            }

            fn vec_of(data: Data) -> Result<Vec<Self>, Data> {
                match data {
                    Data::$variant(v) => Ok(v),
                    other => Err(other),
                }
            }
        }

        impl From<Vec<$t>> for Data {
            fn from(v: Vec<$t>) -> Data {
                Data::$variant(v)
            }
        }
    };
}

element!(f64, F64);
element!(f32, F32);
element!(f16, F16);
element!(bf16, BF16);
element!(i64, I64);
element!(i32, I32);
element!(u8, U8);
element!(bool, Bool);

impl Tensor {
    /// A tensor of `T::DTYPE` copying the C-order `values`; the shape must hold exactly
    /// `values.len()` elements (an empty shape is a scalar holding one).
    ///
    /// ```
    /// # use tc_tensor::Tensor;
    /// let t = Tensor::from_slice(vec![2, 2], &[1.0f32, 2.0, 3.0, 4.0]).unwrap();
    /// assert_eq!(t.to_vec::<f32>(), Some(vec![1.0, 2.0, 3.0, 4.0]));
    /// ```
    pub fn from_slice<T: Element>(shape: Vec<usize>, values: &[T]) -> Result<Tensor, ShapeMismatch> {
        Tensor::new(shape, T::into_data(values.to_vec()))
    }

    /// Like [`Tensor::from_slice`], taking ownership of the values (no copy).
    pub fn from_vec<T: Element>(shape: Vec<usize>, values: Vec<T>) -> Result<Tensor, ShapeMismatch> {
        Tensor::new(shape, T::into_data(values))
    }

    /// A rank-0 tensor holding `value`.
    pub fn scalar<T: Element>(value: T) -> Tensor {
        Tensor::new(Vec::new(), T::into_data(vec![value])).expect("a scalar holds one element")
    }

    /// The elements in C order, if this tensor's dtype is `T::DTYPE`.
    pub fn to_vec<T: Element>(&self) -> Option<Vec<T>> {
        T::slice_of(self.data()).map(<[T]>::to_vec)
    }

    /// The elements in C order without a copy, if this tensor's dtype is `T::DTYPE`.
    pub fn as_slice<T: Element>(&self) -> Option<&[T]> {
        T::slice_of(self.data())
    }

    /// The elements in C order without a copy, if this tensor's dtype is `T::DTYPE`;
    /// otherwise the tensor back.
    pub fn into_vec<T: Element>(self) -> Result<Vec<T>, Tensor> {
        let shape = self.shape().to_vec();
        T::vec_of(self.into_data()).map_err(|data| Tensor::new(shape, data).expect("unchanged tensor"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Element>(values: &[T]) {
        let t = Tensor::from_slice(vec![values.len()], values).unwrap();
        assert_eq!(t.dtype(), T::DTYPE);
        assert_eq!(t.to_vec::<T>().as_deref(), Some(values));
        assert_eq!(t.as_slice::<T>(), Some(values));
        assert_eq!(t.clone().into_vec::<T>().unwrap(), values);
    }

    #[test]
    fn every_element_type_round_trips() {
        round_trip(&[1.5f64, -2.0]);
        round_trip(&[1.5f32, -2.0]);
        round_trip(&[f16::from_f32(1.5), f16::from_f32(-2.0)]);
        round_trip(&[bf16::from_f32(1.5), bf16::from_f32(-2.0)]);
        round_trip(&[1i64, -2]);
        round_trip(&[1i32, -2]);
        round_trip(&[1u8, 255]);
        round_trip(&[true, false]);
        let dtypes: Vec<DType> = vec![
            f64::DTYPE,
            f32::DTYPE,
            f16::DTYPE,
            bf16::DTYPE,
            i64::DTYPE,
            i32::DTYPE,
            u8::DTYPE,
            bool::DTYPE,
        ];
        assert_eq!(dtypes, DType::ALL.to_vec());
    }

    #[test]
    fn wrong_type_or_shape_is_refused() {
        let t = Tensor::from_slice(vec![2, 3], &[0i32; 6]).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.to_vec::<f32>(), None);
        assert_eq!(t.as_slice::<i64>(), None);
        let back = t.clone().into_vec::<u8>().unwrap_err();
        assert_eq!(back, t);
        let err = Tensor::from_slice(vec![2, 2], &[1.0f32; 3]).unwrap_err();
        assert_eq!(err.to_string(), "shape [2, 2] needs 4 elements, got 3");
        assert!(Tensor::from_vec(vec![], vec![1u8, 2]).is_err());
    }

    #[test]
    fn scalars() {
        let t = Tensor::scalar(true);
        assert_eq!(t.rank(), 0);
        assert_eq!(t.to_vec::<bool>(), Some(vec![true]));
        let t = Tensor::from_slice(vec![], &[3.0f64]).unwrap();
        assert_eq!(t.dtype(), DType::F64);
        assert_eq!(Data::from(vec![1u8]), Data::U8(vec![1]));
    }
}
