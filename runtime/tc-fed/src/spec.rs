//! The shape of a model: the dtype and shape of each parameter tensor, which every update
//! must match, and the float views the kernels read tensors through.

use std::borrow::Cow;

use tc_tensor::{DType, Data, Tensor};

use crate::FedError;

/// One parameter tensor's dtype and shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorSpec {
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl TensorSpec {
    /// Elements of the tensor.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The parameter tensors of a model, in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ModelSpec {
    pub tensors: Vec<TensorSpec>,
}

impl ModelSpec {
    /// The spec of `tensors`.
    pub fn of(tensors: &[Tensor]) -> ModelSpec {
        ModelSpec {
            tensors: tensors.iter().map(|t| TensorSpec { dtype: t.dtype(), shape: t.shape().to_vec() }).collect(),
        }
    }

    /// The spec of a federated model: at least one tensor, all of float dtypes.
    pub(crate) fn of_model(tensors: &[Tensor]) -> Result<ModelSpec, FedError> {
        if tensors.is_empty() {
            return Err(FedError::EmptyModel);
        }
        if let Some((tensor, t)) = tensors.iter().enumerate().find(|(_, t)| !t.dtype().is_float()) {
            return Err(FedError::NotFloat { tensor, dtype: t.dtype() });
        }
        Ok(ModelSpec::of(tensors))
    }

    /// Parameters (elements) over all tensors.
    pub fn parameters(&self) -> usize {
        self.tensors.iter().map(TensorSpec::len).sum()
    }

    /// Bytes of one copy of the model as stored (what one transfer moves).
    pub fn bytes(&self) -> u64 {
        self.tensors.iter().map(|t| (t.len() * t.dtype.size_bytes()) as u64).sum()
    }
}

/// Bytes of `tensors` as stored: what sending them moves.
pub fn wire_bytes(tensors: &[Tensor]) -> u64 {
    tensors.iter().map(|t| (t.len() * t.dtype().size_bytes()) as u64).sum()
}

/// A float tensor's elements as the kernels read them: f32 in place, f64 in place, and
/// f16/bf16 widened (exactly) to f64.
pub(crate) enum View<'a> {
    F32(&'a [f32]),
    F64(Cow<'a, [f64]>),
}

impl View<'_> {
    /// `t`'s elements; `t` has a float dtype (validated or checked by the caller).
    pub(crate) fn of(t: &Tensor) -> View<'_> {
        match t.data() {
            Data::F32(v) => View::F32(v),
            Data::F64(v) => View::F64(Cow::Borrowed(v)),
            other => View::F64(Cow::Owned(other.to_f64_vec())),
        }
    }
}

/// A tensor of `spec` from f64 values, rounded once to its dtype.
pub(crate) fn tensor_from_f64(spec: &TensorSpec, values: Vec<f64>) -> Tensor {
    let data = match spec.dtype {
        DType::F64 => Data::F64(values),
        other => Data::from_f64(other, &values),
    };
    Tensor::new(spec.shape.clone(), data).expect("aggregated tensor has the spec's element count")
}
