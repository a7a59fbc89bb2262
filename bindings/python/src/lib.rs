//! The Python package `tensorc` (PyO3, built by maturin): compile `.tc` programs and call
//! their functions on NumPy arrays.
//!
//! Arguments are NumPy arrays (other array-likes go through `numpy.asarray`), Python
//! scalars and tuples; results are arrays, tuples for tuple results. A Python `bool`,
//! `int` or `float` passed to a parameter annotated with a scalar type takes that dtype;
//! to an unannotated parameter it is a weak scalar (as `NAME=NUMBER` on the command
//! line): it takes the dtype of the tensors it meets, defaulting to `bool`, `i32` and
//! `f32`. C-contiguous arrays are read straight from their buffer; other layouts are
//! gathered in C order. The GIL is released while a function compiles and runs.

use std::sync::Arc;

use numpy::{
    Element, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString, PyTuple};

use half::{bf16, f16};
use tensorc::{ArgValue, Backend, DType, Data, OutTree, ParamInfo, Session, Tensor, Type};

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
    Ok(Module {
        inner: Arc::new(module),
    })
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
    Ok(Module {
        inner: Arc::new(module),
    })
}

/// A compiled program: its functions are attributes (`m.predict(p, x)`), or called by
/// name with `m.call("predict", p=p, x=x)`.
#[pyclass(frozen, module = "tensorc")]
struct Module {
    inner: Arc<tensorc::Module>,
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
        call(py, &self.inner, name, args, kwargs)
    }

    /// The names of the program's functions, in source order.
    fn functions(&self) -> Vec<String> {
        self.inner.functions().into_iter().map(|f| f.name).collect()
    }

    /// How many specialisations have been compiled (one per function and argument types).
    fn compile_count(&self) -> usize {
        self.inner.compile_count()
    }

    fn __getattr__(&self, name: &str) -> PyResult<Function> {
        if self.inner.functions().iter().any(|f| f.name == name) {
            Ok(Function {
                module: Arc::clone(&self.inner),
                name: name.to_string(),
            })
        } else {
            Err(pyo3::exceptions::PyAttributeError::new_err(format!(
                "the module has no function `{name}`"
            )))
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

/// One function of a module, callable like a Python function.
#[pyclass(frozen, module = "tensorc")]
struct Function {
    module: Arc<tensorc::Module>,
    name: String,
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
        call(py, &self.module, &self.name, args, kwargs)
    }

    #[getter]
    fn __name__(&self) -> &str {
        &self.name
    }

    fn __repr__(&self) -> String {
        format!("<tensorc function {}>", self.name)
    }
}

/// One argument converted: its type for specialisation and its tensors, depth-first.
struct Arg {
    ty: ArgValue,
    leaves: Vec<Tensor>,
}

fn call(
    py: Python<'_>,
    module: &Arc<tensorc::Module>,
    name: &str,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Py<PyAny>> {
    let info = module.function(name).map_err(|e| py_error(py, e))?;
    if args.len() > info.params.len() {
        return Err(Error::new_err(format!(
            "`{name}` takes {} arguments, got {} positional",
            info.params.len(),
            args.len()
        )));
    }
    let mut named: Vec<(String, Bound<'_, PyAny>)> = info
        .params
        .iter()
        .zip(args.iter())
        .map(|(p, a)| (p.name.clone(), a))
        .collect();
    if let Some(kwargs) = kwargs {
        for (key, value) in kwargs.iter() {
            named.push((key.cast::<PyString>()?.to_str()?.to_string(), value));
        }
    }
    let bound = module.bind(name, named).map_err(|e| py_error(py, e))?;
    let mut types = Vec::with_capacity(bound.len());
    let mut inputs = Vec::new();
    for (param, value) in info.params.iter().zip(&bound) {
        match value {
            None => types.push(None),
            Some(value) => {
                let arg = convert(value, param, true).map_err(|message| {
                    Error::new_err(format!("argument `{}`: {message}", param.name))
                })?;
                types.push(Some(arg.ty));
                inputs.extend(arg.leaves);
            }
        }
    }
    let module = Arc::clone(module);
    let name = name.to_string();
    let (outputs, tree) = py
        .detach(move || -> Result<_, tensorc::Error> {
            let compiled = module.compile(&name, &types)?;
            let outputs = module.run(&compiled, &inputs)?;
            Ok((outputs, compiled.outputs.clone()))
        })
        .map_err(|e| py_error(py, e))?;
    let mut outputs = outputs.into_iter();
    let result = to_python(py, &tree, &mut outputs)?;
    if outputs.next().is_some() {
        return Err(Error::new_err(
            "the function gave more results than its type says",
        ));
    }
    Ok(result)
}

/// The dtype of a scalar annotation (`f16`, `i32[]`), if `param` has one.
fn scalar_annotation(param: &ParamInfo) -> Option<DType> {
    let annotation = param.annotation.as_deref()?.trim();
    DType::from_name(annotation.strip_suffix("[]").unwrap_or(annotation).trim())
}

/// Convert one Python value for `param`; `top` is false inside a tuple.
fn convert(value: &Bound<'_, PyAny>, param: &ParamInfo, top: bool) -> Result<Arg, String> {
    if let Ok(tuple) = value.cast::<PyTuple>() {
        let mut types = Vec::with_capacity(tuple.len());
        let mut leaves = Vec::new();
        for item in tuple.iter() {
            let arg = convert(&item, param, false)?;
            types.push(arg.ty);
            leaves.extend(arg.leaves);
        }
        return Ok(Arg {
            ty: ArgValue::Tuple(types),
            leaves,
        });
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
        let tensor = scalar(value, dtype)?;
        // A number is a weak scalar unless its parameter is annotated (inside a tuple
        // there is no annotation of its own).
        let weak = annotated.is_none() && (!top || param.annotation.is_none());
        let ty = if weak {
            ArgValue::WeakScalar(dtype)
        } else {
            ArgValue::Tensor(Type::new(dtype, Vec::new()))
        };
        return Ok(Arg {
            ty,
            leaves: vec![tensor],
        });
    }
    let tensor = array_tensor(value)?;
    Ok(Arg {
        ty: ArgValue::Tensor(Type::new(tensor.dtype(), tensor.shape().to_vec())),
        leaves: vec![tensor],
    })
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

/// The tensor of a NumPy array (anything else goes through `numpy.asarray`).
fn array_tensor(value: &Bound<'_, PyAny>) -> Result<Tensor, String> {
    let py = value.py();
    let array = match value.cast::<PyUntypedArray>() {
        Ok(array) => array.clone(),
        Err(_) => {
            let numpy = py.import("numpy").map_err(|e| e.to_string())?;
            let converted = numpy
                .call_method1("asarray", (value,))
                .map_err(|e| format!("not an array, tuple or number: {e}"))?;
            converted
                .cast_into::<PyUntypedArray>()
                .map_err(|e| e.to_string())?
        }
    };
    let descr = array.dtype();
    if descr
        .typeobj()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default()
        == "bfloat16"
    {
        // ml_dtypes' bfloat16: read its bits as uint16.
        let numpy = py.import("numpy").map_err(|e| e.to_string())?;
        let bits = array
            .call_method1(
                "view",
                (numpy.getattr("uint16").map_err(|e| e.to_string())?,),
            )
            .map_err(|e| e.to_string())?;
        let bits = bits
            .cast_into::<PyArrayDyn<u16>>()
            .map_err(|e| e.to_string())?;
        let (shape, values) = elements(&bits.readonly());
        return Tensor::new(
            shape,
            Data::BF16(values.into_iter().map(bf16::from_bits).collect()),
        )
        .map_err(|e| e.to_string());
    }
    macro_rules! try_dtype {
        ($($t:ty),*) => {$(
            if let Ok(typed) = array.cast::<PyArrayDyn<$t>>() {
                let (shape, values) = elements(&typed.readonly());
                return Tensor::from_vec(shape, values).map_err(|e| e.to_string());
            }
        )*};
    }
    try_dtype!(f64, f32, f16, i64, i32, u8, bool);
    Err(format!(
        "NumPy dtype {descr} is not a tensorc dtype (f64, f32, f16, bf16, i64, i32, u8, bool)"
    ))
}

/// The shape and C-order elements of an array: one copy from a C-contiguous buffer,
/// otherwise gathered in C order.
fn elements<T: Element + Copy>(array: &PyReadonlyArrayDyn<'_, T>) -> (Vec<usize>, Vec<T>) {
    let shape = array.shape().to_vec();
    // `as_slice` also accepts Fortran order, whose buffer is not in C order.
    let values = match array.as_slice() {
        Ok(slice) if array.is_c_contiguous() => slice.to_vec(),
        _ => array.as_array().iter().copied().collect(),
    };
    (shape, values)
}

/// The Python value of a result: arrays, nested in tuples as `tree` says.
fn to_python(
    py: Python<'_>,
    tree: &OutTree,
    outputs: &mut impl Iterator<Item = Tensor>,
) -> PyResult<Py<PyAny>> {
    match tree {
        OutTree::Tensor => {
            let tensor = outputs.next().ok_or_else(|| {
                Error::new_err("the function gave fewer results than its type says")
            })?;
            to_numpy(py, tensor)
        }
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
        Ok(numpy::PyArray1::from_vec(py, values)
            .reshape(shape)?
            .into_any()
            .unbind())
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
