//! The Python package `tensorc` (PyO3, built by maturin): compile `.tc` programs and call
//! their functions on NumPy arrays.
//!
//! Arguments are NumPy arrays (other array-likes go through `numpy.asarray`), Python
//! scalars and tuples; results are arrays, tuples for tuple results. A Python `bool`,
//! `int` or `float` passed to a parameter annotated with a scalar type takes that dtype;
//! to an unannotated parameter it is a weak scalar (as `NAME=NUMBER` on the command
//! line): it takes the dtype of the tensors it meets, defaulting to `bool`, `i32` and
//! `f32`.
//!
//! An array that is C-contiguous, aligned and in native byte order is not copied: the
//! call borrows its buffer ([`tensorc::TensorRef`], [`tensorc::Module::run_lent`]) and
//! holds a reference to the array until the call returns, and the CPU backend's code
//! reads it in place. Other layouts are first made C-contiguous by NumPy (one copy).
//! The GIL is released while a function compiles and runs. Results are arrays that own
//! the result's memory (no copy).
//!
//! `f.donating("params")` is `f` giving up the arguments of the named parameters, as a
//! training step gives up its old parameters: each of their arrays that is writable,
//! read in place and shares no memory with another argument is lent to the call
//! ([`tensorc::TensorMut`], [`tensorc::Module::run_lent`]), the result paired with it
//! (the first of its type, `tc_ir::donate`) is written into it, and the call returns
//! that same array object. A step then reuses two sets of buffers instead of
//! allocating and faulting in new ones at every call.
//!
//! A call does little besides running the compiled code: each function's parameter list
//! is looked up once (functions are attribute objects kept by their module), the last
//! specialisation a function ran is remembered beside it (the module's cache is asked
//! only when the argument types change), and arrays are recognised from their dtype's
//! kind and size without conversions.

use std::sync::{Arc, Mutex};

use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{Element, PyArray, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString, PyTuple};

use half::{bf16, f16};
use tensorc::{
    Arg, ArgValue, Backend, Compiled, DType, Data, DataRef, FnInfo, OutTree, ParamInfo, Returned,
    Session, Tensor, TensorMut, TensorRef, Type,
};

create_exception!(tensorc, Error, PyException, "A failure of tensorc other than a compile error: a bad argument, an unknown function or backend, a failed run.");
create_exception!(
    tensorc,
    CompileError,
    Error,
    "The program does not compile: `diagnostics` is the rendered diagnostics (str), `codes` their codes (list of str, e.g. ['E0101'])."
);

/// The Python exception for a tensorc error.
fn py_error(py: Python<'_>, error: tensorc::Error) -> PyErr {
    match error {
        tensorc::Error::Compile(diagnostics) => {
            let text = diagnostics.render(false);
            let codes: Vec<&str> = diagnostics.diagnostics.iter().map(|d| d.code).collect();
            let err = CompileError::new_err(text.trim_end().to_string());
            let value = err.value(py);
            // Setting attributes on a fresh exception instance does not fail.
            let _ = value.setattr("diagnostics", text);
            let _ = value.setattr("codes", codes);
            err
        }
        other => Error::new_err(other.to_string()),
    }
}

fn backend(name: &str) -> PyResult<Backend> {
    Backend::parse(name).map_err(|e| Error::new_err(e.to_string()))
}

/// Compile `source` (shown in diagnostics as `name`) for `backend`.
#[pyfunction]
#[pyo3(signature = (source, backend = "cpu", name = "<source>"))]
fn compile(py: Python<'_>, source: &str, backend: &str, name: &str) -> PyResult<Module> {
    let backend = self::backend(backend)?;
    let session = Session::new(backend).map_err(|e| py_error(py, e))?;
    let source = source.to_string();
    let name = name.to_string();
    let module = py
        .detach(move || session.compile_source(name, source))
        .map_err(|e| py_error(py, e))?;
    Module::new(py, module)
}

/// Compile the program in the file `path` (and the modules it uses) for `backend`.
#[pyfunction]
#[pyo3(signature = (path, backend = "cpu"))]
fn compile_file(py: Python<'_>, path: std::path::PathBuf, backend: &str) -> PyResult<Module> {
    let backend = self::backend(backend)?;
    let session = Session::new(backend).map_err(|e| py_error(py, e))?;
    let module = py
        .detach(move || session.compile_file(path))
        .map_err(|e| py_error(py, e))?;
    Module::new(py, module)
}

