//! The host tensor: a dtype, a shape and row-major (C order) storage.

use crate::{rounding, DType};
use half::{bf16, f16};

/// Typed element storage, one variant per dtype, always C order.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    F64(Vec<f64>),
    F32(Vec<f32>),
    F16(Vec<f16>),
    BF16(Vec<bf16>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    U8(Vec<u8>),
    Bool(Vec<bool>),
}

/// A dense tensor on the host.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Data,
}

/// A tensor could not be built from the given parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeMismatch {
    pub shape: Vec<usize>,
    pub elements: usize,
}

impl std::fmt::Display for ShapeMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "shape {:?} needs {} elements, got {}", self.shape, self.shape.iter().product::<usize>(), self.elements)
    }
}

impl std::error::Error for ShapeMismatch {}

impl Data {
    /// The address of the first element, for compiled code that reads the storage, or
    /// writes it through a caller that owns it exclusively (a JIT's outputs).
    pub fn base_ptr(&self) -> *mut u8 {
        match self {
            Data::F64(v) => v.as_ptr() as *mut u8,
            Data::F32(v) => v.as_ptr() as *mut u8,
            Data::F16(v) => v.as_ptr() as *mut u8,
            Data::BF16(v) => v.as_ptr() as *mut u8,
            Data::I64(v) => v.as_ptr() as *mut u8,
            Data::I32(v) => v.as_ptr() as *mut u8,
            Data::U8(v) => v.as_ptr() as *mut u8,
            Data::Bool(v) => v.as_ptr() as *mut u8,
        }
    }

    pub fn dtype(&self) -> DType {
        match self {
            Data::F64(_) => DType::F64,
            Data::F32(_) => DType::F32,
            Data::F16(_) => DType::F16,
            Data::BF16(_) => DType::BF16,
            Data::I64(_) => DType::I64,
            Data::I32(_) => DType::I32,
            Data::U8(_) => DType::U8,
            Data::Bool(_) => DType::Bool,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Data::F64(v) => v.len(),
            Data::F32(v) => v.len(),
            Data::F16(v) => v.len(),
            Data::BF16(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::U8(v) => v.len(),
            Data::Bool(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every element widened to f64 (exact for all dtypes but i64 beyond 2^53).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match self {
            Data::F64(v) => v.clone(),
            Data::F32(v) => v.iter().map(|&x| x as f64).collect(),
            Data::F16(v) => v.iter().map(|x| x.to_f64()).collect(),
            Data::BF16(v) => v.iter().map(|x| x.to_f64()).collect(),
            Data::I64(v) => v.iter().map(|&x| x as f64).collect(),
            Data::I32(v) => v.iter().map(|&x| x as f64).collect(),
            Data::U8(v) => v.iter().map(|&x| x as f64).collect(),
            Data::Bool(v) => v.iter().map(|&x| x as u8 as f64).collect(),
        }
    }

    /// Every element as i64; floats truncate toward zero, saturating.
    pub fn to_i64_vec(&self) -> Vec<i64> {
        match self {
            Data::I64(v) => v.clone(),
            Data::I32(v) => v.iter().map(|&x| x as i64).collect(),
            Data::U8(v) => v.iter().map(|&x| x as i64).collect(),
            Data::Bool(v) => v.iter().map(|&x| x as i64).collect(),
            other => other.to_f64_vec().into_iter().map(|x| x as i64).collect(),
        }
    }

    /// Build storage of `dtype` from f64 values, rounding to nearest for floats and
    /// truncating toward zero with saturation for integers (SPEC §5 casts).
    pub fn from_f64(dtype: DType, v: &[f64]) -> Data {
        match dtype {
            DType::F64 => Data::F64(v.to_vec()),
            DType::F32 => Data::F32(v.iter().map(|&x| x as f32).collect()),
            DType::F16 => Data::F16(v.iter().map(|&x| rounding::f64_to_f16(x)).collect()),
            DType::BF16 => Data::BF16(v.iter().map(|&x| rounding::f64_to_bf16(x)).collect()),
            DType::I64 => Data::I64(v.iter().map(|&x| x as i64).collect()),
            DType::I32 => Data::I32(v.iter().map(|&x| x as i32).collect()),
            DType::U8 => Data::U8(v.iter().map(|&x| x as u8).collect()),
            DType::Bool => Data::Bool(v.iter().map(|&x| x != 0.0).collect()),
        }
    }

    /// Build storage of `dtype` from i64 values: integers wrap (two's complement),
    /// floats round to nearest, bool is `!= 0`.
    pub fn from_i64(dtype: DType, v: &[i64]) -> Data {
        match dtype {
            DType::I64 => Data::I64(v.to_vec()),
            DType::I32 => Data::I32(v.iter().map(|&x| x as i32).collect()),
            DType::U8 => Data::U8(v.iter().map(|&x| x as u8).collect()),
            DType::Bool => Data::Bool(v.iter().map(|&x| x != 0).collect()),
            DType::F64 => Data::F64(v.iter().map(|&x| x as f64).collect()),
            DType::F32 => Data::F32(v.iter().map(|&x| x as f32).collect()),
            // Round to odd first so the second rounding cannot err (see `rounding`).
            narrow => Data::from_f64(narrow, &v.iter().map(|&x| rounding::i64_to_f64_round_odd(x)).collect::<Vec<_>>()),
        }
    }

    /// Raw little-endian bytes of the storage.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            Data::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::F16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::BF16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::U8(v) => v.clone(),
            Data::Bool(v) => v.iter().map(|&x| x as u8).collect(),
        }
    }

    /// Storage from raw little-endian bytes; `None` if the length is not a whole
    /// number of elements or a bool byte is not 0 or 1.
    pub fn from_le_bytes(dtype: DType, bytes: &[u8]) -> Option<Data> {
        let size = dtype.size_bytes();
        if !bytes.len().is_multiple_of(size) {
            return None;
        }
        let chunks = bytes.chunks_exact(size);
        Some(match dtype {
            DType::F64 => Data::F64(chunks.map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()),
            DType::F32 => Data::F32(chunks.map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()),
            DType::F16 => Data::F16(chunks.map(|c| f16::from_le_bytes(c.try_into().unwrap())).collect()),
            DType::BF16 => Data::BF16(chunks.map(|c| bf16::from_le_bytes(c.try_into().unwrap())).collect()),
            DType::I64 => Data::I64(chunks.map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()),
            DType::I32 => Data::I32(chunks.map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()),
            DType::U8 => Data::U8(bytes.to_vec()),
            DType::Bool => {
                if bytes.iter().any(|&b| b > 1) {
                    return None;
                }
                Data::Bool(bytes.iter().map(|&b| b == 1).collect())
            }
        })
    }
}

impl Tensor {
    /// A tensor from a shape and storage whose length matches the shape.
    pub fn new(shape: Vec<usize>, data: Data) -> Result<Tensor, ShapeMismatch> {
        let want: usize = shape.iter().product();
        if want != data.len() {
            return Err(ShapeMismatch { shape, elements: data.len() });
        }
        Ok(Tensor { shape, data })
    }

