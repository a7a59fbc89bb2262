//! Workspace rules that no compiler enforces, checked over every member of the root
//! Cargo.toml (so a new crate is covered as soon as it is a member):
//!
//! - the runtime (`runtime/`) does not depend on the front end, so a program can be run
//!   without the compiler that produced it;
//! - no backend depends on another: each stands alone behind the IR;
//! - the compiler's libraries (`compiler/`, except the CLI) do no I/O: no file system, no
//!   network, no printing. They return values and diagnostics; the CLI decides what to
//!   read and what to show.
//!
//! Only `[dependencies]` and `[build-dependencies]` count: tests may use any crate (the
//! backends' tests compare against the reference interpreter). Existing exceptions are
//! listed below, each with its reason; an exception that no longer applies fails too, so
//! the lists only shrink.

use std::path::{Path, PathBuf};

use tidy::{io_uses, strip_comments_and_literals, without_test_items};
use toml_edit::{Document, Item};

const FRONT_END: &[&str] = &["tc-syntax", "tc-check", "tc-grad", "tc-opt"];

/// The backends, the reference interpreter among them.
const BACKENDS: &[&str] = &["tc-cpu", "tc-wgpu", "tc-mlir", "tc-systolic", "tc-interp"];

/// Compiler crates that are drivers, where I/O belongs.
const DRIVERS: &[&str] = &["tensorc", "tensorc-cli", "tc-train"];

/// (backend, backend it depends on, why).
const BACKEND_DEPENDENCIES_ALLOWED: &[(&str, &str, &str)] = &[(
    "tc-cpu",
    "tc-interp",
    "the calls it does not compile (integer matmul, conv, pool, gather, …) run the interpreter's `eval_op`, and its errors are `InterpError`",
)];

