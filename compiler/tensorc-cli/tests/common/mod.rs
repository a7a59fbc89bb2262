//! Helpers shared by the `tensorc` test binaries: scratch directories, running the
//! built binary, and the smallest model of the SPEC §11 convention.
#![allow(dead_code)] // each test binary uses a subset

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh, empty directory for one test (the process id keeps test binaries apart).
pub fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tensorc-test-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Write `contents` to `dir/name`; the path as a string.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write file");
    path.display().to_string()
}

/// What one run of the binary did.
pub struct Outcome {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run the built `tensorc` binary; a panic is always a failure.
pub fn tensorc(args: &[&str]) -> Outcome {
    tensorc_env(args, &[])
}

/// [`tensorc`] with extra environment variables.
pub fn tensorc_env(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let out = Command::new(env!("CARGO_BIN_EXE_tensorc")).args(args).envs(env.iter().copied()).output().expect("run tensorc");
    let outcome = Outcome {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!outcome.stderr.contains("panicked"), "tensorc panicked: {}", outcome.stderr);
    outcome
}

/// Assert the exit status, showing the output when it differs.
pub fn expect_status(outcome: &Outcome, status: i32) {
    assert_eq!(outcome.status, status, "stdout:\n{}\nstderr:\n{}", outcome.stdout, outcome.stderr);
}

/// A linear classifier: the smallest model of the convention.
pub const LINEAR: &str = "use nn;

fn init(seed) {
    (random_normal(seed, (784, 10)) * 0.01, zeros((10,)))
}

fn predict(p, x: f32[B, 784]) {
    x @ p.0 + p.1
}

fn loss(p, x, y: i32[B]) -> f32 {
    nn::cross_entropy(predict(p, x), y)
}
";
