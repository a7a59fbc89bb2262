//! The device layer on whatever adapter this machine has (Mesa's llvmpipe in CI):
//! adapter selection, round trips of every supported dtype, transfer counters, and
//! clear errors for what the backend does not support.

use tc_tensor::{DType, Data, Tensor};
use tc_wgpu::{device, gpu, DeviceTensor, WgpuError};

fn sample(dtype: DType, n: usize) -> Tensor {
    let values: Vec<f64> = (0..n).map(|i| ((i * 37) % 11) as f64 - 3.0).collect();
    let data = match dtype {
        DType::Bool => Data::Bool(values.iter().map(|&v| v > 0.0).collect()),
        DType::U8 => Data::U8(values.iter().map(|&v| (v + 3.0) as u8 * 20).collect()),
        d => Data::from_f64(d, &values),
    };
    Tensor::new(vec![n], data).unwrap()
}

#[test]
fn every_supported_dtype_round_trips_and_is_counted() {
    let gpu = gpu().expect("a GPU adapter (install mesa-vulkan-drivers for llvmpipe)");
    let mut dtypes = vec![DType::F32, DType::I32, DType::U8, DType::Bool];
    if gpu.features.shader_f16 {
        dtypes.push(DType::F16);
    }
    for dtype in dtypes {
        for n in [1, 3, 1000] {
            let t = sample(dtype, n);
            let before = tc_wgpu::thread_transfers();
            let back = DeviceTensor::upload(&gpu, &t).unwrap().to_host().unwrap();
            assert_eq!(back, t, "{dtype} x {n}");
            let moved = tc_wgpu::thread_transfers().since(before);
            let word_bytes = if dtype == DType::F16 { (2 * n).next_multiple_of(4) } else { 4 * n };
            assert_eq!(moved.h2d_bytes, word_bytes as u64, "{dtype} x {n}");
            assert_eq!(moved.d2h_bytes, word_bytes as u64, "{dtype} x {n}");
        }
    }
}

#[test]
fn unsupported_dtypes_are_named() {
    let gpu = gpu().unwrap();
    for dtype in [DType::F64, DType::BF16, DType::I64] {
        let err = DeviceTensor::upload(&gpu, &sample(dtype, 4)).unwrap_err();
        assert!(err.to_string().contains(&dtype.to_string()), "{err}");
    }
}

#[test]
fn a_named_adapter_that_does_not_exist_is_an_error_listing_the_adapters() {
    let err = device::open(Some("no such adapter 1234")).err().expect("no adapter has that name");
    match &err {
        WgpuError::AdapterNotFound { available, .. } => assert!(available.contains("0: "), "{err}"),
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains(device::ADAPTER_ENV));
}

#[test]
fn adapters_can_be_chosen_by_index() {
    let listed = device::adapters();
    assert!(!listed.is_empty());
    let opened = device::open(Some("0")).unwrap();
    assert_eq!(opened.info.name, listed[0].name);
}
