//! The C API of tensorc: `libtensorc.so` and `libtensorc.a`, declared by the generated
//! header `include/tensorc.h` (cbindgen, `cbindgen.toml`; `tests/header.rs` fails when
//! the committed header is stale).
//!
//! Every entry point catches panics, checks its pointers, sizes, dtypes and strings
//! (UTF-8) and reports a failure as a [`tc_status`] and a message that
//! [`tc_last_error`] gives (thread-local). Results of [`tc_call`] are flattened
//! depth-first, as `tensorc run -o` writes them. A [`tc_module`] is `Sync`: several
//! threads may call it at once.

#![allow(non_camel_case_types)]
// The entry points are C functions taking raw pointers: each checks what can be checked
// (NULL, sizes, dtypes, UTF-8) and the header documents the rest of its contract, which is
// the C caller's; marking them `unsafe` would change nothing for C.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use tensorc::{Backend, DType, Data, Error, Module, Session, Tensor};

/// The outcome of a call: the same numbers as the `tensorc` command's exit codes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tc_status {
    /// Success.
    TC_OK = 0,
    /// The program does not compile; tc_last_error() holds the rendered diagnostics.
    TC_ERR_COMPILE = 1,
    /// The request is malformed: a NULL pointer, a wrong size, an unknown dtype,
    /// backend or function, a string that is not UTF-8, a wrong number of arguments.
    TC_ERR_USAGE = 2,
    /// Running failed, an argument does not fit its parameter, or a file could not be read.
    TC_ERR_RUNTIME = 3,
}

/// The element type of a tensor (bool is one byte, 0 or 1; f16 and bf16 are two bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tc_dtype {
    TC_F64 = 0,
    TC_F32 = 1,
    TC_F16 = 2,
    TC_BF16 = 3,
    TC_I64 = 4,
    TC_I32 = 5,
    TC_U8 = 6,
    TC_BOOL = 7,
}

/// A `tc_dtype` as the caller passed it: any integer, checked before use.
pub type RawDType = u32;

const DTYPES: [(tc_dtype, DType); 8] = [
    (tc_dtype::TC_F64, DType::F64),
    (tc_dtype::TC_F32, DType::F32),
    (tc_dtype::TC_F16, DType::F16),
    (tc_dtype::TC_BF16, DType::BF16),
    (tc_dtype::TC_I64, DType::I64),
    (tc_dtype::TC_I32, DType::I32),
    (tc_dtype::TC_U8, DType::U8),
    (tc_dtype::TC_BOOL, DType::Bool),
];

fn to_c_dtype(dtype: DType) -> tc_dtype {
    DTYPES
        .iter()
        .find(|(_, d)| *d == dtype)
        .map(|(c, _)| *c)
        .expect("every dtype has a tc_dtype")
}

/// A compiling context for one backend (tc_session_new).
pub struct tc_session {
    session: Session,
}

/// A checked program whose functions can be called (tc_compile_file, tc_compile_source).
pub struct tc_module {
    module: Module,
}

/// A host tensor: dtype, shape and C-order data, owned by the library.
pub struct tc_tensor {
    tensor: Tensor,
    /// The shape as C reads it.
    shape: Vec<i64>,
}

impl tc_tensor {
    fn new(tensor: Tensor) -> Result<tc_tensor, Failure> {
        let shape = tensor
            .shape()
            .iter()
            .map(|&d| {
                i64::try_from(d)
                    .map_err(|_| Failure::runtime(format!("dimension {d} does not fit int64_t")))
            })
            .collect::<Result<_, _>>()?;
        Ok(tc_tensor { tensor, shape })
    }
}

// A module is shared between threads that call it; the compiler checks it may be.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<tc_module>();
    shareable::<tc_session>();
    shareable::<tc_tensor>();
};

/// A failed call: its status and message.
struct Failure {
    status: tc_status,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Failure {
        Failure {
            status: tc_status::TC_ERR_USAGE,
            message: message.into(),
        }
    }

    fn runtime(message: impl Into<String>) -> Failure {
        Failure {
            status: tc_status::TC_ERR_RUNTIME,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        let status = match &error {
            Error::Compile(_) => tc_status::TC_ERR_COMPILE,
            Error::Usage(_) => tc_status::TC_ERR_USAGE,
            Error::Argument { .. } | Error::Runtime(_) | Error::Io { .. } => {
                tc_status::TC_ERR_RUNTIME
            }
        };
        let message = match &error {
            Error::Compile(diagnostics) => diagnostics.render(false),
            other => other.to_string(),
        };
        Failure { status, message }
    }
}

thread_local! {
    /// This thread's last failure, as tc_last_error gives it.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|last| *last.borrow_mut() = text);
}

/// Run `body`, catching a panic; a failure is recorded for tc_last_error.
fn guard(body: impl FnOnce() -> Result<(), Failure>) -> tc_status {
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return tc_status::TC_OK,
        Ok(Err(failure)) => failure,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Failure::runtime(format!("internal error: {what}"))
        }
    };
    set_last_error(&failure.message);
    failure.status
}