    pub fn scalar_f32(v: f32) -> Tensor {
        Tensor { shape: vec![], data: Data::F32(vec![v]) }
    }

    pub fn from_f32(shape: Vec<usize>, v: Vec<f32>) -> Result<Tensor, ShapeMismatch> {
        Tensor::new(shape, Data::F32(v))
    }

    pub fn from_i32(shape: Vec<usize>, v: Vec<i32>) -> Result<Tensor, ShapeMismatch> {
        Tensor::new(shape, Data::I32(v))
    }

    /// A tensor of `dtype` from f64 values (see [`Data::from_f64`]).
    pub fn from_f64_values(dtype: DType, shape: Vec<usize>, v: &[f64]) -> Result<Tensor, ShapeMismatch> {
        Tensor::new(shape, Data::from_f64(dtype, v))
    }

    pub fn zeros(dtype: DType, shape: Vec<usize>) -> Tensor {
        let n = shape.iter().product::<usize>();
        Tensor { shape, data: Data::from_f64(dtype, &vec![0.0; n]) }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    pub fn data(&self) -> &Data {
        &self.data
    }

    pub fn into_data(self) -> Data {
        self.data
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The f32 elements, if this is an f32 tensor.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            Data::F32(v) => Some(v),
            _ => None,
        }
    }

    /// The i32 elements, if this is an i32 tensor.
    pub fn as_i32(&self) -> Option<&[i32]> {
        match &self.data {
            Data::I32(v) => Some(v),
            _ => None,
        }
    }

    /// The same elements under another shape of equal size.
    pub fn reshaped(self, shape: Vec<usize>) -> Result<Tensor, ShapeMismatch> {
        Tensor::new(shape, self.data)
    }

    /// The type as written in source: `f32[2, 3]`, or `f32` for a scalar.
    pub fn type_string(&self) -> String {
        type_string(self.dtype(), &self.shape)
    }
}

/// `f32[2, 3]`, or `f32` for rank 0.
pub fn type_string(dtype: DType, shape: &[usize]) -> String {
    if shape.is_empty() {
        dtype.name().to_string()
    } else {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        format!("{}[{}]", dtype.name(), dims.join(", "))
    }
}