/// A compiled program: its functions are attributes (`m.predict(p, x)`), or called by
/// name with `m.call("predict", p=p, x=x)`.
#[pyclass(frozen, module = "tensorc")]
struct Module {
    inner: Arc<tensorc::Module>,
    /// One object per function of the root file, in source order.
    functions: Vec<Py<Function>>,
}

impl Module {
    fn new(py: Python<'_>, module: tensorc::Module) -> PyResult<Module> {
        let inner = Arc::new(module);
        let functions = inner
            .functions()
            .into_iter()
            .map(|info| {
                Py::new(
                    py,
                    Function {
                        module: Arc::clone(&inner),
                        info,
                        donate: Vec::new(),
                        last: Mutex::new(None),
                    },
                )
            })
            .collect::<PyResult<_>>()?;
        Ok(Module { inner, functions })
    }

    fn find(&self, name: &str) -> Option<&Py<Function>> {
        self.functions.iter().find(|f| f.get().info.name == name)
    }
}

#[pymethods]
impl Module {
    /// Call the function `name` with positional and keyword arguments.
    #[pyo3(signature = (name, *args, **kwargs))]
    fn call(
        &self,
        py: Python<'_>,
        name: &str,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        match self.find(name) {
            Some(function) => function.get().call(py, args, kwargs),
            // The checker's error for an unknown function (E0102, with suggestions).
            None => Err(match self.inner.function(name) {
                Err(e) => py_error(py, e),
                Ok(_) => Error::new_err(format!("no function `{name}`")),
            }),
        }
    }

    /// The names of the program's functions, in source order.
    fn functions(&self) -> Vec<String> {
        self.functions
            .iter()
            .map(|f| f.get().info.name.clone())
            .collect()
    }

    /// How many specialisations have been compiled (one per function and argument types).
    fn compile_count(&self) -> usize {
        self.inner.compile_count()
    }

    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<Function>> {
        match self.find(name) {
            Some(function) => Ok(function.clone_ref(py)),
            None => Err(pyo3::exceptions::PyAttributeError::new_err(format!(
                "the module has no function `{name}`"
            ))),
        }
    }

    fn __dir__(&self) -> Vec<String> {
        let mut names = self.functions();
        names.extend(["call", "functions", "compile_count"].map(String::from));
        names
    }

    fn __repr__(&self) -> String {
        format!(
            "<tensorc.Module with functions {}>",
            self.functions().join(", ")
        )
    }
}

/// The types of a call's arguments (one per parameter, `None` for a default) and the
/// program compiled for them.
type Specialised = (Vec<Option<ArgValue>>, Arc<Compiled>);

/// One function of a module, callable like a Python function.
#[pyclass(frozen, module = "tensorc")]
struct Function {
    module: Arc<tensorc::Module>,
    info: FnInfo,
    /// The parameters (indices into `info.params`) whose arguments are donated.
    donate: Vec<usize>,
    /// The specialisation of the last call: a call with the same argument types runs it
    /// without asking the module's cache.
    last: Mutex<Option<Specialised>>,
}

#[pymethods]
impl Function {
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, args, kwargs)
    }

    #[getter]
    fn __name__(&self) -> &str {
        &self.info.name
    }

    /// This function giving up the arguments of the parameters `names`: their arrays
    /// may be overwritten by the results paired with them, which are then returned as
    /// those same arrays.
    #[pyo3(signature = (*names))]
    fn donating(&self, names: Vec<String>) -> PyResult<Function> {
        let donate = names
            .iter()
            .map(|name| {
                self.info.params.iter().position(|p| &p.name == name).ok_or_else(|| {
                    Error::new_err(format!("`{}` has no parameter `{name}`", self.info.name))
                })
            })
            .collect::<PyResult<Vec<usize>>>()?;
        Ok(Function {
            module: Arc::clone(&self.module),
            info: self.info.clone(),
            donate,
            last: Mutex::new(None),
        })
    }

    fn __repr__(&self) -> String {
        if self.donate.is_empty() {
            return format!("<tensorc function {}>", self.info.name);
        }
        let names: Vec<&str> = self.donate.iter().map(|&p| self.info.params[p].name.as_str()).collect();
        format!("<tensorc function {} donating {}>", self.info.name, names.join(", "))
    }
}

