//! Checks against files NumPy wrote (generated once with `numpy` 2.x, see
//! `tests/fixtures/README.md`): every `NAME.npy` must read, must be written back byte for
//! byte as `numpy.save` wrote it, and must print as `numpy.array2string(a, separator=', ')`
//! printed it (`NAME.txt`). Setting `TC_TENSOR_FIXTURES=DIR` checks another directory of
//! such pairs instead (used during development with thousands of random arrays).

use std::path::{Path, PathBuf};
use tc_tensor::{format_tensor, read_npy, read_npy_file, write_npy, DType, Tensor};

fn fixture_dir() -> PathBuf {
    match std::env::var_os("TC_TENSOR_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
    }
}

fn fixture(name: &str) -> Tensor {
    read_npy_file(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
}

#[test]
fn numpy_files_read_write_and_print_like_numpy() {
    let dir = fixture_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "npy"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "fixtures missing in {}", dir.display());
    let mut failures = Vec::new();
    let mut printed = 0;
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let t = match read_npy(&bytes) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{}: read failed: {e}", path.display()));
                continue;
            }
        };
        let is_canonical = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).contains("'descr': '<")
            || String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).contains("'descr': '|");
        let c_order = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).contains("'fortran_order': False");
        if is_canonical && c_order && bytes[6] == 1 && write_npy(&t).unwrap() != bytes {
            failures.push(format!("{}: written bytes differ from numpy's", path.display()));
        }
        let txt = path.with_extension("txt");
        if let Ok(want) = std::fs::read_to_string(&txt) {
            printed += 1;
            let got = format_tensor(&t);
            if got != want {
                failures.push(format!("{}:\n--- numpy\n{want}\n--- tensorc\n{got}", path.display()));
            }
        }
    }
    assert!(printed >= 10, "too few .txt expectations in {}", dir.display());
    assert!(failures.is_empty(), "{} of {} fixtures failed:\n{}", failures.len(), paths.len(), failures.join("\n"));
}

#[test]
fn numpy_special_layouts() {
    // Fortran order, big-endian and a version 3.0 header, as numpy wrote them.
    let want: Vec<f64> = (0..24).map(|i| i as f64).collect();
    let t = fixture("fortran_f8.npy");
    assert_eq!(t.shape(), &[2, 3, 4]);
    assert_eq!(t.to_vec::<f64>(), Some(want));
    let t = fixture("bigendian_i4.npy");
    assert_eq!(t.to_vec::<i32>(), Some(vec![1, -2, 300000, i32::MIN]));
    let t = fixture("bigendian_f2.npy");
    assert_eq!(t.dtype(), DType::F16);
    assert_eq!(t.data().to_f64_vec(), vec![0.5, -1.25, 65504.0]);
    let t = fixture("v3_utf8.npy");
    assert_eq!(t.to_vec::<u8>(), Some(vec![1, 2, 3]));
    let t = fixture("v2_f4.npy");
    assert_eq!(t.to_vec::<f32>(), Some(vec![1.5, 2.5]));
    let t = fixture("scalar_f8.npy");
    assert_eq!(t.shape(), &[] as &[usize]);
    assert_eq!(format_tensor(&t), "3.25");
}
