//! Source text and tensors from and to files: `.tc` sources, `.npy` and safetensors
//! (SPEC §10). Every tensor input is validated by `tc_tensor` before it can reach
//! compiled code.

use std::path::Path;

use tc_tensor::Tensor;

use crate::Error;

/// The bytes of `path`; a runtime error, not an allocation that aborts the process,
/// for a file larger than the memory available.
fn read(path: &Path) -> Result<Vec<u8>, Error> {
    let io = |error| Error::Io { path: path.to_path_buf(), error };
    let len = std::fs::metadata(path).map_err(io)?.len();
    crate::memory::check_memory(&path.display().to_string(), u128::from(len))?;
    std::fs::read(path).map_err(io)
}

/// The text of a source file. Bytes that are not UTF-8 become U+FFFD, which the parser
/// reports (E0002) at the line and column of the first of them: a compile error with
/// a location, like any other problem of the text, rather than a failure to read it.
pub fn read_source(path: impl AsRef<Path>) -> Result<String, Error> {
    let path = path.as_ref();
    let bytes = read(path)?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|error| Error::Io { path: path.to_path_buf(), error })
}

fn format_error(path: &Path, error: impl std::fmt::Display) -> Error {
    Error::Runtime(format!("{}: {error}", path.display()))
}

/// Read a `.npy` file (versions 1.0 to 3.0, little-endian, C order).
pub fn load_npy(path: impl AsRef<Path>) -> Result<Tensor, Error> {
    let path = path.as_ref();
    tc_tensor::read_npy(&read(path)?).map_err(|e| format_error(path, e))
}

/// Write `tensor` as a `.npy` file.
pub fn save_npy(path: impl AsRef<Path>, tensor: &Tensor) -> Result<(), Error> {
    let path = path.as_ref();
    let bytes = tc_tensor::write_npy(tensor).map_err(|e| format_error(path, e))?;
    write(path, &bytes)
}

/// Write results as `dir/0.npy`, `dir/1.npy`, ... (`tensorc run -o`), all or none: every
/// tensor is encoded before `dir` or any file is created, so a result that `.npy` cannot
/// hold (bf16) fails the run without leaving the results before it behind.
pub fn save_npy_results(dir: impl AsRef<Path>, results: &[Tensor]) -> Result<(), Error> {
    let dir = dir.as_ref();
    let mut files = Vec::with_capacity(results.len());
    for (i, tensor) in results.iter().enumerate() {
        let path = dir.join(format!("{i}.npy"));
        let bytes = tc_tensor::write_npy(tensor).map_err(|e| format_error(&path, e))?;
        files.push((path, bytes));
    }
    std::fs::create_dir_all(dir).map_err(|error| Error::Io { path: dir.to_path_buf(), error })?;
    files.iter().try_for_each(|(path, bytes)| write(path, bytes))
}

/// Read every tensor of a safetensors file, with its name, in file order.
pub fn load_safetensors(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor)>, Error> {
    let path = path.as_ref();
    tc_tensor::read_safetensors(&read(path)?).map_err(|e| format_error(path, e))
}

/// Write named tensors as a safetensors file.
pub fn save_safetensors(path: impl AsRef<Path>, tensors: &[(String, Tensor)]) -> Result<(), Error> {
    let path = path.as_ref();
    let bytes = tc_tensor::write_safetensors(tensors).map_err(|e| format_error(path, e))?;
    write(path, &bytes)
}
