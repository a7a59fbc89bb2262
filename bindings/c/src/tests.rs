//! The C API driven as a C caller would, through raw pointers: results, flattening,
//! threads, and every kind of misuse (NULL pointers, wrong sizes, unknown dtypes,
//! backends and functions, compile errors).

use super::*;
use std::ffi::CString;

use tc_status::*;

const SOURCE: &str = "
fn add_one(x) { x + 1.0 }
fn pair(x, y) { (x * 2.0, (y, x + y)) }
fn typed(x: f32[B]) -> f32[B] { x * x }
";

fn last_error() -> String {
    unsafe { CStr::from_ptr(tc_last_error()) }
        .to_str()
        .unwrap()
        .to_string()
}

fn session(backend: &str) -> *mut tc_session {
    let name = CString::new(backend).unwrap();
    let mut s = ptr::null_mut();
    assert_eq!(
        tc_session_new(name.as_ptr(), &mut s),
        TC_OK,
        "{}",
        last_error()
    );
    assert!(!s.is_null());
    s
}

fn module(s: *mut tc_session, source: &str) -> *mut tc_module {
    let source = CString::new(source).unwrap();
    let mut m = ptr::null_mut();
    assert_eq!(
        tc_compile_source(s, ptr::null(), source.as_ptr(), &mut m),
        TC_OK,
        "{}",
        last_error()
    );
    m
}

fn f32_tensor(shape: &[i64], values: &[f32]) -> *mut tc_tensor {
    let mut t = ptr::null_mut();
    let status = tc_tensor_new(
        tc_dtype::TC_F32 as u32,
        shape.as_ptr(),
        shape.len(),
        values.as_ptr().cast(),
        values.len() * 4,
        &mut t,
    );
    assert_eq!(status, TC_OK, "{}", last_error());
    t
}

fn f32_values(t: *const tc_tensor) -> Vec<f32> {
    assert_eq!(tc_tensor_dtype(t), tc_dtype::TC_F32);
    let n = tc_tensor_nbytes(t) / 4;
    unsafe { std::slice::from_raw_parts(tc_tensor_data(t).cast::<f32>(), n) }.to_vec()
}

fn shape(t: *const tc_tensor) -> Vec<i64> {
    let rank = tc_tensor_rank(t);
    if rank == 0 {
        return Vec::new();
    }
    unsafe { std::slice::from_raw_parts(tc_tensor_shape(t), rank) }.to_vec()
}

/// Call `entry`; the status and the outputs (freed by the caller).
fn call(
    m: *mut tc_module,
    entry: &str,
    args: &[*mut tc_tensor],
) -> (tc_status, *mut *mut tc_tensor, usize) {
    let entry = CString::new(entry).unwrap();
    let args = args.to_vec();
    let mut outs = ptr::null_mut();
    let mut n = 0;
    let status = tc_call(
        m,
        entry.as_ptr(),
        args.as_ptr(),
        args.len(),
        &mut outs,
        &mut n,
    );
    (status, outs, n)
}