/// A getter's value, or `fallback` (recorded as a usage error) for a NULL tensor or a panic.
fn getter<T>(t: *const tc_tensor, name: &str, fallback: T, get: impl FnOnce(&tc_tensor) -> T) -> T {
    let mut value = None;
    let status = guard(|| {
        let t = unsafe { t.as_ref() }
            .ok_or_else(|| Failure::usage(format!("{name}: the tensor is NULL")))?;
        value = Some(get(t));
        Ok(())
    });
    match (status, value) {
        (tc_status::TC_OK, Some(v)) => v,
        _ => fallback,
    }
}

/// A string argument: non-NULL and UTF-8.
fn string<'a>(p: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(Failure::usage(format!("{what} is NULL")));
    }
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|e| Failure::usage(format!("{what} is not UTF-8: {e}")))
}

/// Store `value` through the out-pointer `out`, which must not be NULL.
fn put<T>(out: *mut *mut T, value: T) {
    unsafe { *out = Box::into_raw(Box::new(value)) };
}

fn check_out<T>(out: *mut T, what: &str) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::usage(format!("{what} is NULL")));
    }
    Ok(())
}

/// The message of this thread's last failed tc_ call: the rendered diagnostics for
/// TC_ERR_COMPILE, otherwise one line. An empty string if no call failed yet. The
/// string belongs to the library and stays valid until this thread's next tc_ call.
#[no_mangle]
pub extern "C" fn tc_last_error() -> *const c_char {
    LAST_ERROR.with(|last| last.borrow().as_ptr())
}

/// Open a session on `backend` ("cpu", "interp", "wgpu", "mlir"; NULL is "cpu") and
/// store it in *out. TC_ERR_USAGE for an unknown backend or one this build lacks,
/// TC_ERR_RUNTIME when the backend's device cannot be opened.
#[no_mangle]
pub extern "C" fn tc_session_new(backend: *const c_char, out: *mut *mut tc_session) -> tc_status {
    guard(|| {
        check_out(out, "tc_session_new: out")?;
        unsafe { *out = ptr::null_mut() };
        let backend = if backend.is_null() {
            Backend::default()
        } else {
            Backend::parse(string(backend, "tc_session_new: backend")?)?
        };
        let session = Session::new(backend)?;
        put(out, tc_session { session });
        Ok(())
    })
}

/// Read, parse and check the program in the file `path` (UTF-8) and store it in *out.
/// TC_ERR_COMPILE with the rendered diagnostics in tc_last_error() if it does not
/// compile; TC_ERR_RUNTIME if the file cannot be read.
#[no_mangle]
pub extern "C" fn tc_compile_file(
    s: *mut tc_session,
    path: *const c_char,
    out: *mut *mut tc_module,
) -> tc_status {
    guard(|| {
        check_out(out, "tc_compile_file: out")?;
        unsafe { *out = ptr::null_mut() };
        let s = unsafe { s.as_ref() }
            .ok_or_else(|| Failure::usage("tc_compile_file: the session is NULL"))?;
        let path = string(path, "tc_compile_file: path")?;
        let module = s.session.compile_file(path)?;
        put(out, tc_module { module });
        Ok(())
    })
}

/// Parse and check the program `source`, named `name` in diagnostics (NULL is
/// "<source>"), and store it in *out. TC_ERR_COMPILE with the rendered diagnostics in
/// tc_last_error() if it does not compile.
#[no_mangle]
pub extern "C" fn tc_compile_source(
    s: *mut tc_session,
    name: *const c_char,
    source: *const c_char,
    out: *mut *mut tc_module,
) -> tc_status {
    guard(|| {
        check_out(out, "tc_compile_source: out")?;
        unsafe { *out = ptr::null_mut() };
        let s = unsafe { s.as_ref() }
            .ok_or_else(|| Failure::usage("tc_compile_source: the session is NULL"))?;
        let name = if name.is_null() {
            "<source>"
        } else {
            string(name, "tc_compile_source: name")?
        };
        let source = string(source, "tc_compile_source: source")?;
        let module = s.session.compile_source(name, source)?;
        put(out, tc_module { module });
        Ok(())
    })
}