/// (crate, file under the crate, pattern of `tidy::IO_PATTERNS`, why).
const IO_ALLOWED: &[(&str, &str, &str, &str)] = &[(
    "tc-wgpu",
    "src/device.rs",
    "std::fs",
    "creates a private XDG_RUNTIME_DIR (0700) when unset, so Mesa's Vulkan drivers do not print errors while the GPU opens",
)];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(path: &Path) -> Document<String> {
    Document::parse(read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A workspace member: its folder relative to the root, package name and manifest.
struct Member {
    dir: String,
    name: String,
    manifest: Document<String>,
}

impl Member {
    /// The packages it depends on outside tests: `[dependencies]` and
    /// `[build-dependencies]`, also under `[target.'cfg(…)']`, by package name (a
    /// renamed dependency's `package = "…"`).
    fn dependencies(&self) -> Vec<String> {
        let mut scopes = vec![self.manifest.as_item()];
        if let Some(targets) = self.manifest.get("target").and_then(Item::as_table_like) {
            scopes.extend(targets.iter().map(|(_, target)| target));
        }
        let tables = scopes
            .into_iter()
            .flat_map(|scope| ["dependencies", "build-dependencies"].map(|key| scope.get(key).and_then(Item::as_table_like)))
            .flatten();
        let mut names: Vec<String> = tables
            .flat_map(|t| t.iter())
            .map(|(key, value)| value.get("package").and_then(|p| p.as_str()).unwrap_or(key).to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// Every member of the root Cargo.toml's `[workspace] members`.
fn members() -> Vec<Member> {
    let workspace = parse(&root().join("Cargo.toml"));
    let list = workspace["workspace"]["members"].as_array().expect("[workspace] members is a list");
    let members: Vec<Member> = list
        .iter()
        .map(|dir| {
            let dir = dir.as_str().expect("a member is a path").to_string();
            let manifest = parse(&root().join(&dir).join("Cargo.toml"));
            let name = manifest["package"]["name"].as_str().unwrap_or_else(|| panic!("{dir}: no package name")).to_string();
            Member { dir, name, manifest }
        })
        .collect();
    // A guard against reading the wrong file or an empty list.
    for known in ["tc-check", "tc-interp", "tidy"] {
        assert!(members.iter().any(|m| m.name == known), "{known} not found among the workspace members");
    }
    members
}

#[test]
fn the_runtime_does_not_depend_on_the_front_end() {
    let mut offenders = Vec::new();
    for member in members().iter().filter(|m| m.dir.starts_with("runtime/")) {
        for dep in member.dependencies() {
            if FRONT_END.contains(&dep.as_str()) {
                offenders.push(format!("{} ({}) depends on front-end crate {dep}", member.name, member.dir));
            }
        }
    }
    assert!(offenders.is_empty(), "runtime crates must not depend on the front end:\n{}", offenders.join("\n"));
}

#[test]
fn no_backend_depends_on_another() {
    let mut offenders = Vec::new();
    let mut allowances_used = Vec::new();
    for member in members().iter().filter(|m| BACKENDS.contains(&m.name.as_str())) {
        for dep in member.dependencies().into_iter().filter(|d| BACKENDS.contains(&d.as_str())) {
            match BACKEND_DEPENDENCIES_ALLOWED.iter().find(|(from, to, _)| *from == member.name && *to == dep) {
                Some(allowed) => allowances_used.push(allowed),
                None => offenders.push(format!("backend {} ({}) depends on backend {dep}", member.name, member.dir)),
            }
        }
    }
    assert!(offenders.is_empty(), "backends must not depend on each other:\n{}", offenders.join("\n"));
    for allowed in BACKEND_DEPENDENCIES_ALLOWED {
        assert!(allowances_used.contains(&allowed), "{} no longer depends on {}: remove it from BACKEND_DEPENDENCIES_ALLOWED", allowed.0, allowed.1);
    }
}

#[test]
fn compiler_libraries_do_no_io() {
    let mut offenders = Vec::new();
    let mut allowances_used = Vec::new();
    let compiler = members().into_iter().filter(|m| m.dir.starts_with("compiler/") && !DRIVERS.contains(&m.name.as_str()));
    for member in compiler {
        let crate_dir = root().join(&member.dir);
        for file in shipped_sources(&crate_dir.join("src")) {
            let relative = file.strip_prefix(&crate_dir).unwrap().to_string_lossy().into_owned();
            let (code, _) = without_test_items(&strip_comments_and_literals(&read(&file)));
            for (line, pattern) in io_uses(&code) {
                match IO_ALLOWED.iter().find(|(name, path, p, _)| *name == member.name && *path == relative && *p == pattern) {
                    Some(allowed) => allowances_used.push(allowed),
                    None => offenders.push(format!("{}/{relative}:{line}: {pattern}", member.dir)),
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "compiler libraries return values and diagnostics; the CLI does the I/O:\n{}",
        offenders.join("\n")
    );
    for allowed in IO_ALLOWED {
        assert!(allowances_used.contains(&allowed), "{} {} no longer uses {}: remove it from IO_ALLOWED", allowed.0, allowed.1, allowed.2);
    }
}

/// The `.rs` files under `dir` that are not test modules as a whole: the files of
/// modules declared `#[cfg(test)] mod NAME;`, NAME.rs and everything in the folder NAME
/// (next to a `lib.rs`, `main.rs` or `mod.rs`, otherwise in the folder named after the
/// file that declares them).
fn shipped_sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut test_modules: Vec<PathBuf> = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let (_, names) = without_test_items(&strip_comments_and_literals(&read(&path)));
                let stem = path.file_stem().unwrap().to_string_lossy();
                let module_dir = if ["lib", "main", "mod"].contains(&stem.as_ref()) { dir.clone() } else { dir.join(stem.as_ref()) };
                test_modules.extend(names.into_iter().map(|name| module_dir.join(name)));
                files.push(path);
            }
        }
    }
    files.retain(|f| !test_modules.iter().any(|m| *f == m.with_extension("rs") || f.starts_with(m)));
    files.sort();
    files
}
