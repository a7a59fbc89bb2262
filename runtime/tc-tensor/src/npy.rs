//! NumPy `.npy` files (SPEC §10): reading format versions 1.0, 2.0 and 3.0 with strict
//! validation, and writing them the way `numpy.save` does.
//!
//! The header is a Python dict literal (`{'descr': '<f4', 'fortran_order': False,
//! 'shape': (2, 3), }`) that is parsed here by hand: it is a tiny language, and a parser of
//! our own gives errors that say exactly what is wrong. Reading accepts what NumPy writes
//! for the seven dtypes tensorc shares with NumPy (bf16 has no NumPy dtype): big-endian data
//! is byte-swapped and Fortran-order data is transposed into C order. Malformed input of any
//! kind is an error, never a panic.

use crate::{DType, Data, FileError, FileFormat, Tensor};
use std::path::Path;

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Alignment of the data start that NumPy keeps (`numpy.lib.format.ARRAY_ALIGN`).
const ARRAY_ALIGN: usize = 64;
/// Spare header room NumPy leaves for growing the first axis in place.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;
/// Nesting depth at which the header parser gives up (real headers nest twice).
const MAX_DEPTH: usize = 32;

/// Read a `.npy` file held in memory.
pub fn read_npy(bytes: &[u8]) -> Result<Tensor, FileError> {
    let (header_text, data) = split_header(bytes)?;
    let header = parse_header(&header_text)?;
    let elements = element_count(&header.shape)
        .ok_or_else(|| FileError::npy_header(format!("shape {} is too large", py_shape(&header.shape))))?;
    let size = header.dtype.size_bytes();
    let expected_bytes = elements
        .checked_mul(size)
        .ok_or_else(|| FileError::npy_header(format!("shape {} is too large", py_shape(&header.shape))))?;
    if data.len() != expected_bytes {
        return Err(FileError::DataLength {
            format: FileFormat::Npy,
            elements,
            expected_bytes,
            actual_bytes: data.len(),
        });
    }
    let storage = decode(header.dtype, header.big_endian, data, None)?;
    let storage = if header.fortran_order { fortran_to_c(storage, &header.shape) } else { storage };
    Tensor::new(header.shape, storage).map_err(|e| FileError::npy_header(e.to_string()))
}

/// Serialize a tensor as a `.npy` file (version 1.0, or 2.0 when the header needs it),
/// byte for byte as `numpy.save` writes it. bf16 is an error: NumPy has no bf16 dtype.
pub fn write_npy(t: &Tensor) -> Result<Vec<u8>, FileError> {
    let descr = npy_descr(t.dtype())
        .ok_or(FileError::DtypeNotStorable { format: FileFormat::Npy, dtype: t.dtype() })?;
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {}, }}", py_shape(t.shape()));
    if let Some(first) = t.shape().first() {
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(first.to_string().len())));
    }
    // NumPy: header + padding + '\n' so that the data starts at a multiple of 64; the
    // padding is 1..=64 spaces (never 0).
    let hlen = dict.len() + 1;
    let padlen = |len_field: usize| ARRAY_ALIGN - (MAGIC.len() + 2 + len_field + hlen) % ARRAY_ALIGN;
    let (version, len_field) = if hlen + padlen(2) <= u16::MAX as usize { (1u8, 2) } else { (2u8, 4) };
    let padlen = padlen(len_field);
    let header_len = hlen + padlen;
    let payload = t.data().to_le_bytes();
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + len_field + header_len + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        let len = u32::try_from(header_len).map_err(|_| FileError::npy_header("header too long to write"))?;
        out.extend_from_slice(&len.to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padlen));
    out.push(b'\n');
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Read a `.npy` file from disk.
pub fn read_npy_file(path: impl AsRef<Path>) -> Result<Tensor, FileError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| FileError::io(path, false, &e))?;
    read_npy(&bytes)
}

/// Write a tensor to disk as a `.npy` file. Nothing is written when the tensor cannot be
/// stored (bf16).
pub fn write_npy_file(path: impl AsRef<Path>, t: &Tensor) -> Result<(), FileError> {
    let path = path.as_ref();
    let bytes = write_npy(t)?;
    std::fs::write(path, bytes).map_err(|e| FileError::io(path, true, &e))
}

/// The `descr` that `numpy.save` writes for a dtype; `None` for bf16.
pub fn npy_descr(dtype: DType) -> Option<&'static str> {
    Some(match dtype {
        DType::F64 => "<f8",
        DType::F32 => "<f4",
        DType::F16 => "<f2",
        DType::I64 => "<i8",
        DType::I32 => "<i4",
        DType::U8 => "|u1",
        DType::Bool => "|b1",
        DType::BF16 => return None,
    })
}