#[test]
fn a_call_gives_its_results_flattened_depth_first() {
    let s = session("cpu");
    let m = module(s, SOURCE);
    let x = f32_tensor(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let (status, outs, n) = call(m, "add_one", &[x]);
    assert_eq!(status, TC_OK, "{}", last_error());
    assert_eq!(n, 1);
    let out = unsafe { *outs };
    assert_eq!(shape(out), [2, 2]);
    assert_eq!(f32_values(out), [2.0, 3.0, 4.0, 5.0]);
    tc_outputs_free(outs, n);

    let y = f32_tensor(&[2], &[10.0, 20.0]);
    let x1 = f32_tensor(&[2], &[1.0, 2.0]);
    let (status, outs, n) = call(m, "pair", &[x1, y]);
    assert_eq!(status, TC_OK, "{}", last_error());
    assert_eq!(n, 3);
    let outs_slice = unsafe { std::slice::from_raw_parts(outs, n) };
    assert_eq!(f32_values(outs_slice[0]), [2.0, 4.0]);
    assert_eq!(f32_values(outs_slice[1]), [10.0, 20.0]);
    assert_eq!(f32_values(outs_slice[2]), [11.0, 22.0]);
    // A result taken out of the array and freed alone leaves a NULL slot.
    tc_tensor_free(outs_slice[0]);
    unsafe { *outs = ptr::null_mut() };
    tc_outputs_free(outs, n);

    for t in [x, y, x1] {
        tc_tensor_free(t);
    }
    tc_module_free(m);
    tc_session_free(s);
}

#[test]
fn every_dtype_round_trips_through_a_tensor() {
    let bytes: [u8; 16] = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1];
    for (c, dtype) in DTYPES {
        let n = 16 / dtype.size_bytes();
        let dims = [n as i64];
        let mut t = ptr::null_mut();
        assert_eq!(
            tc_tensor_new(
                c as u32,
                dims.as_ptr(),
                1,
                bytes.as_ptr().cast(),
                16,
                &mut t
            ),
            TC_OK,
            "{dtype}: {}",
            last_error()
        );
        assert_eq!(tc_tensor_dtype(t), c);
        assert_eq!(shape(t), dims);
        assert_eq!(tc_tensor_nbytes(t), 16);
        let back = unsafe { std::slice::from_raw_parts(tc_tensor_data(t).cast::<u8>(), 16) };
        assert_eq!(back, bytes, "{dtype}");
        tc_tensor_free(t);
    }
    // A scalar: rank 0, shape may be NULL.
    let mut t = ptr::null_mut();
    let v = 2.5f64;
    assert_eq!(
        tc_tensor_new(
            tc_dtype::TC_F64 as u32,
            ptr::null(),
            0,
            (&v as *const f64).cast(),
            8,
            &mut t
        ),
        TC_OK
    );
    assert_eq!(tc_tensor_rank(t), 0);
    tc_tensor_free(t);
}

#[test]
fn misused_tensors_are_usage_errors() {
    let values = [1.0f32, 2.0, 3.0];
    let dims = [3i64];
    let mut t = ptr::null_mut();
    let case = |dt: u32,
                dims: *const i64,
                rank: usize,
                data: *const c_void,
                nbytes: usize,
                out: *mut *mut tc_tensor,
                want: &str| {
        assert_eq!(
            tc_tensor_new(dt, dims, rank, data, nbytes, out),
            TC_ERR_USAGE,
            "{want}"
        );
        let message = last_error();
        assert!(message.contains(want), "{message:?} lacks {want:?}");
    };
    let data = values.as_ptr().cast::<c_void>();
    case(99, dims.as_ptr(), 1, data, 12, &mut t, "unknown dtype 99");
    case(
        tc_dtype::TC_F32 as u32,
        dims.as_ptr(),
        1,
        data,
        11,
        &mut t,
        "has 12 bytes, nbytes is 11",
    );
    case(
        tc_dtype::TC_F64 as u32,
        dims.as_ptr(),
        1,
        data,
        12,
        &mut t,
        "has 24 bytes",
    );
    case(
        tc_dtype::TC_F32 as u32,
        dims.as_ptr(),
        1,
        ptr::null(),
        12,
        &mut t,
        "data is NULL",
    );
    case(
        tc_dtype::TC_F32 as u32,
        ptr::null(),
        1,
        data,
        12,
        &mut t,
        "shape is NULL",
    );
    case(
        tc_dtype::TC_F32 as u32,
        [-3i64].as_ptr(),
        1,
        data,
        12,
        &mut t,
        "negative dimension -3",
    );
    case(
        tc_dtype::TC_F32 as u32,
        [i64::MAX, i64::MAX].as_ptr(),
        2,
        data,
        12,
        &mut t,
        "too many elements",
    );
    case(
        tc_dtype::TC_BOOL as u32,
        [2i64].as_ptr(),
        1,
        [0u8, 2].as_ptr().cast(),
        2,
        &mut t,
        "neither 0 nor 1",
    );
    case(
        tc_dtype::TC_F32 as u32,
        dims.as_ptr(),
        1,
        data,
        12,
        ptr::null_mut(),
        "out is NULL",
    );
    assert!(t.is_null());

    // Getters on NULL give zero values and record the misuse.
    assert_eq!(tc_tensor_rank(ptr::null()), 0);
    assert!(last_error().contains("tc_tensor_rank: the tensor is NULL"));
    assert!(tc_tensor_shape(ptr::null()).is_null());
    assert!(tc_tensor_data(ptr::null()).is_null());
    assert_eq!(tc_tensor_nbytes(ptr::null()), 0);
    assert_eq!(tc_tensor_dtype(ptr::null()), tc_dtype::TC_F64);
    // Freeing NULL does nothing.
    tc_tensor_free(ptr::null_mut());
    tc_outputs_free(ptr::null_mut(), 3);
    tc_module_free(ptr::null_mut());
    tc_session_free(ptr::null_mut());
}