/// Where one flat input's elements are: a NumPy array read in place (kept alive by
/// this reference for the whole call), or a tensor made for the call (a Python number).
enum Source<'py> {
    Array(Bound<'py, PyUntypedArray>, DType),
    Owned(Tensor),
}

impl Source<'_> {
    fn view(&self) -> TensorRef<'_> {
        match self {
            Source::Array(array, dtype) => borrow(array, *dtype),
            Source::Owned(tensor) => tensor.view(),
        }
    }
}

impl Function {
    fn call(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let info = &self.info;
        let name = info.name.as_str();
        if args.len() > info.params.len() {
            return Err(Error::new_err(format!(
                "`{name}` takes {} arguments, got {} positional",
                info.params.len(),
                args.len()
            )));
        }
        let keywords = kwargs.filter(|k| !k.is_empty());
        // One value per parameter: positionally when all are given that way, else bound
        // by name (which reports unknown, repeated and missing arguments).
        let bound: Vec<Option<Bound<'_, PyAny>>> =
            if keywords.is_none() && args.len() == info.params.len() {
                args.iter().map(Some).collect()
            } else {
                let mut named: Vec<(String, Bound<'_, PyAny>)> = info
                    .params
                    .iter()
                    .zip(args.iter())
                    .map(|(p, a)| (p.name.clone(), a))
                    .collect();
                if let Some(kwargs) = keywords {
                    for (key, value) in kwargs.iter() {
                        named.push((key.cast::<PyString>()?.to_str()?.to_string(), value));
                    }
                }
                self.module.bind(name, named).map_err(|e| py_error(py, e))?
            };
        let mut types = Vec::with_capacity(bound.len());
        let mut sources = Vec::with_capacity(bound.len());
        // The flat inputs of the donated parameters.
        let mut donated = Vec::new();
        for (index, (param, value)) in info.params.iter().zip(&bound).enumerate() {
            match value {
                None => types.push(None),
                Some(value) => {
                    let first = sources.len();
                    let ty = convert(value, param, true, &mut sources).map_err(|message| {
                        Error::new_err(format!("argument `{}`: {message}", param.name))
                    })?;
                    types.push(Some(ty));
                    if self.donate.contains(&index) {
                        donated.extend(first..sources.len());
                    }
                }
            }
        }
        let cached = {
            let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            last.as_ref()
                .filter(|(t, _)| *t == types)
                .map(|(_, c)| Arc::clone(c))
        };
        let module = &self.module;
        let hit = cached.is_some();
        let lent = lendable(&sources, &donated);
        let mut args: Vec<Arg<'_>> = sources
            .iter()
            .zip(&lent)
            .map(|(source, &lend)| match source {
                Source::Array(array, dtype) if lend => Arg::Lent(lend_array(array, *dtype)),
                _ => Arg::Read(source.view()),
            })
            .collect();
        let (outputs, compiled) = py
            .detach(|| -> Result<_, tensorc::Error> {
                let compiled = match cached {
                    Some(compiled) => compiled,
                    None if donated.is_empty() => module.compile(name, &types)?,
                    None => module.compile_donating(name, &types, &donated)?,
                };
                // Without donation every argument is `Arg::Read`: run_lent reads them all.
                let outputs = module.run_lent(&compiled, &mut args)?;
                Ok((outputs, compiled))
            })
            .map_err(|e| py_error(py, e))?;
        drop(args);
        let leaves = outputs
            .into_iter()
            .map(|output| match output {
                Returned::Tensor(tensor) => to_numpy(py, tensor),
                Returned::InLent(i) => match sources.get(i) {
                    Some(Source::Array(array, _)) => Ok(array.clone().into_any().unbind()),
                    _ => Err(Error::new_err("a result was written into an argument that was not lent")),
                },
            })
            .collect::<PyResult<Vec<_>>>()?;
        drop(sources);
        let mut outputs = leaves.into_iter();
        let result = to_python(py, &compiled.outputs, &mut outputs)?;
        if outputs.next().is_some() {
            return Err(Error::new_err(
                "the function gave more results than its type says",
            ));
        }
        if !hit {
            *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((types, compiled));
        }
        Ok(result)
    }
}

/// The dtype of a scalar annotation (`f16`, `i32[]`), if `param` has one.
fn scalar_annotation(param: &ParamInfo) -> Option<DType> {
    let annotation = param.annotation.as_deref()?.trim();
    DType::from_name(annotation.strip_suffix("[]").unwrap_or(annotation).trim())
}

/// Convert one Python value for `param` (`top` is false inside a tuple): its type for
/// specialisation, its flat inputs appended to `sources` depth-first.
fn convert<'py>(
    value: &Bound<'py, PyAny>,
    param: &ParamInfo,
    top: bool,
    sources: &mut Vec<Source<'py>>,
) -> Result<ArgValue, String> {
    if let Ok(array) = value.cast::<PyUntypedArray>() {
        return array_source(array.clone(), sources);
    }
    if let Ok(tuple) = value.cast::<PyTuple>() {
        let types = tuple
            .iter()
            .map(|item| convert(&item, param, false, sources))
            .collect::<Result<_, _>>()?;
        return Ok(ArgValue::Tuple(types));
    }
    let is_scalar = value.is_instance_of::<PyBool>()
        || value.is_instance_of::<PyInt>()
        || value.is_instance_of::<PyFloat>();
    if is_scalar {
        let annotated = if top { scalar_annotation(param) } else { None };
        let dtype = annotated.unwrap_or(if value.is_instance_of::<PyBool>() {
            DType::Bool
        } else if value.is_instance_of::<PyInt>() {
            DType::I32
        } else {
            DType::F32
        });
        sources.push(Source::Owned(scalar(value, dtype)?));
        // A number is a weak scalar unless its parameter is annotated (inside a tuple
        // there is no annotation of its own).
        let weak = annotated.is_none() && (!top || param.annotation.is_none());
        return Ok(if weak {
            ArgValue::WeakScalar(dtype)
        } else {
            ArgValue::Tensor(Type::new(dtype, Vec::new()))
        });
    }
    let numpy = value.py().import("numpy").map_err(|e| e.to_string())?;
    let converted = numpy
        .call_method1("asarray", (value,))
        .map_err(|e| format!("not an array, tuple or number: {e}"))?
        .cast_into::<PyUntypedArray>()
        .map_err(|e| e.to_string())?;
    array_source(converted, sources)
}

