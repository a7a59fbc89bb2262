//! `FileError`: the one error type of tensor file I/O (`.npy` and safetensors).
//!
//! Every message is written for the person who passed the file in: it says what is wrong
//! and, where there is one, what to do about it. The command line prints them as
//! ``argument `x`: <message>``, so messages start in lower case and name the format.

use crate::DType;
use std::fmt;
use std::path::{Path, PathBuf};

/// Which tensor file format an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileFormat {
    Npy,
    Safetensors,
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileFormat::Npy => ".npy",
            FileFormat::Safetensors => "safetensors",
        })
    }
}

/// Why a tensor file could not be read or written.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileError {
    /// The operating system could not read or write the file.
    Io {
        path: PathBuf,
        /// `true` when writing, `false` when reading.
        writing: bool,
        kind: std::io::ErrorKind,
        message: String,
    },
    /// The file does not start with the `.npy` magic bytes `\x93NUMPY`.
    NpyBadMagic {
        /// What the bytes look like instead, when that is recognisable.
        looks_like: Option<&'static str>,
    },
    /// A `.npy` format version other than 1.0, 2.0 and 3.0.
    NpyVersion { major: u8, minor: u8 },
    /// The file ends before the end of the `.npy` header it declares.
    NpyTruncatedHeader { declared: usize, available: usize },
    /// The `.npy` header dictionary is not what NumPy writes (the detail says what).
    NpyHeader(String),
    /// An element type the file holds that tensorc has no dtype for.
    UnsupportedDtype {
        format: FileFormat,
        /// The type as the file spells it (`'<u2'`, `I8`, ...).
        dtype: String,
        /// What the type is and what to do instead.
        detail: String,
    },
    /// A tensorc dtype the format cannot store (bf16 in `.npy`).
    DtypeNotStorable { format: FileFormat, dtype: DType },
    /// The data after the header does not have the size the header says.
    DataLength {
        format: FileFormat,
        elements: usize,
        expected_bytes: usize,
        actual_bytes: usize,
    },
    /// A bool element stored as a byte other than 0 or 1.
    InvalidBool {
        /// The tensor's name in a safetensors file.
        tensor: Option<String>,
        index: usize,
        byte: u8,
    },
    /// A safetensors file whose header or layout is invalid (the detail says what).
    Safetensors(String),
    /// A tensor name that cannot be written (duplicate, reserved).
    InvalidName { name: String, reason: String },
}

impl FileError {
    pub(crate) fn io(path: &Path, writing: bool, err: &std::io::Error) -> FileError {
        FileError::Io { path: path.to_path_buf(), writing, kind: err.kind(), message: err.to_string() }
    }

    pub(crate) fn npy_header(msg: impl Into<String>) -> FileError {
        FileError::NpyHeader(msg.into())
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Io { path, writing, message, .. } => {
                let verb = if *writing { "write" } else { "read" };
                write!(f, "cannot {verb} {}: {message}", path.display())
            }
            FileError::NpyBadMagic { looks_like } => {
                write!(f, "not a .npy file (bad magic bytes)")?;
                if let Some(what) = looks_like {
                    write!(f, "; {what}")?;
                }
                Ok(())
            }
            FileError::NpyVersion { major, minor } => write!(
                f,
                "unsupported .npy format version {major}.{minor} (tensorc reads versions 1.0, 2.0 and 3.0)"
            ),
            FileError::NpyTruncatedHeader { declared, available } => write!(
                f,
                "truncated .npy file: the header is {} long but only {} follow",
                plural(*declared, "byte", "bytes"),
                plural(*available, "byte", "bytes")
            ),
            FileError::NpyHeader(msg) => write!(f, "bad .npy header: {msg}"),
            FileError::UnsupportedDtype { format, dtype, detail } => {
                write!(f, "unsupported {format} dtype {dtype}: {detail}")
            }
            FileError::DtypeNotStorable { format: FileFormat::Npy, dtype: DType::BF16 } => write!(
                f,
                "bf16 tensors cannot be written as .npy (NumPy has no bf16 dtype); \
                 write a .safetensors file instead, or cast to f32 first"
            ),
            FileError::DtypeNotStorable { format, dtype } => {
                write!(f, "{dtype} tensors cannot be written as {format}")
            }
            FileError::DataLength { format, elements, expected_bytes, actual_bytes } => {
                let prefix = if actual_bytes < expected_bytes { "truncated: " } else { "" };
                let what = match format {
                    FileFormat::Npy => "header",
                    FileFormat::Safetensors => "safetensors header",
                };
                write!(
                    f,
                    "{prefix}{what} says {} ({}) but {} follow",
                    plural(*elements, "element", "elements"),
                    plural(*expected_bytes, "byte", "bytes"),
                    plural(*actual_bytes, "byte", "bytes")
                )?;
                if actual_bytes > expected_bytes {
                    write!(f, " ({} too many)", plural(actual_bytes - expected_bytes, "byte", "bytes"))?;
                }
                Ok(())
            }
            FileError::InvalidBool { tensor, index, byte } => {
                write!(f, "bool element {index}")?;
                if let Some(name) = tensor {
                    write!(f, " of tensor `{name}`")?;
                }
                write!(f, " is stored as byte {byte}, but a bool must be 0 or 1")
            }
            FileError::Safetensors(msg) => write!(f, "bad safetensors file: {msg}"),
            FileError::InvalidName { name, reason } => write!(f, "cannot write tensor `{name}`: {reason}"),
        }
    }
}

impl std::error::Error for FileError {}