#[test]
fn sessions_reject_unknown_backends_and_null_pointers() {
    let mut s = ptr::null_mut();
    let name = CString::new("tpu").unwrap();
    assert_eq!(tc_session_new(name.as_ptr(), &mut s), TC_ERR_USAGE);
    assert!(
        last_error().contains("unknown backend `tpu`"),
        "{}",
        last_error()
    );
    assert!(s.is_null());
    assert_eq!(tc_session_new(ptr::null(), ptr::null_mut()), TC_ERR_USAGE);
    let invalid = [0x66u8, 0xff, 0];
    assert_eq!(
        tc_session_new(invalid.as_ptr().cast(), &mut s),
        TC_ERR_USAGE
    );
    assert!(last_error().contains("not UTF-8"), "{}", last_error());
    // NULL is the default backend.
    assert_eq!(tc_session_new(ptr::null(), &mut s), TC_OK);
    tc_session_free(s);
    let s = session("interp");
    tc_session_free(s);
}

#[test]
fn a_compile_error_gives_the_rendered_diagnostics() {
    let s = session("cpu");
    let mut m = ptr::null_mut();
    let name = CString::new("broken.tc").unwrap();
    let source = CString::new("fn f(x) { x + y }\n").unwrap();
    assert_eq!(
        tc_compile_source(s, name.as_ptr(), source.as_ptr(), &mut m),
        TC_ERR_COMPILE
    );
    assert!(m.is_null());
    let message = last_error();
    assert!(message.contains("error[E0"), "{message}");
    assert!(message.contains("broken.tc:1:"), "{message}");
    assert!(message.contains("could not compile"), "{message}");

    assert_eq!(
        tc_compile_source(ptr::null_mut(), name.as_ptr(), source.as_ptr(), &mut m),
        TC_ERR_USAGE
    );
    assert!(last_error().contains("session is NULL"));
    assert_eq!(
        tc_compile_source(s, name.as_ptr(), ptr::null(), &mut m),
        TC_ERR_USAGE
    );
    assert_eq!(
        tc_compile_source(s, name.as_ptr(), source.as_ptr(), ptr::null_mut()),
        TC_ERR_USAGE
    );
    let missing = CString::new("/nonexistent/model.tc").unwrap();
    assert_eq!(tc_compile_file(s, missing.as_ptr(), &mut m), TC_ERR_RUNTIME);
    assert!(
        last_error().contains("/nonexistent/model.tc"),
        "{}",
        last_error()
    );
    assert_eq!(tc_compile_file(s, ptr::null(), &mut m), TC_ERR_USAGE);
    tc_session_free(s);
}

