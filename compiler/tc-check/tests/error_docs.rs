//! docs/errors.md is the list of error codes users read: every code the compiler can
//! emit is documented there, and every documented example really produces its code.

use tc_check::{ModuleLoader, SpecializeError};
use tc_syntax::diag::SourceMap;

mod common;
use common::StdlibDir;

fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

/// (code, first example program) for each `### EXXXX` section.
fn documented() -> Vec<(String, String)> {
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
struct ExampleFiles {
    modules: Vec<(String, String)>,
}

impl ExampleFiles {
    fn split(src: &str) -> (String, ExampleFiles) {
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

/// The codes a program produces when compiled and, if that succeeds, specialised as `main`.
fn codes(src: &str) -> Vec<&'static str> {
    let (root_text, files) = ExampleFiles::split(src);
    let mut sources = SourceMap::new();
    let root = sources.add("example.tc", root_text);
    match tc_check::compile(&mut sources, root, &files) {
        Err(diags) => diags.iter().map(|d| d.code).collect(),
        Ok(program) => match program.specialize("main", &[]) {
            Err(SpecializeError::Diagnostics(diags)) => diags.iter().map(|d| d.code).collect(),
            _ => vec![],
        },
    }
}

#[test]
fn every_documented_example_produces_its_code() {
    let docs = documented();
    assert!(docs.len() > 30, "docs/errors.md lists {} codes", docs.len());
    for (code, example) in docs {
        let got = codes(&example);
        assert!(got.contains(&code.as_str()), "{code}: example gives {got:?}\n{example}");
    }
}

#[test]
fn every_code_in_the_compiler_is_documented() {
    let documented: Vec<String> = documented().into_iter().map(|(c, _)| c).collect();
    for dir in ["compiler/tc-check/src", "compiler/tc-syntax/src"] {
        for entry in std::fs::read_dir(repo(dir)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for (i, _) in text.match_indices("\"E0") {
                let code = &text[i + 1..i + 6];
                if code[1..].chars().all(|c| c.is_ascii_digit()) {
                    assert!(documented.iter().any(|d| d == code), "{code} (used in {}) is not in docs/errors.md", path.display());
                }
            }
        }
    }
}