/// Check the preamble and return the header text (decoded) and the bytes after it.
fn split_header(bytes: &[u8]) -> Result<(String, &[u8]), FileError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        if bytes.len() < MAGIC.len() && MAGIC.starts_with(bytes) && !bytes.is_empty() {
            return Err(FileError::NpyTruncatedHeader { declared: 10, available: bytes.len() });
        }
        return Err(FileError::NpyBadMagic { looks_like: looks_like(bytes) });
    }
    let (major, minor) = match (bytes.get(6), bytes.get(7)) {
        (Some(&major), Some(&minor)) => (major, minor),
        _ => return Err(FileError::NpyTruncatedHeader { declared: 10, available: bytes.len() }),
    };
    let len_field = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => return Err(FileError::NpyVersion { major, minor }),
    };
    let start = 8 + len_field;
    let Some(len_bytes) = bytes.get(8..start) else {
        return Err(FileError::NpyTruncatedHeader { declared: start, available: bytes.len() });
    };
    let header_len = if len_field == 2 {
        u16::from_le_bytes([len_bytes[0], len_bytes[1]]) as usize
    } else {
        u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize
    };
    let end = start.saturating_add(header_len);
    let Some(raw) = bytes.get(start..end) else {
        return Err(FileError::NpyTruncatedHeader { declared: header_len, available: bytes.len() - start });
    };
    let text = if major == 3 {
        String::from_utf8(raw.to_vec())
            .map_err(|e| FileError::npy_header(format!("a version 3.0 header must be UTF-8 ({e})")))?
    } else {
        // Versions 1.0 and 2.0 store the header as latin-1.
        raw.iter().map(|&b| b as char).collect()
    };
    Ok((text, &bytes[end..]))
}

/// A guess at what a file that is not `.npy` is, for the error message.
fn looks_like(bytes: &[u8]) -> Option<&'static str> {
    if bytes.is_empty() {
        return Some("the file is empty");
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Some("this looks like a .npz archive: extract one array from it with numpy.load and save it with numpy.save");
    }
    if bytes.len() >= 9 && bytes[8] == b'{' {
        return Some("this looks like a safetensors file: give it a .safetensors extension");
    }
    if bytes.starts_with(b"\x80") {
        return Some("this looks like a Python pickle: save the array with numpy.save");
    }
    None
}

struct Header {
    dtype: DType,
    big_endian: bool,
    fortran_order: bool,
    shape: Vec<usize>,
}

fn element_count(shape: &[usize]) -> Option<usize> {
    if shape.contains(&0) {
        return Some(0);
    }
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// `()`, `(3,)`, `(2, 3)`: a shape as Python writes a tuple.
fn py_shape(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", dims.join(", "))
        }
    }
}

fn quote_header(text: &str) -> String {
    let trimmed = text.trim_end();
    const MAX: usize = 200;
    if trimmed.chars().count() > MAX {
        let cut: String = trimmed.chars().take(MAX).collect();
        format!("{cut:?}...")
    } else {
        format!("{trimmed:?}")
    }
}