/// A rank-0 tensor of `dtype` holding the Python number `value`.
fn scalar(value: &Bound<'_, PyAny>, dtype: DType) -> Result<Tensor, String> {
    let data = match dtype {
        DType::Bool => {
            if !value.is_instance_of::<PyBool>() {
                return Err(format!("expected bool, got {value}"));
            }
            Data::Bool(vec![value.is_truthy().map_err(|e| e.to_string())?])
        }
        d if d.is_float() => {
            Data::from_f64(d, &[value.extract::<f64>().map_err(|e| e.to_string())?])
        }
        d => {
            if value.is_instance_of::<PyFloat>() {
                return Err(format!("expected {d}, got the float {value}"));
            }
            let v: i64 = value
                .extract()
                .map_err(|_| format!("{value} is out of range for {d}"))?;
            if d.int_range().is_some_and(|r| !r.contains(&v)) {
                return Err(format!("{v} is out of range for {d}"));
            }
            Data::from_i64(d, &[v])
        }
    };
    Tensor::new(Vec::new(), data).map_err(|e| e.to_string())
}

/// The tensorc dtype of a NumPy dtype: from its kind and size, and ml_dtypes' bfloat16
/// by name.
fn dtype_of(descr: &Bound<'_, numpy::PyArrayDescr>) -> Result<DType, String> {
    Ok(match (descr.kind(), descr.itemsize()) {
        (b'f', 8) => DType::F64,
        (b'f', 4) => DType::F32,
        (b'f', 2) => DType::F16,
        (b'i', 8) => DType::I64,
        (b'i', 4) => DType::I32,
        (b'u', 1) => DType::U8,
        (b'b', 1) => DType::Bool,
        (_, 2) if descr.typeobj().name().is_ok_and(|n| n == "bfloat16") => DType::BF16,
        _ => return Err(format!(
            "NumPy dtype {descr} is not a tensorc dtype (f64, f32, f16, bf16, i64, i32, u8, bool)"
        )),
    })
}

/// The address of an array's first element.
fn data_ptr(array: &Bound<'_, PyUntypedArray>) -> *const u8 {
    // SAFETY: a live array object; the pointer is read from its struct, not dereferenced.
    unsafe { (*numpy::npyffi::_PyArray_GET_ITEM_DATA(array.as_array_ptr())).data as *const u8 }
}

