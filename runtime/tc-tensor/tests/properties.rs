//! Property tests: file readers never panic on any bytes (random, truncated or corrupted
//! valid files), writers and readers round-trip every tensor, and printing never panics.

use proptest::prelude::*;
use tc_tensor::{
    format_tensor, read_npy, read_safetensors, write_npy, write_safetensors, DType, Data, Tensor,
};

fn dtype() -> impl Strategy<Value = DType> {
    proptest::sample::select(DType::ALL.to_vec())
}

fn shape() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0usize..5, 0..4)
}

/// A tensor of any dtype and small shape with arbitrary element bit patterns (NaNs,
/// infinities and subnormals included).
fn tensor() -> impl Strategy<Value = Tensor> {
    (dtype(), shape()).prop_flat_map(|(dtype, shape)| {
        let n: usize = shape.iter().product();
        proptest::collection::vec(any::<u8>(), n * dtype.size_bytes()).prop_map(move |mut bytes| {
            if dtype == DType::Bool {
                bytes.iter_mut().for_each(|b| *b &= 1);
            }
            Tensor::new(shape.clone(), Data::from_le_bytes(dtype, &bytes).unwrap()).unwrap()
        })
    })
}

/// Equality that treats NaN as equal to NaN with the same bits.
fn same(a: &Tensor, b: &Tensor) -> bool {
    a.shape() == b.shape() && a.dtype() == b.dtype() && a.data().to_le_bytes() == b.data().to_le_bytes()
}

fn valid_npy() -> impl Strategy<Value = Vec<u8>> {
    tensor().prop_filter_map("bf16 has no .npy form", |t| write_npy(&t).ok())
}

fn valid_safetensors() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(tensor(), 0..4).prop_map(|ts| {
        let named: Vec<(String, Tensor)> = ts.into_iter().enumerate().map(|(i, t)| (format!("t{i}"), t)).collect();
        write_safetensors(&named).unwrap()
    })
}

/// A valid file with some bytes overwritten.
fn corrupted(valid: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (valid, proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)).prop_map(|(mut bytes, edits)| {
        if !bytes.is_empty() {
            for (at, value) in edits {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
        }
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn npy_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = read_npy(&bytes);
        let mut with_magic = b"\x93NUMPY\x01\x00".to_vec();
        with_magic.extend(&bytes);
        let _ = read_npy(&with_magic);
    }

    #[test]
    fn npy_truncations_never_panic(bytes in valid_npy(), cut in any::<prop::sample::Index>()) {
        let n = cut.index(bytes.len());
        prop_assert!(read_npy(&bytes[..n]).is_err());
    }

    #[test]
    fn npy_corruptions_never_panic(bytes in corrupted(valid_npy())) {
        let _ = read_npy(&bytes);
    }

    #[test]
    fn npy_header_text_never_panics(text in "[{}()\\[\\]:,' \"a-z0-9<>|=_TrueFalsLN\\\\-]{0,80}") {
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((text.len() as u16).to_le_bytes());
        bytes.extend(text.as_bytes());
        let _ = read_npy(&bytes);
    }

    #[test]
    fn npy_round_trip(t in tensor()) {
        match write_npy(&t) {
            Ok(bytes) => prop_assert!(same(&read_npy(&bytes).unwrap(), &t)),
            Err(_) => prop_assert_eq!(t.dtype(), DType::BF16),
        }
    }

    #[test]
    fn safetensors_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = read_safetensors(&bytes);
        // A plausible header size in front of random JSON-ish text.
        let mut framed = (bytes.len() as u64).to_le_bytes().to_vec();
        framed.extend(&bytes);
        let _ = read_safetensors(&framed);
    }

    #[test]
    fn safetensors_header_text_never_panics(
        text in "\\{(\"[a-z_]{1,12}\":\\{\"dtype\":\"(F32|U8|BOOL|I8|F4)\",\"shape\":\\[[0-9,]{0,30}\\],\"data_offsets\":\\[[0-9]{1,25},[0-9]{1,25}\\]\\},?){0,3}\\}",
        data in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = (text.len() as u64).to_le_bytes().to_vec();
        bytes.extend(text.as_bytes());
        bytes.extend(&data);
        let _ = read_safetensors(&bytes);
    }

    #[test]
    fn safetensors_truncations_never_panic(bytes in valid_safetensors(), cut in any::<prop::sample::Index>()) {
        let n = cut.index(bytes.len());
        prop_assert!(read_safetensors(&bytes[..n]).is_err());
    }

    #[test]
    fn safetensors_corruptions_never_panic(bytes in corrupted(valid_safetensors())) {
        let _ = read_safetensors(&bytes);
    }

    #[test]
    fn safetensors_round_trip(ts in proptest::collection::vec(tensor(), 0..5)) {
        let named: Vec<(String, Tensor)> = ts.into_iter().enumerate().map(|(i, t)| (format!("t{i}"), t)).collect();
        let back = read_safetensors(&write_safetensors(&named).unwrap()).unwrap();
        prop_assert_eq!(back.len(), named.len());
        for (name, t) in &named {
            let found = back.iter().find(|(n, _)| n == name).unwrap();
            prop_assert!(same(&found.1, t));
        }
    }

    #[test]
    fn printing_never_panics(t in tensor()) {
        let s = format_tensor(&t);
        prop_assert!(!s.is_empty());
        if t.rank() > 0 {
            prop_assert!(s.starts_with('[') && s.ends_with(']'));
        }
    }

    #[test]
    fn printing_large_tensors_never_panics(dtype in dtype(), shape in proptest::collection::vec(1usize..12, 1..5), seed in any::<u64>()) {
        let n: usize = shape.iter().product();
        let v: Vec<f64> = (0..n).map(|i| ((i as u64).wrapping_mul(seed | 1) % 1000) as f64 - 500.0).collect();
        let long_axis = shape.iter().any(|&d| d > 6);
        let t = Tensor::from_f64_values(dtype, shape, &v).unwrap();
        let s = format_tensor(&t);
        // NumPy elides only the middle of axes longer than 2 * 3 edge items.
        prop_assert_eq!(s.contains("..."), n > 1000 && long_axis);
    }
}