fn parse_header(text: &str) -> Result<Header, FileError> {
    let chars: Vec<char> = text.chars().collect();
    let mut p = Parser { chars: &chars, pos: 0 };
    let parsed = p.skip_ws().and_then(|_| p.value(0)).and_then(|v| {
        p.skip_ws()?;
        if p.pos < chars.len() {
            return Err(p.unexpected("the end of the header"));
        }
        Ok(v)
    });
    let value = parsed.map_err(|msg| FileError::npy_header(format!("{msg} in {}", quote_header(text))))?;
    let PyValue::Dict(entries) = value else {
        return Err(FileError::npy_header(format!("the header must be a Python dict, got {}", quote_header(text))));
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (key, value) in entries {
        let slot = match &key {
            PyValue::Str(k) if k == "descr" => &mut descr,
            PyValue::Str(k) if k == "fortran_order" => &mut fortran,
            PyValue::Str(k) if k == "shape" => &mut shape,
            other => {
                return Err(FileError::npy_header(format!(
                    "unexpected key {} (a .npy header has exactly the keys 'descr', 'fortran_order' and 'shape')",
                    other.repr()
                )))
            }
        };
        if slot.is_some() {
            return Err(FileError::npy_header(format!("key {} appears twice", key.repr())));
        }
        *slot = Some(value);
    }
    let missing = |k: &str| FileError::npy_header(format!("missing key '{k}' in {}", quote_header(text)));
    let descr = descr.ok_or_else(|| missing("descr"))?;
    let fortran = fortran.ok_or_else(|| missing("fortran_order"))?;
    let shape = shape.ok_or_else(|| missing("shape"))?;

    let (dtype, big_endian) = parse_descr(&descr)?;
    let fortran_order = match fortran {
        PyValue::Bool(b) => b,
        other => {
            return Err(FileError::npy_header(format!("'fortran_order' must be True or False, got {}", other.repr())))
        }
    };
    let bad_shape = |v: &PyValue| {
        FileError::npy_header(format!("'shape' must be a tuple of non-negative integers, got {}", v.repr()))
    };
    let PyValue::Tuple(items) = &shape else {
        return Err(bad_shape(&shape));
    };
    let mut dims = Vec::with_capacity(items.len());
    for item in items {
        match item {
            PyValue::Int(n) if *n >= 0 => match usize::try_from(*n) {
                Ok(d) => dims.push(d),
                Err(_) => return Err(FileError::npy_header(format!("dimension {n} in 'shape' is too large"))),
            },
            PyValue::Int(n) => {
                return Err(FileError::npy_header(format!(
                    "dimension {n} in 'shape' {} is negative",
                    shape.repr()
                )))
            }
            _ => return Err(bad_shape(&shape)),
        }
    }
    Ok(Header { dtype, big_endian, fortran_order, shape: dims })
}

/// `'<f4'` → (F32, little-endian). Anything tensorc has no dtype for is an error that says
/// what the type is and how to convert it.
fn parse_descr(descr: &PyValue) -> Result<(DType, bool), FileError> {
    let unsupported = |dtype: String, detail: String| FileError::UnsupportedDtype { format: FileFormat::Npy, dtype, detail };
    let s = match descr {
        PyValue::Str(s) => s.as_str(),
        PyValue::List(_) => {
            return Err(unsupported(
                truncate_repr(&descr.repr()),
                "structured arrays (records with named fields) are not supported; save each field as its own array"
                    .into(),
            ))
        }
        other => return Err(FileError::npy_header(format!("'descr' must be a string, got {}", other.repr()))),
    };
    let quoted = truncate_repr(&descr.repr());
    let (order, rest) = match s.chars().next() {
        Some(c @ ('<' | '>' | '=' | '|')) => (Some(c), &s[1..]),
        _ => (None, s),
    };
    let mut chars = rest.chars();
    let kind = chars.next();
    let size_text = chars.as_str();
    let size: Option<usize> = if !size_text.is_empty() && size_text.bytes().all(|b| b.is_ascii_digit()) {
        size_text.parse().ok()
    } else {
        None
    };
    let supported = "tensorc reads float64 '<f8', float32 '<f4', float16 '<f2', int64 '<i8', int32 '<i4', \
                     uint8 '|u1' and bool '|b1'";
    let dtype = match (kind, size) {
        (Some('f'), Some(8)) => DType::F64,
        (Some('f'), Some(4)) => DType::F32,
        (Some('f'), Some(2)) => DType::F16,
        (Some('i'), Some(8)) => DType::I64,
        (Some('i'), Some(4)) => DType::I32,
        (Some('u'), Some(1)) => DType::U8,
        (Some('b'), Some(1)) | (Some('?'), None) => DType::Bool,
        (Some('O'), _) => {
            return Err(unsupported(
                quoted,
                "object arrays hold Python objects, not numbers, and cannot be loaded; \
                 save a numeric array instead (e.g. np.asarray(x, dtype=np.float32))"
                    .into(),
            ))
        }
        (Some(k), None) if "fiucb".contains(k) => {
            return Err(unsupported(quoted, format!("this is not a NumPy type string ({supported})")));
        }
        (Some(k), n) => {
            let (name, advice) = describe_numpy_type(k, n);
            let detail = match advice {
                Some(advice) => format!("{name} is not a tensorc dtype; {advice} ({supported})"),
                None => format!("{name} is not a tensorc dtype ({supported})"),
            };
            return Err(unsupported(quoted, detail));
        }
        (None, _) => return Err(FileError::npy_header(format!("'descr' is empty: {quoted}"))),
    };
    let big_endian = match order {
        Some('>') => dtype.size_bytes() > 1,
        Some('=') | Some('|') | None => cfg!(target_endian = "big") && dtype.size_bytes() > 1,
        _ => false,
    };
    Ok((dtype, big_endian))
}

fn truncate_repr(s: &str) -> String {
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(80).collect();
        format!("{cut}...")
    } else {
        s.to_string()
    }
}

/// NumPy's name for a type code, and how to convert it to something tensorc reads.
fn describe_numpy_type(kind: char, size: Option<usize>) -> (String, Option<&'static str>) {
    let bits = size.map(|n| n.saturating_mul(8));
    let sized = |base: &str| match bits {
        Some(b) => format!("{base}{b}"),
        None => base.to_string(),
    };
    match kind {
        'f' => match size {
            Some(12) | Some(16) => ("longdouble".into(), Some("convert with arr.astype(np.float64)")),
            _ => (sized("float"), Some("convert with arr.astype(np.float32)")),
        },
        'i' => match size {
            Some(1) | Some(2) => (sized("int"), Some("convert with arr.astype(np.int32)")),
            _ => (sized("int"), Some("convert with arr.astype(np.int64)")),
        },
        'u' => match size {
            Some(8) => (sized("uint"), Some("convert with arr.astype(np.int64) if the values fit")),
            _ => (sized("uint"), Some("convert with arr.astype(np.int64)")),
        },
        'b' => (sized("bool"), None),
        'c' => (sized("complex"), Some("save arr.real and arr.imag as two arrays")),
        'U' => ("a unicode string type".into(), Some("strings cannot be tensors")),
        'S' | 'a' => ("a byte string type".into(), Some("strings cannot be tensors")),
        'V' => ("a raw (void) type".into(), Some("save a numeric array instead")),
        'M' => ("datetime64".into(), Some("convert with arr.astype(np.int64)")),
        'm' => ("timedelta64".into(), Some("convert with arr.astype(np.int64)")),
        _ => ("an unknown type code".into(), None),
    }
}