/// A tensor of dtype `dt` and shape `shape[0..rank]` (non-negative; `shape` may be NULL
/// when rank is 0), copying `nbytes` bytes of C-order, native little-endian data from
/// `data` (NULL only when nbytes is 0). `nbytes` must be exactly the element count
/// times the dtype's size; bool bytes must be 0 or 1.
#[no_mangle]
pub extern "C" fn tc_tensor_new(
    dt: RawDType,
    shape: *const i64,
    rank: usize,
    data: *const c_void,
    nbytes: usize,
    out: *mut *mut tc_tensor,
) -> tc_status {
    guard(|| {
        check_out(out, "tc_tensor_new: out")?;
        unsafe { *out = ptr::null_mut() };
        let dtype = usize::try_from(dt)
            .ok()
            .and_then(|i| DTYPES.get(i))
            .map(|(_, d)| *d)
            .ok_or_else(|| {
                Failure::usage(format!(
                    "tc_tensor_new: unknown dtype {dt} (expected 0 to 7, TC_F64 to TC_BOOL)"
                ))
            })?;
        if rank > 0 && shape.is_null() {
            return Err(Failure::usage(format!(
                "tc_tensor_new: shape is NULL for rank {rank}"
            )));
        }
        let dims: &[i64] = if rank == 0 {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(shape, rank) }
        };
        let mut dims_usize = Vec::with_capacity(rank);
        let mut elements: usize = 1;
        for &d in dims {
            let d = usize::try_from(d).map_err(|_| {
                Failure::usage(format!(
                    "tc_tensor_new: negative dimension {d} in shape {dims:?}"
                ))
            })?;
            elements = elements.checked_mul(d).ok_or_else(|| {
                Failure::usage(format!(
                    "tc_tensor_new: shape {dims:?} has too many elements"
                ))
            })?;
            dims_usize.push(d);
        }
        let want = elements.checked_mul(dtype.size_bytes()).ok_or_else(|| {
            Failure::usage(format!(
                "tc_tensor_new: shape {dims:?} has too many elements"
            ))
        })?;
        if nbytes != want {
            return Err(Failure::usage(format!(
                "tc_tensor_new: a {dtype} tensor of shape {dims:?} has {want} bytes, nbytes is {nbytes}"
            )));
        }
        if data.is_null() && nbytes > 0 {
            return Err(Failure::usage("tc_tensor_new: data is NULL"));
        }
        let bytes: &[u8] = if nbytes == 0 {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(data.cast::<u8>(), nbytes) }
        };
        let storage = Data::from_le_bytes(dtype, bytes)
            .ok_or_else(|| Failure::usage("tc_tensor_new: a bool element is neither 0 nor 1"))?;
        let tensor = Tensor::new(dims_usize, storage)
            .map_err(|e| Failure::usage(format!("tc_tensor_new: {e}")))?;
        put(out, tc_tensor::new(tensor)?);
        Ok(())
    })
}

/// The dtype of `t` (TC_F64, with a usage error recorded, for NULL).
#[no_mangle]
pub extern "C" fn tc_tensor_dtype(t: *const tc_tensor) -> tc_dtype {
    getter(t, "tc_tensor_dtype", tc_dtype::TC_F64, |t| {
        to_c_dtype(t.tensor.dtype())
    })
}

/// The rank of `t` (0 for NULL).
#[no_mangle]
pub extern "C" fn tc_tensor_rank(t: *const tc_tensor) -> usize {
    getter(t, "tc_tensor_rank", 0, |t| t.shape.len())
}

/// The `rank` dimensions of `t`, valid while `t` lives (NULL for NULL).
#[no_mangle]
pub extern "C" fn tc_tensor_shape(t: *const tc_tensor) -> *const i64 {
    getter(t, "tc_tensor_shape", ptr::null(), |t| t.shape.as_ptr())
}

/// The C-order data of `t`, `tc_tensor_nbytes(t)` bytes, valid while `t` lives (NULL for NULL).
#[no_mangle]
pub extern "C" fn tc_tensor_data(t: *const tc_tensor) -> *const c_void {
    getter(t, "tc_tensor_data", ptr::null(), |t| {
        t.tensor.data().base_ptr() as *const c_void
    })
}

/// The size of `t`'s data in bytes (0 for NULL).
#[no_mangle]
pub extern "C" fn tc_tensor_nbytes(t: *const tc_tensor) -> usize {
    getter(t, "tc_tensor_nbytes", 0, |t| {
        t.tensor.len() * t.tensor.dtype().size_bytes()
    })
}

