//! Host tensors for tensorc: element types, dense C-order storage, the `.npy` and
//! safetensors file formats, and NumPy-style printing. Every later crate speaks in
//! these types; this crate knows nothing of the language.

mod dtype;
mod tensor;

pub use dtype::DType;
pub use tensor::{type_string, Data, ShapeMismatch, Tensor};