/// Storage of `dtype` from file bytes whose length is already checked.
pub(crate) fn decode(dtype: DType, big_endian: bool, bytes: &[u8], tensor: Option<&str>) -> Result<Data, FileError> {
    if dtype == DType::Bool {
        if let Some(index) = bytes.iter().position(|&b| b > 1) {
            return Err(FileError::InvalidBool { tensor: tensor.map(str::to_string), index, byte: bytes[index] });
        }
    }
    let size = dtype.size_bytes();
    let data = if big_endian && size > 1 {
        let mut swapped = bytes.to_vec();
        for chunk in swapped.chunks_exact_mut(size) {
            chunk.reverse();
        }
        Data::from_le_bytes(dtype, &swapped)
    } else {
        Data::from_le_bytes(dtype, bytes)
    };
    data.ok_or_else(|| FileError::npy_header("data size is not a whole number of elements"))
}

/// Reorder elements stored in Fortran order (first axis fastest) into C order.
fn fortran_to_c(data: Data, shape: &[usize]) -> Data {
    fn reorder<T: Copy>(v: Vec<T>, shape: &[usize]) -> Vec<T> {
        let n = shape.len();
        if n < 2 || v.is_empty() {
            return v;
        }
        // Strides of the Fortran layout.
        let mut fstride = vec![1usize; n];
        for k in 1..n {
            fstride[k] = fstride[k - 1] * shape[k - 1];
        }
        let mut out = Vec::with_capacity(v.len());
        let mut idx = vec![0usize; n];
        let mut off = 0usize;
        for _ in 0..v.len() {
            out.push(v[off]);
            // Advance the C-order index: last axis fastest.
            let mut k = n;
            while k > 0 {
                k -= 1;
                idx[k] += 1;
                off += fstride[k];
                if idx[k] < shape[k] {
                    break;
                }
                off -= fstride[k] * shape[k];
                idx[k] = 0;
            }
        }
        out
    }
    match data {
        Data::F64(v) => Data::F64(reorder(v, shape)),
        Data::F32(v) => Data::F32(reorder(v, shape)),
        Data::F16(v) => Data::F16(reorder(v, shape)),
        Data::BF16(v) => Data::BF16(reorder(v, shape)),
        Data::I64(v) => Data::I64(reorder(v, shape)),
        Data::I32(v) => Data::I32(reorder(v, shape)),
        Data::U8(v) => Data::U8(reorder(v, shape)),
        Data::Bool(v) => Data::Bool(reorder(v, shape)),
    }
}

/// The Python literal values a `.npy` header can contain.
#[derive(Debug, PartialEq)]
enum PyValue {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<PyValue>),
    List(Vec<PyValue>),
    Dict(Vec<(PyValue, PyValue)>),
}