/// Call the function `entry` of `m` with tensors for its first `nargs` parameters (the
/// rest take their defaults; `args` may be NULL when nargs is 0). The first call with
/// new argument types compiles; later ones reuse it. On success *outs is an array of
/// *nouts tensors, the results flattened depth-first (a tuple's elements in order),
/// which the caller frees with tc_outputs_free(*outs, *nouts). The arguments stay the
/// caller's. TC_ERR_USAGE for an unknown function or too many arguments,
/// TC_ERR_RUNTIME for an argument that does not fit its parameter or a failed run.
#[no_mangle]
pub extern "C" fn tc_call(
    m: *mut tc_module,
    entry: *const c_char,
    args: *const *mut tc_tensor,
    nargs: usize,
    outs: *mut *mut *mut tc_tensor,
    nouts: *mut usize,
) -> tc_status {
    guard(|| {
        check_out(outs, "tc_call: outs")?;
        check_out(nouts, "tc_call: nouts")?;
        unsafe {
            *outs = ptr::null_mut();
            *nouts = 0;
        }
        let m =
            unsafe { m.as_ref() }.ok_or_else(|| Failure::usage("tc_call: the module is NULL"))?;
        let entry = string(entry, "tc_call: entry")?;
        if !m.module.has_function(entry) {
            let functions = m.module.functions();
            let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
            return Err(Failure::usage(format!(
                "tc_call: no function `{entry}`; the module has: {}",
                names.join(", ")
            )));
        }
        if nargs > 0 && args.is_null() {
            return Err(Failure::usage(format!(
                "tc_call: args is NULL with nargs {nargs}"
            )));
        }
        let args: &[*mut tc_tensor] = if nargs == 0 {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(args, nargs) }
        };
        let mut inputs = Vec::with_capacity(nargs);
        for (i, &a) in args.iter().enumerate() {
            let a = unsafe { a.as_ref() }
                .ok_or_else(|| Failure::usage(format!("tc_call: args[{i}] is NULL")))?;
            // Read in place: the caller's tensors are neither copied nor written.
            inputs.push(a.tensor.view());
        }
        let results = m.module.call_refs(entry, &inputs)?;
        let tensors = results
            .into_iter()
            .map(tc_tensor::new)
            .collect::<Result<Vec<_>, _>>()?;
        let n = tensors.len();
        unsafe {
            *outs = outputs_array(tensors);
            *nouts = n;
        }
        Ok(())
    })
}

/// The output array: one hidden slot before the `n` pointers the caller sees holds `n`,
/// so that tc_outputs_free frees what was allocated whatever count it is given.
fn outputs_array(tensors: Vec<tc_tensor>) -> *mut *mut tc_tensor {
    let n = tensors.len();
    let mut slots: Vec<*mut tc_tensor> = Vec::with_capacity(n + 1);
    slots.push(ptr::without_provenance_mut(n));
    slots.extend(tensors.into_iter().map(|t| Box::into_raw(Box::new(t))));
    let slots = Box::into_raw(slots.into_boxed_slice()) as *mut *mut tc_tensor;
    unsafe { slots.add(1) }
}

/// Free the array of results of tc_call and every tensor in it; `n` must be the count
/// tc_call gave (a different one is recorded as a usage error, and the array is freed
/// as allocated). A tensor the caller already freed with tc_tensor_free must have its
/// slot set to NULL. NULL is ignored.
#[no_mangle]
pub extern "C" fn tc_outputs_free(outs: *mut *mut tc_tensor, n: usize) {
    if outs.is_null() {
        return;
    }
    guard(|| {
        let base = unsafe { outs.sub(1) };
        let count = unsafe { *base }.addr();
        let slots = unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(base, count + 1)) };
        for &t in &slots[1..] {
            if !t.is_null() {
                drop(unsafe { Box::from_raw(t) });
            }
        }
        if n != count {
            return Err(Failure::usage(format!(
                "tc_outputs_free: n is {n}, but tc_call gave {count} outputs"
            )));
        }
        Ok(())
    });
}

/// Free a tensor made by tc_tensor_new (or taken out of a results array, whose slot is
/// then set to NULL). NULL is ignored.
#[no_mangle]
pub extern "C" fn tc_tensor_free(t: *mut tc_tensor) {
    if !t.is_null() {
        guard(|| {
            drop(unsafe { Box::from_raw(t) });
            Ok(())
        });
    }
}

/// Free a module; no call on it may be running. NULL is ignored.
#[no_mangle]
pub extern "C" fn tc_module_free(m: *mut tc_module) {
    if !m.is_null() {
        guard(|| {
            drop(unsafe { Box::from_raw(m) });
            Ok(())
        });
    }
}

/// Free a session; modules compiled by it stay valid. NULL is ignored.
#[no_mangle]
pub extern "C" fn tc_session_free(s: *mut tc_session) {
    if !s.is_null() {
        guard(|| {
            drop(unsafe { Box::from_raw(s) });
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests;
