//! safetensors files (SPEC §10): named tensors of all eight tensorc dtypes, read and written
//! through the format's reference crate `safetensors`, with errors that say what is wrong.
//!
//! Reading returns the tensors in file order (by data offset). Writing lays tensors out
//! the way the `safetensors` crate (and Python library) always does: by decreasing
//! alignment of the dtype, then by name, so that every tensor's data is aligned; the order
//! of the input slice does not matter and reading gives that canonical order back.

use crate::npy::decode;
use crate::{DType, FileError, FileFormat, Tensor};
use ::safetensors::tensor::{SafeTensorError, SafeTensors, View};
use ::safetensors::Dtype;
use std::borrow::Cow;
use std::path::Path;

/// Size of the little-endian u64 header length that starts every safetensors file.
const N_LEN: usize = 8;
/// The header key that holds string metadata instead of a tensor.
const METADATA_KEY: &str = "__metadata__";

/// The safetensors dtype of a tensorc dtype.
pub(crate) fn safetensors_dtype(dtype: DType) -> Dtype {
    match dtype {
        DType::F64 => Dtype::F64,
        DType::F32 => Dtype::F32,
        DType::F16 => Dtype::F16,
        DType::BF16 => Dtype::BF16,
        DType::I64 => Dtype::I64,
        DType::I32 => Dtype::I32,
        DType::U8 => Dtype::U8,
        DType::Bool => Dtype::BOOL,
    }
}

fn tensorc_dtype(dtype: Dtype) -> Option<DType> {
    Some(match dtype {
        Dtype::F64 => DType::F64,
        Dtype::F32 => DType::F32,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::BF16,
        Dtype::I64 => DType::I64,
        Dtype::I32 => DType::I32,
        Dtype::U8 => DType::U8,
        Dtype::BOOL => DType::Bool,
        _ => return None,
    })
}

fn bad(msg: impl Into<String>) -> FileError {
    FileError::Safetensors(msg.into())
}

fn bytes_word(n: usize) -> String {
    if n == 1 {
        "1 byte".to_string()
    } else {
        format!("{n} bytes")
    }
}

/// Read every tensor of a safetensors file held in memory, in file order. The
/// `__metadata__` entry, if any, is ignored.
pub fn read_safetensors(bytes: &[u8]) -> Result<Vec<(String, Tensor)>, FileError> {
    let Some(len_bytes) = bytes.get(..N_LEN) else {
        return Err(bad(format!(
            "the file is only {} long; every safetensors file starts with an 8-byte header size",
            bytes_word(bytes.len())
        )));
    };
    let mut len_arr = [0u8; N_LEN];
    len_arr.copy_from_slice(len_bytes);
    let header_len = u64::from_le_bytes(len_arr);
    let available = bytes.len() - N_LEN;
    if header_len > available as u64 {
        return Err(bad(format!(
            "the header size is {header_len} bytes but only {} follow (the file is truncated, or is not a safetensors file)",
            bytes_word(available)
        )));
    }
    let header_len = header_len as usize;
    let header = &bytes[N_LEN..N_LEN + header_len];
    let data_len = available - header_len;
    // The crate adds the last offset to the header size without overflow checks; make
    // sure every offset lies inside the file first (a valid file always passes this).
    let offsets = data_offsets_in(header);
    let data_end = offsets.iter().map(|&(_, end)| end).max().unwrap_or(0);
    if let Some(&(start, end)) = offsets.iter().find(|&&(s, e)| s > data_len as u128 || e > data_len as u128) {
        return Err(bad(format!(
            "truncated: a tensor's data_offsets [{start}, {end}] reach past the {} of data in the file",
            bytes_word(data_len)
        )));
    }
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| match e {
        SafeTensorError::MetadataIncompleteBuffer => {
            let need = data_end as usize;
            let mut msg = format!(
                "{}the header describes {} of tensor data but {} follow",
                if need > data_len { "truncated: " } else { "" },
                bytes_word(need),
                bytes_word(data_len)
            );
            if data_len > need {
                msg.push_str(&format!(" ({} too many)", bytes_word(data_len - need)));
            }
            bad(msg)
        }
        other => map_error(other),
    })?;
    let data = &bytes[N_LEN + header_len..];
    let mut infos: Vec<_> = metadata.tensors().into_iter().collect();
    infos.sort_by(|(a_name, a), (b_name, b)| a.data_offsets.cmp(&b.data_offsets).then_with(|| a_name.cmp(b_name)));
    let mut out = Vec::with_capacity(infos.len());
    for (name, info) in infos {
        let dtype = tensorc_dtype(info.dtype).ok_or_else(|| FileError::UnsupportedDtype {
            format: FileFormat::Safetensors,
            dtype: info.dtype.to_string(),
            detail: format!(
                "tensor `{name}` has a type tensorc has no dtype for (tensorc reads BOOL, U8, I32, I64, F16, \
                 BF16, F32 and F64); convert it before saving"
            ),
        })?;
        let (start, end) = info.data_offsets;
        let raw = data
            .get(start..end)
            .ok_or_else(|| bad(format!("the data_offsets of tensor `{name}` lie outside the file")))?;
        let elements = info
            .shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| bad(format!("the shape of tensor `{name}` is too large")))?;
        if elements.checked_mul(dtype.size_bytes()) != Some(raw.len()) {
            return Err(FileError::DataLength {
                format: FileFormat::Safetensors,
                elements,
                expected_bytes: elements.saturating_mul(dtype.size_bytes()),
                actual_bytes: raw.len(),
            });
        }
        let storage = decode(dtype, false, raw, Some(&name))?;
        let tensor = Tensor::new(info.shape.clone(), storage).map_err(|e| bad(format!("tensor `{name}`: {e}")))?;
        out.push((name, tensor));
    }
    Ok(out)
}

