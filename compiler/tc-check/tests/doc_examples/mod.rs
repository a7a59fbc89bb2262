//! The example programs of the docs: those of docs/errors.md, one per `### EXXXX`
//! section, and the diagnostics each gives when compiled and, if that succeeds,
//! specialised as `main`; and the loader of an example's own modules.
#![allow(dead_code)] // each test binary uses a subset

use tc_check::{ModuleLoader, SpecializeError};
use tc_syntax::diag::{Diagnostic, SourceMap};

use crate::common::StdlibDir;

/// A path relative to the repository root.
pub fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

/// (code, first example program) for each `### EXXXX` section.
pub fn documented() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo("docs/errors.md")).unwrap();
    let mut out = Vec::new();
    for section in text.split("\n### ").skip(1) {
        let code = section[..5].to_string();
        let example = section.split("```").nth(1).unwrap_or_default().trim_start_matches('\n').to_string();
        out.push((code, example));
    }
    out
}

/// An example's files: the root, then the modules it uses, each after a line
/// `// --- NAME.tc ---`.
pub struct ExampleFiles {
    modules: Vec<(String, String)>,
}

impl ExampleFiles {
    pub fn split(src: &str) -> (String, ExampleFiles) {
        let mut parts = src.split("// --- ");
        let root = parts.next().unwrap_or_default().to_string();
        let modules = parts
            .map(|part| {
                let (header, text) = part.split_once('\n').unwrap_or((part, ""));
                (header.trim_end_matches(" ---").trim_end_matches(".tc").to_string(), text.to_string())
            })
            .collect();
        (root, ExampleFiles { modules })
    }
}

impl ModuleLoader for ExampleFiles {
    fn load(&self, name: &str, from: &str) -> Option<(String, String)> {
        match self.modules.iter().find(|(n, _)| n == name) {
            Some((n, text)) => Some((format!("{n}.tc"), text.clone())),
            None => StdlibDir.load(name, from),
        }
    }
}

/// The example's sources (root `example.tc`) and the diagnostics of compiling it and,
/// if that succeeds, specialising `main` (none if both succeed).
pub fn diagnose(example: &str) -> (SourceMap, Vec<Diagnostic>) {
    let (root_text, files) = ExampleFiles::split(example);
    let mut sources = SourceMap::new();
    let root = sources.add("example.tc", root_text);
    let diags = match tc_check::compile(&mut sources, root, &files) {
        Err(diags) => diags,
        Ok(program) => match program.specialize("main", &[]) {
            Err(SpecializeError::Diagnostics(diags)) => diags,
            _ => vec![],
        },
    };
    (sources, diags)
}