/// Whether compiled code can read the array's buffer as it is: C order without gaps,
/// every element aligned, native byte order.
fn readable_in_place(array: &Bound<'_, PyUntypedArray>, dtype: DType) -> bool {
    if !(array.is_c_contiguous() && array.is_aligned()) {
        return false;
    }
    if array.dtype().is_native_byteorder() == Some(false) {
        return false;
    }
    let data = data_ptr(array) as usize;
    data.is_multiple_of(dtype.size_bytes())
}

/// The input of one array: the array itself when its buffer can be read in place,
/// otherwise a C-contiguous native copy made by NumPy.
fn array_source<'py>(
    array: Bound<'py, PyUntypedArray>,
    sources: &mut Vec<Source<'py>>,
) -> Result<ArgValue, String> {
    let descr = array.dtype();
    let dtype = dtype_of(&descr)?;
    let array = if readable_in_place(&array, dtype) {
        array
    } else {
        let native = if descr.is_native_byteorder() == Some(false) {
            descr
                .call_method1("newbyteorder", ("=",))
                .map_err(|e| e.to_string())?
        } else {
            descr.into_any()
        };
        let order = PyDict::new(array.py());
        order.set_item("order", "C").map_err(|e| e.to_string())?;
        let copy = array
            .call_method("astype", (native,), Some(&order))
            .map_err(|e| e.to_string())?;
        copy.cast_into::<PyUntypedArray>()
            .map_err(|e| e.to_string())?
    };
    if dtype == DType::Bool {
        // A NumPy bool should be a byte 0 or 1; any other byte (a view of other data)
        // would not be a valid `bool`.
        // SAFETY: a C-contiguous array of one-byte elements, alive while it is borrowed.
        let bytes = unsafe { elements::<u8>(&array) };
        if bytes.iter().any(|&b| b > 1) {
            return Err("a bool array holds a byte other than 0 or 1".into());
        }
    }
    let ty = ArgValue::Tensor(Type::new(dtype, array.shape().to_vec()));
    sources.push(Source::Array(array, dtype));
    Ok(ty)
}

/// Which flat inputs are lent to the call: the donated ones that are arrays read in
/// place, writable, not empty, and sharing no byte with any other input (an array
/// passed twice, or a view of another argument, is only read).
fn lendable(sources: &[Source<'_>], donated: &[usize]) -> Vec<bool> {
    let span = |source: &Source<'_>| match source {
        Source::Array(array, dtype) => {
            let start = data_ptr(array) as usize;
            Some((start, start + array.len() * dtype.size_bytes()))
        }
        Source::Owned(_) => None,
    };
    (0..sources.len())
        .map(|i| {
            let Source::Array(array, _) = &sources[i] else { return false };
            let writable = unsafe {
                // SAFETY: a live array object; only its flags are read.
                (*numpy::npyffi::_PyArray_GET_ITEM_DATA(array.as_array_ptr())).flags
                    & numpy::npyffi::NPY_ARRAY_WRITEABLE
                    != 0
            };
            let Some((start, end)) = span(&sources[i]) else { return false };
            donated.contains(&i)
                && writable
                && start < end
                && sources.iter().enumerate().all(|(j, other)| {
                    j == i || span(other).is_none_or(|(s, e)| e <= start || end <= s)
                })
        })
        .collect()
}

/// A lendable array ([`lendable`]) as a tensor the call may overwrite.
fn lend_array<'a>(array: &'a Bound<'_, PyUntypedArray>, dtype: DType) -> TensorMut<'a> {
    // SAFETY: `array_source` kept only arrays that are C-contiguous, aligned, in native
    // byte order and of `dtype`'s element size, and checked bool bytes; `lendable` only
    // writable ones that no other input overlaps; the `Source` holding the array
    // outlives the call.
    unsafe { TensorMut::from_raw_parts(array.shape(), dtype, data_ptr(array).cast_mut(), array.len()) }
        .expect("an array's length is the product of its shape")
}

