//! Host tensors for tensorc: element types, dense C-order storage (owned, or borrowed
//! from a caller for one call), the `.npy` and safetensors file formats, and NumPy-style
//! printing. Every later crate speaks in these types; this crate knows nothing of the
//! language.

mod display;
mod dtype;
mod element;
mod error;
mod npy;
mod safetensors;
pub mod rounding;
mod tensor;
mod view;

pub use display::format_tensor;
pub use dtype::DType;
pub use element::Element;
pub use error::{FileError, FileFormat};
pub use npy::{npy_descr, read_npy, read_npy_file, write_npy, write_npy_file};
pub use safetensors::{read_safetensors, read_safetensors_file, write_safetensors, write_safetensors_file};
pub use tensor::{type_string, Data, ShapeMismatch, Tensor};
pub use view::{Arg, DataRef, TensorMut, TensorRef};
