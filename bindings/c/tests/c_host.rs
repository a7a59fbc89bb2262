//! Builds `examples/c_host/main.c` with `cc` against the `libtensorc.so` that cargo built
//! for this profile (`target/<profile>/`, beside this test's `deps/` folder), runs it on
//! `examples/mlp.tc` and checks what it prints against logits computed here; then runs
//! it under valgrind (no invalid access, no definite leak) when valgrind is installed
//! (`scripts/test.sh` installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/<profile>/`, beside this test's `deps/` folder: where `cargo build -p
/// tensorc-capi` puts `libtensorc.so`. (`cargo test` does not build a cdylib-only lib, and a
/// nested cargo would wait on the lock the running one holds, so the library is built
/// first: `scripts/test.sh` does.)
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/ holds the test");
    let so = profile.join("libtensorc.so");
    let flag = if profile.ends_with("release") {
        " --release"
    } else {
        ""
    };
    assert!(
        so.exists(),
        "{} is missing: build it first with `cargo build -p tensorc-capi{flag}`",
        so.display()
    );
    profile.to_path_buf()
}

/// Compile the example; the executable's path.
fn build() -> PathBuf {
    let lib_dir = lib_dir();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c_host");
    let status = Command::new("cc")
        .arg(repo().join("examples/c_host/main.c"))
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-g"])
        .arg("-I")
        .arg(repo().join("bindings/c/include"))
        .arg("-L")
        .arg(&lib_dir)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-ltensorc")
        .arg("-o")
        .arg(&out)
        .status()
        .expect("cc runs");
    assert!(
        status.success(),
        "cc failed to build examples/c_host/main.c"
    );
    out
}

fn matmul(a: &[f32], b: &[f32], n: usize, k: usize, m: usize) -> Vec<f32> {
    let mut c = vec![0.0; n * m];
    for i in 0..n {
        for j in 0..m {
            c[i * m + j] = (0..k).map(|l| a[i * k + l] * b[l * m + j]).sum();
        }
    }
    c
}

/// The logits the example's weights give, computed directly.
fn expected_logits() -> Vec<f32> {
    let x = [1.0, 2.0, 3.0, -1.0, 0.0, 1.0];
    let w1 = [
        0.5, -0.5, 0.25, 0.0, 0.0, 1.0, -1.0, 0.5, 0.1, 0.2, 0.3, -0.4,
    ];
    let b1 = [0.1, 0.0, -0.1, 0.2];
    let w2 = [1.0, -1.0, 0.5, 0.5, -0.25, 1.0, 2.0, 0.0];
    let b2 = [0.0, 0.5];
    let mut h = matmul(&x, &w1, 2, 3, 4);
    for (i, v) in h.iter_mut().enumerate() {
        *v = (*v + b1[i % 4]).max(0.0);
    }
    let mut y = matmul(&h, &w2, 2, 4, 2);
    for (i, v) in y.iter_mut().enumerate() {
        *v += b2[i % 2];
    }
    y
}

fn check_output(output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "c_host failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("predict: 1 output, shape [2, 2]"),
        "{stdout}"
    );
    let logits: Vec<f32> = stdout
        .lines()
        .filter_map(|l| {
            l.strip_prefix("logits[")
                .and_then(|r| r.split_once("] ="))
                .map(|(_, v)| v.to_string())
        })
        .flat_map(|v| {
            v.split_whitespace()
                .map(|x| x.parse::<f32>().expect("a number"))
                .collect::<Vec<_>>()
        })
        .collect();
    let expected = expected_logits();
    assert_eq!(logits.len(), expected.len(), "{stdout}");
    for (got, want) in logits.iter().zip(&expected) {
        assert!(
            (got - want).abs() < 1e-4,
            "logits {logits:?}, expected {expected:?}"
        );
    }
    let losses: Vec<f32> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("loss:"))
        .expect("a loss line")
        .split_whitespace()
        .map(|x| x.parse().expect("a number"))
        .collect();
    assert_eq!(losses.len(), 5, "{stdout}");
    assert!(
        losses.windows(2).all(|w| w[1] < w[0]),
        "the loss does not fall: {losses:?}"
    );
    assert!(stdout.contains("broken.tc: status 1\n"), "{stdout}");
    assert!(stdout.contains("error[E0"), "{stdout}");
    assert!(stdout.contains("undefined_name"), "{stdout}");
    assert!(stdout.contains("could not compile broken.tc"), "{stdout}");
    assert!(
        stdout.contains("wrong nbytes: status 2: tc_tensor_new:"),
        "{stdout}"
    );
}

fn run(command: &mut Command) -> Output {
    command
        .arg(repo().join("examples/mlp.tc"))
        .current_dir(repo())
        .output()
        .expect("the example runs")
}

#[test]
fn the_c_example_runs_and_prints_the_models_results() {
    let exe = build();
    let output = run(&mut Command::new(&exe));
    check_output(&output);

    let valgrind = Command::new("valgrind").arg("--version").output();
    if !valgrind.is_ok_and(|o| o.status.success()) {
        eprintln!("valgrind is not installed: the example was not run under it");
        return;
    }
    let output = run(Command::new("valgrind")
        .args([
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite",
            "--quiet",
        ])
        .arg(&exe));
    assert_ne!(
        output.status.code(),
        Some(99),
        "valgrind found errors:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    check_output(&output);
}