/// Serialize named tensors as a safetensors file (no `__metadata__`). Names must be unique
/// and not `__metadata__`. The layout is the crate's canonical one (see the module docs).
pub fn write_safetensors(tensors: &[(String, Tensor)]) -> Result<Vec<u8>, FileError> {
    let mut seen = std::collections::HashSet::new();
    for (name, _) in tensors {
        if name == METADATA_KEY {
            return Err(FileError::InvalidName {
                name: name.clone(),
                reason: "the name `__metadata__` is reserved by the safetensors format".into(),
            });
        }
        if !seen.insert(name.as_str()) {
            return Err(FileError::InvalidName {
                name: name.clone(),
                reason: "two tensors have this name; names in a safetensors file must be unique".into(),
            });
        }
    }
    let views = tensors.iter().map(|(name, t)| (name.as_str(), TensorBytes(t)));
    ::safetensors::serialize(views, None).map_err(map_error)
}

/// Read every tensor of a safetensors file on disk, in file order.
pub fn read_safetensors_file(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor)>, FileError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| FileError::io(path, false, &e))?;
    read_safetensors(&bytes)
}

/// Write named tensors to disk as a safetensors file.
pub fn write_safetensors_file(path: impl AsRef<Path>, tensors: &[(String, Tensor)]) -> Result<(), FileError> {
    let path = path.as_ref();
    let bytes = write_safetensors(tensors)?;
    std::fs::write(path, bytes).map_err(|e| FileError::io(path, true, &e))
}

/// A tensor as the `safetensors` crate sees it.
struct TensorBytes<'a>(&'a Tensor);

impl View for TensorBytes<'_> {
    fn dtype(&self) -> Dtype {
        safetensors_dtype(self.0.dtype())
    }

    fn shape(&self) -> &[usize] {
        self.0.shape()
    }

    fn data(&self) -> Cow<'_, [u8]> {
        match self.0.data() {
            crate::Data::U8(v) => Cow::Borrowed(v.as_slice()),
            other => Cow::Owned(other.to_le_bytes()),
        }
    }

    fn data_len(&self) -> usize {
        self.0.len() * self.0.dtype().size_bytes()
    }
}

fn map_error(e: SafeTensorError) -> FileError {
    use SafeTensorError as E;
    match e {
        E::InvalidHeader(e) => bad(format!("the header is not valid UTF-8 ({e})")),
        E::InvalidHeaderDeserialization(e) | E::JsonError(e) => bad(format!("the header is not valid: {e}")),
        E::HeaderTooLarge => bad("the header is larger than the 100 MB the format allows (not a safetensors file?)"),
        E::HeaderTooSmall | E::InvalidHeaderLength => bad("the header size does not fit the file"),
        E::TensorInvalidInfo => bad("a tensor's data_offsets do not match its shape and dtype"),
        E::InvalidOffset(name) => bad(format!(
            "the data of tensor `{name}` does not start where the previous tensor's ends \
             (data_offsets must cover the data section in order, without gaps)"
        )),
        E::MetadataIncompleteBuffer => bad("the tensors' data_offsets do not cover the data exactly"),
        E::ValidationOverflow => bad("a tensor's shape is too large"),
        E::MisalignedSlice => bad("a tensor's data is not a whole number of bytes"),
        E::TensorNotFound(name) => bad(format!("tensor `{name}` not found")),
        other => bad(other.to_string()),
    }
}

