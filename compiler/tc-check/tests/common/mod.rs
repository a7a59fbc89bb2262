//! Shared by the checker's test binaries: a module loader over the repository's stdlib,
//! and diagnostics in the `CODE line:col` form of the tests/cases files.

use tc_check::{ModuleLoader, SpecializeError};
use tc_syntax::diag::{Diagnostic, SourceMap};

/// Loads standard-library modules from the repository's `stdlib/` folder.
pub struct StdlibDir;

impl ModuleLoader for StdlibDir {
    fn load(&self, name: &str, _from: &str) -> Option<(String, String)> {
        let path = format!("{}/../../stdlib/{name}.tc", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).ok().map(|t| (format!("<stdlib>/{name}.tc"), t))
    }
}

/// "CODE line:col" of each diagnostic, as in the tests/cases files.
#[allow(dead_code)] // not every test binary compares diagnostics
pub fn codes(sources: &SourceMap, diags: &[Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .map(|d| {
            let (l, c) = sources.line_col(d.primary.loc.file, d.primary.loc.span.start);
            format!("{} {l}:{c}", d.code)
        })
        .collect()
}

/// The codes and 1-based line:col of the diagnostics of compiling `src` and, if that
/// succeeds, specialising its argument-less `main`; a panic if both succeed.
#[allow(dead_code)] // not every test binary compares diagnostics
pub fn errors(src: &str) -> Vec<String> {
    let mut sources = SourceMap::new();
    let root = sources.add("test.tc", src);
    let diags = match tc_check::compile(&mut sources, root, &StdlibDir) {
        Ok(p) => match p.specialize("main", &[]) {
            Err(SpecializeError::Diagnostics(d)) => d,
            other => panic!("{src}: expected errors, got {:?}", other.map(|s| s.graph)),
        },
        Err(d) => d,
    };
    codes(&sources, &diags)
}