impl PyValue {
    /// Python's `repr`, for error messages.
    fn repr(&self) -> String {
        fn join(items: &[PyValue]) -> String {
            items.iter().map(PyValue::repr).collect::<Vec<_>>().join(", ")
        }
        match self {
            PyValue::Str(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
            PyValue::Int(n) => n.to_string(),
            PyValue::Bool(true) => "True".into(),
            PyValue::Bool(false) => "False".into(),
            PyValue::None => "None".into(),
            PyValue::Tuple(items) if items.len() == 1 => format!("({},)", items[0].repr()),
            PyValue::Tuple(items) => format!("({})", join(items)),
            PyValue::List(items) => format!("[{}]", join(items)),
            PyValue::Dict(entries) => {
                let parts: Vec<String> = entries.iter().map(|(k, v)| format!("{}: {}", k.repr(), v.repr())).collect();
                format!("{{{}}}", parts.join(", "))
            }
        }
    }
}

/// A recursive-descent parser for the Python literals of a `.npy` header.
struct Parser<'a> {
    chars: &'a [char],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) -> Result<(), String> {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r' | '\x0c')) {
            self.pos += 1;
        }
        Ok(())
    }

    fn unexpected(&self, wanted: &str) -> String {
        match self.peek() {
            Some(c) => format!("expected {wanted} but found {c:?} at column {}", self.pos + 1),
            None => format!("expected {wanted} but the header ends"),
        }
    }

    fn value(&mut self, depth: usize) -> Result<PyValue, String> {
        if depth > MAX_DEPTH {
            return Err(format!("values nested too deeply at column {}", self.pos + 1));
        }
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                let mut entries = Vec::new();
                loop {
                    self.skip_ws()?;
                    if self.peek() == Some('}') {
                        self.pos += 1;
                        return Ok(PyValue::Dict(entries));
                    }
                    let key = self.value(depth + 1)?;
                    self.skip_ws()?;
                    if self.peek() != Some(':') {
                        return Err(self.unexpected(&format!("':' after the key {}", key.repr())));
                    }
                    self.pos += 1;
                    self.skip_ws()?;
                    let value = self.value(depth + 1)?;
                    entries.push((key, value));
                    self.skip_ws()?;
                    match self.peek() {
                        Some(',') => self.pos += 1,
                        Some('}') => {}
                        _ => return Err(self.unexpected("',' or '}'")),
                    }
                }
            }
            Some(open @ ('(' | '[')) => {
                let close = if open == '(' { ')' } else { ']' };
                self.pos += 1;
                let mut items = Vec::new();
                let mut trailing_comma = false;
                loop {
                    self.skip_ws()?;
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        break;
                    }
                    items.push(self.value(depth + 1)?);
                    self.skip_ws()?;
                    match self.peek() {
                        Some(',') => {
                            self.pos += 1;
                            trailing_comma = true;
                        }
                        Some(c) if c == close => trailing_comma = false,
                        _ => return Err(self.unexpected(&format!("',' or '{close}'"))),
                    }
                }
                Ok(match (open, items.len(), trailing_comma) {
                    // `(3)` is just 3 in Python.
                    ('(', 1, false) => items.pop().unwrap_or(PyValue::None),
                    ('(', _, _) => PyValue::Tuple(items),
                    _ => PyValue::List(items),
                })
            }
            Some(q @ ('\'' | '"')) => self.string(q),
            Some(c @ ('u' | 'b' | 'U' | 'B')) if matches!(self.chars.get(self.pos + 1), Some('\'' | '"')) => {
                // Python 2 era u'...' and b'...' prefixes.
                let _ = c;
                self.pos += 1;
                let q = self.peek().unwrap_or('\'');
                self.string(q)
            }
            Some(c) if c == '-' || c == '+' || c.is_ascii_digit() => self.int(),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let start = self.pos;
                while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == '_') {
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                match word.as_str() {
                    "True" => Ok(PyValue::Bool(true)),
                    "False" => Ok(PyValue::Bool(false)),
                    "None" => Ok(PyValue::None),
                    _ => Err(format!("unknown name `{word}` at column {}", start + 1)),
                }
            }
            _ => Err(self.unexpected("a value")),
        }
    }

    fn int(&mut self) -> Result<PyValue, String> {
        let start = self.pos;
        let mut negative = false;
        if let Some(sign @ ('-' | '+')) = self.peek() {
            negative = sign == '-';
            self.pos += 1;
            self.skip_ws()?;
        }
        let digits_start = self.pos;
        let mut value: i128 = 0;
        while let Some(c) = self.peek() {
            if let Some(d) = c.to_digit(10) {
                value = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(d as i128))
                    .ok_or_else(|| format!("number at column {} is too large", start + 1))?;
                self.pos += 1;
            } else if c == '_' && self.pos > digits_start {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.pos == digits_start {
            return Err(self.unexpected("a digit"));
        }
        // Python 2 long suffix, as old NumPy versions wrote shapes: `(2L, 3L)`.
        if matches!(self.peek(), Some('L' | 'l')) {
            self.pos += 1;
        }
        if matches!(self.peek(), Some(c) if c == '.' || c == 'e' || c == 'E' || c == 'j' || c.is_alphanumeric()) {
            return Err(self.unexpected("an integer"));
        }
        Ok(PyValue::Int(if negative { -value } else { value }))
    }

    fn string(&mut self, quote: char) -> Result<PyValue, String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(format!("the string starting at column {} is not closed", start + 1));
            };
            self.pos += 1;
            if c == quote {
                return Ok(PyValue::Str(out));
            }
            if c == '\n' {
                return Err(format!("the string starting at column {} is not closed", start + 1));
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(e) = self.peek() else {
                return Err(format!("the string starting at column {} is not closed", start + 1));
            };
            self.pos += 1;
            match e {
                '\\' => out.push('\\'),
                '\'' => out.push('\''),
                '"' => out.push('"'),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '0' => out.push('\0'),
                'x' | 'u' => {
                    let n = if e == 'x' { 2 } else { 4 };
                    let hex: String = self.chars.iter().skip(self.pos).take(n).collect();
                    let code = (hex.len() == n)
                        .then(|| u32::from_str_radix(&hex, 16).ok())
                        .flatten()
                        .and_then(char::from_u32)
                        .ok_or_else(|| format!("bad \\{e} escape at column {}", self.pos))?;
                    self.pos += n;
                    out.push(code);
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

    /// A `.npy` file with the given version, header text (padded as NumPy pads) and data.
    fn npy_bytes(major: u8, header: &str, data: &[u8]) -> Vec<u8> {
        let len_field = if major == 1 { 2 } else { 4 };
        let mut h = header.as_bytes().to_vec();
        let total = 8 + len_field + h.len() + 1;
        h.extend(std::iter::repeat_n(b' ', (64 - total % 64) % 64));
        h.push(b'\n');
        let mut out = MAGIC.to_vec();
        out.extend([major, 0]);
        if major == 1 {
            out.extend((h.len() as u16).to_le_bytes());
        } else {
            out.extend((h.len() as u32).to_le_bytes());
        }
        out.extend(h);
        out.extend_from_slice(data);
        out
    }

    fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn err(bytes: &[u8]) -> String {
        read_npy(bytes).unwrap_err().to_string()
    }

    #[test]
    fn round_trip_every_npy_dtype() {
        let shape = vec![2, 3];
        let vals = [0.0, 1.0, -2.5, 3.0, 100.0, -0.125];
        for dtype in DType::ALL {
            let t = Tensor::from_f64_values(dtype, shape.clone(), &vals).unwrap();
            if dtype == DType::BF16 {
                let e = write_npy(&t).unwrap_err();
                assert!(e.to_string().contains("safetensors"), "{e}");
                continue;
            }
            let bytes = write_npy(&t).unwrap();
            assert_eq!(read_npy(&bytes).unwrap(), t, "{dtype}");
            // Shapes of every rank, empty ones included.
            for shape in [vec![], vec![0], vec![4], vec![1, 1, 1], vec![2, 0, 3], vec![3, 1, 2]] {
                let n: usize = shape.iter().product();
                let v: Vec<f64> = (0..n).map(|i| i as f64 % 2.0).collect();
                let t = Tensor::from_f64_values(dtype, shape, &v).unwrap();
                assert_eq!(read_npy(&write_npy(&t).unwrap()).unwrap(), t);
            }
        }
    }

    #[test]
    fn writes_what_numpy_writes() {
        let t = Tensor::from_f32(vec![2, 3], (0..6).map(|i| i as f32).collect()).unwrap();
        let bytes = write_npy(&t).unwrap();
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        assert_eq!(&bytes[..10], b"\x93NUMPY\x01\x00\x76\x00");
        assert_eq!(&bytes[10..10 + header.len()], header.as_bytes());
        assert_eq!(bytes.len(), 128 + 24);
        assert_eq!(bytes[127], b'\n');
        let s = write_npy(&Tensor::scalar(7i64)).unwrap();
        assert!(String::from_utf8_lossy(&s).contains("'shape': (), }"));
        let s = write_npy(&Tensor::from_slice(vec![5], &[1u8; 5]).unwrap()).unwrap();
        assert!(String::from_utf8_lossy(&s).contains("'descr': '|u1', 'fortran_order': False, 'shape': (5,), }"));
        assert_eq!(s.len() % 64, 5);
    }

    #[test]
    fn long_headers_use_version_2() {
        let t = Tensor::zeros(DType::U8, vec![1; 30000]);
        let bytes = write_npy(&t).unwrap();
        assert_eq!(bytes[6], 2);
        assert_eq!(read_npy(&bytes).unwrap(), t);
        assert_eq!((bytes.len() - 1) % 64, 0);
    }

    #[test]
    fn reads_hand_written_v1_v2_v3_headers() {
        let data = f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let want = Tensor::from_f32(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        for major in [1, 2, 3] {
            assert_eq!(read_npy(&npy_bytes(major, h, &data)).unwrap(), want, "v{major}");
        }
        // Keys in any order, double quotes, no trailing comma, no padding, Python 2 longs.
        let h = "{\"shape\": (2L, 3L), 'fortran_order':False,'descr':'<f4'}";
        assert_eq!(read_npy(&npy_bytes(1, h, &data)).unwrap(), want);
        let mut raw = MAGIC.to_vec();
        let h = b"{'descr':'<f4','fortran_order':False,'shape':(2,3)}";
        raw.extend([1, 0, h.len() as u8, 0]);
        raw.extend_from_slice(h);
        raw.extend_from_slice(&data);
        assert_eq!(read_npy(&raw).unwrap(), want);
        // Version 3.0 allows UTF-8 in the header (here in a harmless place: nowhere real,
        // so check that a UTF-8 error message is clear instead).
        let mut bad = npy_bytes(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", &data);
        bad[12] = 0xff;
        assert!(err(&bad).contains("UTF-8"), "{}", err(&bad));
    }

    #[test]
    fn scalars_and_empty() {
        let b = npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &2.5f64.to_le_bytes());
        let t = read_npy(&b).unwrap();
        assert_eq!(t.shape(), &[] as &[usize]);
        assert_eq!(t.to_vec::<f64>(), Some(vec![2.5]));
        let b = npy_bytes(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (0, 5), }", &[]);
        let t = read_npy(&b).unwrap();
        assert_eq!(t.shape(), &[0, 5]);
        assert!(t.is_empty());
    }

    #[test]
    fn big_endian_is_byte_swapped() {
        let data: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|x| x.to_be_bytes()).collect();
        let t = read_npy(&npy_bytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", &data)).unwrap();
        assert_eq!(t.to_vec::<f32>(), Some(vec![1.5, -2.0]));
        let data: Vec<u8> = [7i64, -9].iter().flat_map(|x| x.to_be_bytes()).collect();
        let t = read_npy(&npy_bytes(1, "{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }", &data)).unwrap();
        assert_eq!(t.to_vec::<i64>(), Some(vec![7, -9]));
        let data = f16::from_f32(0.5).to_be_bytes();
        let t = read_npy(&npy_bytes(1, "{'descr': '>f2', 'fortran_order': False, 'shape': (), }", &data)).unwrap();
        assert_eq!(t.to_vec::<f16>(), Some(vec![f16::from_f32(0.5)]));
        // One-byte types with any byte order, and native/no order for multi-byte ones.
        for descr in ["|u1", "<u1", ">u1", "=u1", "u1"] {
            let h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (2,), }}");
            assert_eq!(read_npy(&npy_bytes(1, &h, &[3, 4])).unwrap().to_vec::<u8>(), Some(vec![3, 4]));
        }
        for descr in ["=i4", "|i4", "i4", "<i4"] {
            let h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}");
            assert_eq!(read_npy(&npy_bytes(1, &h, &5i32.to_le_bytes())).unwrap().to_vec::<i32>(), Some(vec![5]));
        }
    }

    #[test]
    fn fortran_order_is_transposed_to_c_order() {
        // The C array [[0, 1, 2], [3, 4, 5]] stored column by column.
        let data: Vec<u8> = [0i32, 3, 1, 4, 2, 5].iter().flat_map(|x| x.to_le_bytes()).collect();
        let t = read_npy(&npy_bytes(1, "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", &data)).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.to_vec::<i32>(), Some(vec![0, 1, 2, 3, 4, 5]));
        // Rank 3: element (i, j, k) of shape (2, 3, 4) has value 100i + 10j + k.
        let (a, b, c) = (2, 3, 4);
        let mut fdata = Vec::new();
        for k in 0..c {
            for j in 0..b {
                for i in 0..a {
                    fdata.push((100 * i + 10 * j + k) as u8);
                }
            }
        }
        let t = read_npy(&npy_bytes(1, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3, 4), }", &fdata))
            .unwrap();
        let want: Vec<u8> = (0..a)
            .flat_map(|i| (0..b).flat_map(move |j| (0..c).map(move |k| (100 * i + 10 * j + k) as u8)))
            .collect();
        assert_eq!(t.to_vec::<u8>(), Some(want));
        // Rank 0 and 1 are the same in both orders.
        let t = read_npy(&npy_bytes(1, "{'descr': '|b1', 'fortran_order': True, 'shape': (3,), }", &[1, 0, 1])).unwrap();
        assert_eq!(t.to_vec::<bool>(), Some(vec![true, false, true]));
    }

    #[test]
    fn error_bad_magic() {
        assert_eq!(err(b"hello world, this is not numpy"), "not a .npy file (bad magic bytes)");
        assert!(err(b"").contains("empty"));
        assert!(err(b"PK\x03\x04rest of a zip").contains(".npz"));
        assert!(err(b"\x93NUM").starts_with("truncated .npy file"));
    }

    #[test]
    fn error_version() {
        let mut b = npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", &[0; 4]);
        b[6] = 4;
        assert_eq!(err(&b), "unsupported .npy format version 4.0 (tensorc reads versions 1.0, 2.0 and 3.0)");
        b[6] = 1;
        b[7] = 1;
        assert!(err(&b).contains("version 1.1"));
    }

    #[test]
    fn error_truncated_header() {
        let b = npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", &[0; 4]);
        assert_eq!(err(&b[..40]), "truncated .npy file: the header is 118 bytes long but only 30 bytes follow");
        assert!(err(&b[..9]).starts_with("truncated .npy file"));
        assert!(err(&b[..7]).starts_with("truncated .npy file"));
    }

    #[test]
    fn error_malformed_header() {
        let cases = [
            ("{'descr': '<f4' 'fortran_order': False, 'shape': (), }", "expected ',' or '}' but found '\\''"),
            ("{'descr' '<f4'}", "expected ':' after the key 'descr'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (), ", "but the header ends"),
            ("{'descr': '<f4, 'fortran_order': False, 'shape': (), }", "expected ',' or '}'"),
            ("['descr', '<f4']", "the header must be a Python dict"),
            ("{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"),
            ("{'descr': '<f4', 'shape': ()}", "missing key 'fortran_order'"),
            ("{'fortran_order': False, 'shape': ()}", "missing key 'descr'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}", "unexpected key 'x'"),
            ("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", "key 'descr' appears twice"),
            ("{'descr': '<f4', 'fortran_order': 0, 'shape': ()}", "'fortran_order' must be True or False, got 0"),
            ("{'descr': '<f4', 'fortran_order': false, 'shape': ()}", "unknown name `false`"),
            ("{'descr': 5, 'fortran_order': False, 'shape': ()}", "'descr' must be a string, got 5"),
            ("{'descr': '', 'fortran_order': False, 'shape': ()}", "'descr' is empty"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", "must be a tuple of non-negative integers, got [2, 3]"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (3)}", "got 3"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1)}", "dimension -1 in 'shape' (2, -1) is negative"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,)}", "expected an integer but found '.'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': ('a',)}", "got ('a',)"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999999,)}", "too large"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (999999999999999999999999999999999999999999,)}", "too large"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}", "too large"),
            ("", "expected a value but the header ends"),
        ];
        for (header, want) in cases {
            let b = npy_bytes(1, header, &[]);
            let got = err(&b);
            assert!(got.starts_with("bad .npy header: "), "{header}: {got}");
            assert!(got.contains(want), "{header}:\n  got  {got}\n  want {want}");
        }
        let deep = format!("{}{}", "(".repeat(100), ")".repeat(100));
        assert!(err(&npy_bytes(1, &deep, &[])).contains("nested too deeply"));
    }

    #[test]
    fn error_unsupported_descr() {
        let cases = [
            ("<u2", "unsupported .npy dtype '<u2': uint16 is not a tensorc dtype; convert with arr.astype(np.int64)"),
            ("|i1", "int8 is not a tensorc dtype; convert with arr.astype(np.int32)"),
            ("<f16", "longdouble"),
            ("<c8", "complex64"),
            ("<U3", "unicode string"),
            ("|S5", "byte string"),
            ("<M8[ns]", "datetime64"),
            ("|O", "object arrays hold Python objects"),
            ("|V8", "void"),
            ("<f4x", "this is not a NumPy type string"),
        ];
        for (descr, want) in cases {
            let b = npy_bytes(1, &format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}"), &[0; 16]);
            let got = err(&b);
            assert!(got.starts_with(&format!("unsupported .npy dtype '{descr}'")), "{got}");
            assert!(got.contains(want), "{descr}:\n  got  {got}\n  want {want}");
        }
        let b = npy_bytes(1, "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }", &[0; 8]);
        let got = err(&b);
        assert!(got.contains("[('a', '<f4'), ('b', '<i4')]") && got.contains("structured arrays"), "{got}");
        let got = err(&npy_bytes(1, "{'descr': '<f3', 'fortran_order': False, 'shape': (1,), }", &[0; 3]));
        assert!(got.contains("float24") && got.contains("tensorc reads float64 '<f8'"), "{got}");
    }

    #[test]
    fn error_data_length() {
        let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        assert_eq!(err(&npy_bytes(1, h, &[0; 10])), "truncated: header says 6 elements (24 bytes) but 10 bytes follow");
        assert_eq!(err(&npy_bytes(1, h, &[0; 30])), "header says 6 elements (24 bytes) but 30 bytes follow (6 bytes too many)");
        let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (), }";
        assert_eq!(err(&npy_bytes(1, h, &[])), "truncated: header says 1 element (8 bytes) but 0 bytes follow");
        let h = "{'descr': '|u1', 'fortran_order': False, 'shape': (0,), }";
        assert_eq!(err(&npy_bytes(1, h, &[1])), "header says 0 elements (0 bytes) but 1 byte follow (1 byte too many)");
    }

    #[test]
    fn error_bad_bool() {
        let h = "{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }";
        assert_eq!(err(&npy_bytes(1, h, &[0, 1, 1, 7])), "bool element 3 is stored as byte 7, but a bool must be 0 or 1");
    }

    #[test]
    fn error_bf16_write() {
        let t = Tensor::from_f64_values(DType::BF16, vec![2], &[1.0, 2.0]).unwrap();
        let e = write_npy(&t).unwrap_err();
        assert_eq!(e, FileError::DtypeNotStorable { format: FileFormat::Npy, dtype: DType::BF16 });
        assert!(e.to_string().contains("NumPy has no bf16 dtype); write a .safetensors file instead"), "{e}");
    }

    #[test]
    fn files_on_disk() {
        let dir = std::env::temp_dir().join(format!("tc-tensor-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.npy");
        let t = Tensor::from_i32(vec![3], vec![1, 2, 3]).unwrap();
        write_npy_file(&path, &t).unwrap();
        assert_eq!(read_npy_file(&path).unwrap(), t);
        let missing = dir.join("missing.npy");
        let e = read_npy_file(&missing).unwrap_err();
        assert!(matches!(e, FileError::Io { kind: std::io::ErrorKind::NotFound, writing: false, .. }));
        assert!(e.to_string().starts_with(&format!("cannot read {}: ", missing.display())), "{e}");
        let bf = Tensor::zeros(DType::BF16, vec![1]);
        assert!(write_npy_file(dir.join("bf.npy"), &bf).is_err());
        assert!(!dir.join("bf.npy").exists());
        let e = write_npy_file(dir.join("no/such/dir/x.npy"), &t).unwrap_err();
        assert!(e.to_string().starts_with("cannot write "), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