/// Every `"data_offsets": [a, b]` pair in a JSON header (values saturate at `u128::MAX`).
/// Keys are matched after JSON unescaping, as the JSON parser would see them.
fn data_offsets_in(header: &[u8]) -> Vec<(u128, u128)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < header.len() {
        if header[i] != b'"' {
            i += 1;
            continue;
        }
        let (text, after) = json_string(header, i + 1);
        i = after;
        if text != "data_offsets" {
            continue;
        }
        let mut j = skip_ws(header, i);
        if header.get(j) != Some(&b':') {
            continue;
        }
        j = skip_ws(header, j + 1);
        if header.get(j) != Some(&b'[') {
            continue;
        }
        let mut nums = Vec::new();
        j += 1;
        loop {
            j = skip_ws(header, j);
            let start = j;
            let mut value: u128 = 0;
            while let Some(d) = header.get(j).filter(|b| b.is_ascii_digit()) {
                value = value.saturating_mul(10).saturating_add(u128::from(d - b'0'));
                j += 1;
            }
            if j == start {
                break;
            }
            nums.push(value);
            j = skip_ws(header, j);
            if header.get(j) == Some(&b',') {
                j += 1;
            } else {
                break;
            }
        }
        if let [a, b] = nums[..] {
            out.push((a, b));
        } else {
            for n in nums {
                out.push((n, n));
            }
        }
    }
    out
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Decode the JSON string whose contents start at `i`; returns it and the index after the
/// closing quote (or the end of input).
fn json_string(b: &[u8], mut i: usize) -> (String, usize) {
    let mut out = Vec::new();
    while let Some(&c) = b.get(i) {
        i += 1;
        match c {
            b'"' => return (String::from_utf8_lossy(&out).into_owned(), i),
            b'\\' => {
                let Some(&e) = b.get(i) else { break };
                i += 1;
                match e {
                    b'u' => {
                        let code = b
                            .get(i..i + 4)
                            .and_then(|h| std::str::from_utf8(h).ok())
                            .and_then(|h| u32::from_str_radix(h, 16).ok());
                        i += 4;
                        let ch = code.and_then(char::from_u32).unwrap_or('\u{fffd}');
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    other => out.push(other),
                }
            }
            other => out.push(other),
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dtype: DType, shape: Vec<usize>) -> Tensor {
        let n: usize = shape.iter().product();
        let v: Vec<f64> = (0..n).map(|i| ((i * 7) % 5) as f64 - 1.5 * (i % 2) as f64).collect();
        let v: Vec<f64> = if dtype == DType::Bool || dtype == DType::U8 { v.iter().map(|x| x.abs()).collect() } else { v };
        Tensor::from_f64_values(dtype, shape, &v).unwrap()
    }

    /// A safetensors file from a literal JSON header and data.
    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn err(bytes: &[u8]) -> String {
        read_safetensors(bytes).unwrap_err().to_string()
    }

    #[test]
    fn round_trip_every_dtype() {
        let tensors: Vec<(String, Tensor)> = DType::ALL
            .iter()
            .enumerate()
            .map(|(i, &d)| (format!("t_{}", d.name()), sample(d, vec![2, i + 1])))
            .collect();
        let bytes = write_safetensors(&tensors).unwrap();
        let back = read_safetensors(&bytes).unwrap();
        assert_eq!(back.len(), tensors.len());
        for (name, t) in &tensors {
            let found = back.iter().find(|(n, _)| n == name).unwrap();
            assert_eq!(&found.1, t, "{name}");
        }
        // Every tensor's data is aligned to its element size.
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!((8 + header_len) % 8, 0);
    }

    #[test]
    fn file_order_is_data_order() {
        let tensors = vec![
            ("b".to_string(), sample(DType::F32, vec![3])),
            ("a".to_string(), sample(DType::F32, vec![2])),
            ("c".to_string(), sample(DType::F64, vec![1])),
            ("m".to_string(), sample(DType::U8, vec![4])),
        ];
        let back = read_safetensors(&write_safetensors(&tensors).unwrap()).unwrap();
        let names: Vec<&str> = back.iter().map(|(n, _)| n.as_str()).collect();
        // Canonical layout: decreasing alignment, then name.
        assert_eq!(names, ["c", "a", "b", "m"]);
        // A hand-written file with names out of alphabetical order keeps its data order.
        let h = r#"{"z":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}"#;
        let back = read_safetensors(&file(h, &[9, 8, 7])).unwrap();
        assert_eq!(back[0].0, "z");
        assert_eq!(back[1].1.to_vec::<u8>(), Some(vec![8, 7]));
    }

    #[test]
    fn scalars_empty_and_metadata() {
        let tensors = vec![
            ("s".to_string(), Tensor::scalar(2.5f32)),
            ("e".to_string(), Tensor::zeros(DType::I64, vec![0, 3])),
            ("n".to_string(), Tensor::zeros(DType::Bool, vec![0])),
        ];
        let back = read_safetensors(&write_safetensors(&tensors).unwrap()).unwrap();
        for (name, t) in &tensors {
            assert_eq!(&back.iter().find(|(n, _)| n == name).unwrap().1, t);
        }
        assert_eq!(read_safetensors(&write_safetensors(&[]).unwrap()).unwrap(), vec![]);
        let h = r#"{"__metadata__":{"format":"pt"},"x":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}"#;
        let back = read_safetensors(&file(h, &7i32.to_le_bytes())).unwrap();
        assert_eq!(back, vec![("x".to_string(), Tensor::scalar(7i32))]);
    }

    #[test]
    fn error_unsupported_dtype() {
        let h = r#"{"x":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}}"#;
        let got = err(&file(h, &[1, 2]));
        assert!(got.starts_with("unsupported safetensors dtype I8: tensor `x`"), "{got}");
        let h = r#"{"x":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}}"#;
        let got = err(&file(h, &[1, 2]));
        assert!(got.starts_with("bad safetensors file: the header is not valid: unknown variant `Q4`"), "{got}");
    }

    #[test]
    fn error_malformed() {
        assert_eq!(
            err(&[1, 2, 3]),
            "bad safetensors file: the file is only 3 bytes long; every safetensors file starts with an 8-byte header size"
        );
        let got = err(&file("{}", &[])[..6]);
        assert!(got.contains("only 6 bytes long"), "{got}");
        let mut f = file(r#"{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, &[1]);
        f[0] = 200;
        assert!(err(&f).contains("the header size is 200 bytes but only"), "{}", err(&f));
        assert!(err(&file("{not json", &[])).contains("the header is not valid"));
        assert!(err(&file("\u{0}\u{0}", &[])).contains("the header is not valid"));
        let mut f = file("{ }", &[]);
        f[9] = 0xff;
        assert!(err(&f).contains("UTF-8"), "{}", err(&f));
        let h = r#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#;
        assert!(err(&file(h, &[0; 4])).contains("data_offsets do not match its shape and dtype"));
        let h = r#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#;
        assert!(err(&file(h, &[0; 8])).contains("tensor `x` does not start where"), "{}", err(&file(h, &[0; 8])));
        let h = r#"{"x":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#;
        assert_eq!(
            err(&file(h, &[0; 2])),
            "bad safetensors file: truncated: a tensor's data_offsets [0, 4] reach past the 2 bytes of data in the file"
        );
        assert_eq!(
            err(&file(h, &[0; 6])),
            "bad safetensors file: the header describes 4 bytes of tensor data but 6 bytes follow (2 bytes too many)"
        );
        let h = r#"{"x":{"dtype":"U8","shape":[18446744073709551615, 18446744073709551615],"data_offsets":[0,0]}}"#;
        assert!(err(&file(h, &[])).contains("too large"), "{}", err(&file(h, &[])));
    }

    #[test]
    fn huge_offsets_do_not_overflow() {
        // Offsets whose sum with the header size would overflow usize.
        let big = u64::MAX / 8;
        let mut h = String::from("{");
        let mut start = 0u64;
        for i in 0..8 {
            let end = start + big;
            h.push_str(&format!(r#""t{i}":{{"dtype":"BOOL","shape":[{big}],"data_offsets":[{start},{end}]}},"#));
            start = end;
        }
        h.pop();
        h.push('}');
        assert!(err(&file(&h, &[])).contains("reach past"));
        // The same with the key spelled with JSON escapes.
        let h2 = h.replace("data_offsets", "data\\u005foffsets");
        assert!(err(&file(&h2, &[])).contains("reach past"), "{}", err(&file(&h2, &[])));
    }

    #[test]
    fn error_bad_bool() {
        let h = r#"{"mask":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}}"#;
        assert_eq!(
            err(&file(h, &[1, 0, 2])),
            "bool element 2 of tensor `mask` is stored as byte 2, but a bool must be 0 or 1"
        );
    }

    #[test]
    fn error_bad_names() {
        let t = Tensor::scalar(1i32);
        let e = write_safetensors(&[("a".into(), t.clone()), ("a".into(), t.clone())]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot write tensor `a`: two tensors have this name; names in a safetensors file must be unique"
        );
        let e = write_safetensors(&[("__metadata__".into(), t)]).unwrap_err();
        assert!(e.to_string().contains("reserved"));
    }

    #[test]
    fn files_on_disk() {
        let dir = std::env::temp_dir().join(format!("tc-tensor-st-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.safetensors");
        let tensors = vec![("w".to_string(), sample(DType::BF16, vec![2, 2]))];
        write_safetensors_file(&path, &tensors).unwrap();
        assert_eq!(read_safetensors_file(&path).unwrap(), tensors);
        let e = read_safetensors_file(dir.join("nope.safetensors")).unwrap_err();
        assert!(e.to_string().starts_with("cannot read "));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