/// The elements of an array that [`readable_in_place`] accepted, borrowed for as long as
/// the array reference is.
///
/// # Safety
/// `T` has the array's element size and every bit pattern of that size is a valid `T`
/// (for `bool`: every byte was checked to be 0 or 1); the array is C-contiguous,
/// aligned for `T`, and nothing resizes or frees its buffer while the slice lives (the
/// reference keeps the array alive, and NumPy refuses to resize an array with other
/// references).
unsafe fn elements<'a, T>(array: &'a Bound<'_, PyUntypedArray>) -> &'a [T] {
    let n = array.len();
    if n == 0 {
        return &[];
    }
    // SAFETY: see the function's contract; `len` is the product of the shape.
    unsafe { std::slice::from_raw_parts(data_ptr(array) as *const T, n) }
}

/// The array as a borrowed tensor of `dtype` (an array [`array_source`] kept).
fn borrow<'a>(array: &'a Bound<'_, PyUntypedArray>, dtype: DType) -> TensorRef<'a> {
    // SAFETY: `array_source` kept only arrays that are C-contiguous, aligned, in native
    // byte order and of `dtype`'s element size, and checked bool bytes; the `Source`
    // holding the array outlives the call that reads the slice.
    let data = unsafe {
        match dtype {
            DType::F64 => DataRef::F64(elements(array)),
            DType::F32 => DataRef::F32(elements(array)),
            DType::F16 => DataRef::F16(elements::<f16>(array)),
            DType::BF16 => DataRef::BF16(elements::<bf16>(array)),
            DType::I64 => DataRef::I64(elements(array)),
            DType::I32 => DataRef::I32(elements(array)),
            DType::U8 => DataRef::U8(elements(array)),
            DType::Bool => DataRef::Bool(elements(array)),
        }
    };
    TensorRef::new(array.shape(), data).expect("an array's length is the product of its shape")
}

/// The Python value of a result: its arrays, nested in tuples as `tree` says.
fn to_python(
    py: Python<'_>,
    tree: &OutTree,
    outputs: &mut impl Iterator<Item = Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    match tree {
        OutTree::Tensor => outputs.next().ok_or_else(|| {
            Error::new_err("the function gave fewer results than its type says")
        }),
        OutTree::Tuple(elems) => {
            let items = elems
                .iter()
                .map(|e| to_python(py, e, outputs))
                .collect::<PyResult<Vec<_>>>()?;
            Ok(PyTuple::new(py, items)?.into_any().unbind())
        }
    }
}

/// A NumPy array owning the tensor's storage (no copy; bf16 becomes ml_dtypes' bfloat16).
fn to_numpy(py: Python<'_>, tensor: Tensor) -> PyResult<Py<PyAny>> {
    let shape = tensor.shape().to_vec();
    fn shaped<T: Element>(
        py: Python<'_>,
        values: Vec<T>,
        shape: Vec<usize>,
    ) -> PyResult<Py<PyAny>> {
        let array = ArrayD::from_shape_vec(IxDyn(&shape), values)
            .map_err(|e| Error::new_err(e.to_string()))?;
        Ok(PyArray::from_owned_array(py, array).into_any().unbind())
    }
    match tensor.into_data() {
        Data::F64(v) => shaped(py, v, shape),
        Data::F32(v) => shaped(py, v, shape),
        Data::F16(v) => shaped(py, v, shape),
        Data::I64(v) => shaped(py, v, shape),
        Data::I32(v) => shaped(py, v, shape),
        Data::U8(v) => shaped(py, v, shape),
        Data::Bool(v) => shaped(py, v, shape),
        Data::BF16(v) => {
            let bfloat16 = py
                .import("ml_dtypes")
                .and_then(|m| m.getattr("bfloat16"))
                .map_err(|_| {
                    Error::new_err(
                        "a bf16 result needs the package ml_dtypes (pip install ml_dtypes)",
                    )
                })?;
            let bits = shaped(
                py,
                v.into_iter().map(bf16::to_bits).collect::<Vec<u16>>(),
                shape,
            )?;
            Ok(bits.bind(py).call_method1("view", (bfloat16,))?.unbind())
        }
    }
}

/// The module `tensorc`.
#[pymodule]
#[pyo3(name = "tensorc")]
fn tensorc_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(compile, m)?)?;
    m.add_function(wrap_pyfunction!(compile_file, m)?)?;
    m.add_class::<Module>()?;
    m.add_class::<Function>()?;
    m.add("Error", m.py().get_type::<Error>())?;
    m.add("CompileError", m.py().get_type::<CompileError>())?;
    m.add(
        "backends",
        Backend::available()
            .iter()
            .map(|b| b.name())
            .collect::<Vec<_>>(),
    )?;
    Ok(())
}
