//! docs/errors.md is the list of error codes users read: every code the compiler can
//! emit is documented there, and every documented example really produces its code.

mod common;
mod doc_examples;
use doc_examples::{diagnose, documented, repo};

/// The codes a program produces when compiled and, if that succeeds, specialised as `main`.
fn codes(src: &str) -> Vec<&'static str> {
    diagnose(src).1.iter().map(|d| d.code).collect()
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
