//! Source scanning for the workspace's tidy test (`tests/tidy.rs`): Rust text reduced to
//! the code that ships (comments, string and character literals, and `#[cfg(test)]`
//! items blanked out), and the I/O that code does.
//!
//! This is a token-level scan, not a parser: enough to tell `println!` in code from
//! `println!` in a doc comment or a string, and a test module from the library around it.

/// The source with every comment and the contents of every string and character literal
/// replaced by spaces. Newlines stay, so line numbers still match the file.
pub fn strip_comments_and_literals(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            // Block comments nest in Rust.
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&chars, i) {
            // r"…", r#"…"#, br#"…"#: no escapes, ends at a quote and as many `#`.
            let open = i + hashes.len_to_quote;
            out.extend(&chars[i..=open]);
            i = open + 1;
            while i < chars.len() && !(chars[i] == '"' && chars[i + 1..].iter().take(hashes.count).filter(|&&h| h == '#').count() == hashes.count) {
                blank(&mut out, chars[i]);
                i += 1;
            }
            let end = (i + 1 + hashes.count).min(chars.len());
            out.extend(&chars[i.min(chars.len())..end]);
            i = end;
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                let escape = chars[i] == '\\';
                blank(&mut out, chars[i]);
                i += 1;
                if escape && i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            if i < chars.len() {
                out.push('"');
                i += 1;
            }
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal ('{', '\n', '\u{7b}'); a lifetime or label has no closing quote.
            out.push('\'');
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                let escape = chars[i] == '\\';
                blank(&mut out, chars[i]);
                i += 1;
                if escape && i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            if i < chars.len() {
                out.push('\'');
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Where a raw string's opening quote is, and how many `#` close it.
struct RawStart {
    len_to_quote: usize,
    count: usize,
}

fn raw_string_start(chars: &[char], i: usize) -> Option<RawStart> {
    let mut j = i;
    if chars[j] == 'b' {
        j += 1;
    }
    if chars.get(j) != Some(&'r') || (i > 0 && is_ident(chars[i - 1])) {
        return None;
    }
    let count = chars[j + 1..].iter().take_while(|&&c| c == '#').count();
    (chars.get(j + 1 + count) == Some(&'"')).then_some(RawStart { len_to_quote: j + 1 + count - i, count })
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Code (already through [`strip_comments_and_literals`]) without its `#[cfg(test)]`
/// items, blanked out line for line, and the names of the test modules declared
/// `#[cfg(test)] mod NAME;`, whose files are test code as a whole.
pub fn without_test_items(code: &str) -> (String, Vec<String>) {
    let chars: Vec<char> = code.chars().collect();
    let mut keep = vec![true; chars.len()];
    let mut test_modules = Vec::new();
    let mut i = 0;
    while let Some(attr_end) = find_cfg_test(&chars, i) {
        let start = attr_end.0;
        let mut j = attr_end.1;
        // The item: up to a `;` outside brackets, or through its `{ … }` body.
        let mut depth = 0i32;
        while j < chars.len() {
            match chars[j] {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                ';' if depth == 0 => break,
                '{' if depth == 0 => {
                    j = matching_brace(&chars, j);
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        let end = (j + 1).min(chars.len());
        let item: String = chars[attr_end.1..end].iter().collect();
        let words: Vec<&str> = item.split(|c: char| !is_ident(c)).filter(|w| !w.is_empty()).collect();
        if item.trim_end().ends_with(';') {
            if let Some(name) = words.windows(2).find(|w| w[0] == "mod").map(|w| w[1]) {
                test_modules.push(name.to_string());
            }
        }
        keep[start..end].iter_mut().for_each(|k| *k = false);
        i = end;
    }
    let out = chars.iter().zip(&keep).map(|(&c, &k)| if k || c == '\n' { c } else { ' ' }).collect();
    (out, test_modules)
}

/// The next `#[cfg(test)]` from `from`: (where it starts, where its attribute ends).
fn find_cfg_test(chars: &[char], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i + 1 < chars.len() {
        if chars[i] == '#' && chars[i + 1] == '[' {
            let mut depth = 0;
            let mut j = i + 1;
            while j < chars.len() {
                match chars[j] {
                    '[' => depth += 1,
                    ']' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            let inner: String = chars[i + 2..j.min(chars.len())].iter().filter(|c| !c.is_whitespace()).collect();
            if inner == "cfg(test)" {
                return Some((i, j + 1));
            }
            i = j;
        }
        i += 1;
    }
    None
}

/// The index of the `}` closing the `{` at `open` (or the end of the text).
fn matching_brace(chars: &[char], open: usize) -> usize {
    let mut depth = 0;
    for (j, &c) in chars.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => {}
        }
    }
    chars.len() - 1
}

/// What counts as I/O in a compiler crate: the file system, the network, and printing.
pub const IO_PATTERNS: &[&str] = &["std::fs", "std::net", "File::open", "File::create", "println!", "eprintln!", "print!", "eprint!", "dbg!"];

/// (1-based line, pattern) of each I/O use in code through [`strip_comments_and_literals`]
/// and [`without_test_items`]. `use std::{fs, …}` counts as `std::fs`.
pub fn io_uses(code: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        for &pattern in IO_PATTERNS {
            if contains_token(line, pattern) {
                found.push((n + 1, pattern));
            }
        }
    }
    // Grouped imports may span lines: look inside each `std::{ … }`.
    let chars: Vec<char> = code.chars().collect();
    for (at, _) in code.match_indices("std::{") {
        let open = code[..at + 5].chars().count();
        let close = matching_brace(&chars, open);
        let group: String = chars[open..=close].iter().collect();
        let line = code[..at].matches('\n').count() + 1;
        for (module, pattern) in [("fs", "std::fs"), ("net", "std::net")] {
            if group.split(|c: char| !is_ident(c)).any(|w| w == module) {
                found.push((line, pattern));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// `pattern` in `line` with no identifier character just before it, and for paths none
/// just after (`std::fs` but not `std::fsx`; `print!` but not `eprint!`).
fn contains_token(line: &str, pattern: &str) -> bool {
    line.match_indices(pattern).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + pattern.len()..].chars().next();
        let clean_before = !before.is_some_and(is_ident);
        let clean_after = pattern.ends_with('!') || !after.is_some_and(is_ident);
        clean_before && clean_after
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(src: &str) -> (String, Vec<String>) {
        without_test_items(&strip_comments_and_literals(src))
    }

    #[test]
    fn comments_and_literals_do_not_count() {
        let src = "//! println!(\"doc\")\nfn f() { /* std::fs /* nested */ */ let s = \"std::fs\"; let r = r#\"print!(\"x\")\"#; let c = '{'; }\n";
        let code = strip_comments_and_literals(src);
        assert_eq!(code.lines().count(), 2);
        assert!(io_uses(&code).is_empty(), "{code}");
        // The braces left balance: the `'{'` literal is blanked.
        assert_eq!(code.matches('{').count(), code.matches('}').count(), "{code}");
        // Lifetimes are not character literals.
        assert_eq!(strip_comments_and_literals("fn f<'a>(x: &'a str) { println!() }"), "fn f<'a>(x: &'a str) { println!() }");
    }

    #[test]
    fn test_items_and_modules_are_left_out() {
        let src = "fn f() {}\n#[cfg(test)]\nmod tests {\n    fn g() { println!(\"}\"); }\n}\n#[cfg(test)]\nmod more;\n#[cfg(test)]\nconst N: [u8; 2] = [0; 2];\nfn h() { eprintln!(\"x\") }\n";
        let (code, modules) = shipped(src);
        assert_eq!(modules, ["more"]);
        assert_eq!(io_uses(&code), [(10, "eprintln!")]);
        assert!(!code.contains("tests") && !code.contains("N:"), "{code}");
    }

    #[test]
    fn io_in_shipped_code_is_found() {
        let src = "use std::{\n    collections::HashMap,\n    fs::File,\n};\nfn f() { let _ = File::open(\"a\"); print!(\"\"); }\nfn g(a: u8, b: u8) -> bool { std::net::Ipv4Addr::LOCALHOST.is_loopback() && a != b }\n";
        let (code, _) = shipped(src);
        assert_eq!(io_uses(&code), [(1, "std::fs"), (5, "File::open"), (5, "print!"), (6, "std::net")]);
        // Near misses: other identifiers that end or start like a pattern.
        let (code, _) = shipped("fn f() { my_print!(); std::fsx::a(); eprint!(); }");
        assert_eq!(io_uses(&code), [(1, "eprint!")]);
    }
}