#[test]
fn misused_calls_are_errors_not_crashes() {
    let s = session("cpu");
    let m = module(s, SOURCE);
    let x = f32_tensor(&[3], &[1.0, 2.0, 3.0]);

    let (status, outs, n) = call(m, "nope", &[x]);
    assert_eq!((status, outs.is_null(), n), (TC_ERR_USAGE, true, 0));
    assert!(
        last_error().contains("no function `nope`"),
        "{}",
        last_error()
    );
    assert!(last_error().contains("add_one"), "{}", last_error());

    let (status, _, _) = call(m, "add_one", &[x, x]);
    assert_eq!(status, TC_ERR_USAGE);
    assert!(
        last_error().contains("takes 1 arguments, got 2"),
        "{}",
        last_error()
    );

    let (status, _, _) = call(m, "add_one", &[ptr::null_mut()]);
    assert_eq!(status, TC_ERR_USAGE);
    assert!(last_error().contains("args[0] is NULL"));

    // A tensor of the wrong dtype for an annotated parameter.
    let mut i = ptr::null_mut();
    let dims = [3i64];
    assert_eq!(
        tc_tensor_new(
            tc_dtype::TC_I32 as u32,
            dims.as_ptr(),
            1,
            [1i32, 2, 3].as_ptr().cast(),
            12,
            &mut i
        ),
        TC_OK
    );
    let (status, _, _) = call(m, "typed", &[i]);
    assert_ne!(status, TC_OK);
    assert!(last_error().contains("f32"), "{}", last_error());

    let entry = CString::new("add_one").unwrap();
    let mut outs = ptr::null_mut();
    let mut n = 0;
    assert_eq!(
        tc_call(m, entry.as_ptr(), ptr::null(), 1, &mut outs, &mut n),
        TC_ERR_USAGE
    );
    assert_eq!(
        tc_call(
            ptr::null_mut(),
            entry.as_ptr(),
            ptr::null(),
            0,
            &mut outs,
            &mut n
        ),
        TC_ERR_USAGE
    );
    assert_eq!(
        tc_call(m, ptr::null(), ptr::null(), 0, &mut outs, &mut n),
        TC_ERR_USAGE
    );
    let args = [x];
    assert_eq!(
        tc_call(m, entry.as_ptr(), args.as_ptr(), 1, ptr::null_mut(), &mut n),
        TC_ERR_USAGE
    );
    assert_eq!(
        tc_call(
            m,
            entry.as_ptr(),
            args.as_ptr(),
            1,
            &mut outs,
            ptr::null_mut()
        ),
        TC_ERR_USAGE
    );

    // Freeing results with the wrong count frees what was allocated and says so.
    let (status, outs, n) = call(m, "add_one", &[x]);
    assert_eq!((status, n), (TC_OK, 1));
    tc_outputs_free(outs, 5);
    assert!(
        last_error().contains("n is 5, but tc_call gave 1"),
        "{}",
        last_error()
    );

    tc_tensor_free(i);
    tc_tensor_free(x);
    tc_module_free(m);
    tc_session_free(s);
}

/// A raw pointer that the threads below share; the API says modules may be.
#[derive(Clone, Copy)]
struct Shared(*mut tc_module);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

#[test]
fn one_module_is_called_from_several_threads_at_once() {
    let s = session("cpu");
    let shared = Shared(module(s, SOURCE));
    let threads: Vec<_> = (0..8)
        .map(|k| {
            std::thread::spawn(move || {
                let shared = shared;
                for round in 0..20 {
                    let base = (k * 100 + round) as f32;
                    // Two shapes, so that threads also race to compile specialisations.
                    let len = 1 + (k + round) % 2;
                    let values: Vec<f32> = (0..len).map(|j| base + j as f32).collect();
                    let x = f32_tensor(&[len as i64], &values);
                    let (status, outs, n) = call(shared.0, "add_one", &[x]);
                    assert_eq!((status, n), (TC_OK, 1), "{}", last_error());
                    let want: Vec<f32> = values.iter().map(|v| v + 1.0).collect();
                    assert_eq!(f32_values(unsafe { *outs }), want);
                    tc_outputs_free(outs, n);
                    tc_tensor_free(x);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    tc_module_free(shared.0);
    tc_session_free(s);
}

#[test]
fn the_last_error_belongs_to_its_thread() {
    let mut s = ptr::null_mut();
    let name = CString::new("nonsense").unwrap();
    assert_eq!(tc_session_new(name.as_ptr(), &mut s), TC_ERR_USAGE);
    assert!(last_error().contains("nonsense"));
    let other = std::thread::spawn(last_error).join().unwrap();
    assert_eq!(other, "");
    // A success keeps the last failure's message.
    tc_session_free(session("cpu"));
    assert!(last_error().contains("nonsense"));
}
