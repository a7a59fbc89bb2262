//! docs/language.md is the language reference users read: every ```tc example in it is
//! a complete program whose `main` is compiled, specialised and run on the reference
//! interpreter, and whose results must be the `// expect: VALUE` lines it carries (or
//! whose compile errors must include the code of its `// error: CODE` line). Its links
//! into docs/errors.md must name headings that exist there.

use tc_check::SpecializeError;
use tc_syntax::diag::SourceMap;
use tc_tensor::{DType, Tensor};

mod common;
mod doc_examples;
use doc_examples::{repo, ExampleFiles};

/// One ```tc block of the reference.
struct Example {
    /// The 1-based line of the doc on which the block's code starts.
    line: usize,
    code: String,
}

fn examples(doc: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut current: Option<Example> = None;
    for (i, text) in doc.lines().enumerate() {
        match current.as_mut() {
            None if text.trim_end() == "```tc" => current = Some(Example { line: i + 2, code: String::new() }),
            Some(_) if text.trim_end() == "```" => out.extend(current.take()),
            Some(ex) => {
                ex.code.push_str(text);
                ex.code.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "a ```tc block is not closed");
    out
}

/// The text after `// KEY:` on each line that has it.
fn directives<'a>(code: &'a str, key: &str) -> Vec<&'a str> {
    let prefix = format!("// {key}:");
    code.lines().filter_map(|l| l.trim().strip_prefix(prefix.as_str())).map(str::trim).collect()
}

/// The results of `main`, or the codes of the errors that compiling and specialising it give.
fn run(code: &str) -> Result<Vec<Tensor>, Vec<&'static str>> {
    let (root_text, files) = ExampleFiles::split(code);
    let mut sources = SourceMap::new();
    let root = sources.add("example.tc", root_text);
    let program = tc_check::compile(&mut sources, root, &files).map_err(|d| d.iter().map(|d| d.code).collect::<Vec<_>>())?;
    let spec = match program.specialize("main", &[]) {
        Ok(spec) => spec,
        Err(SpecializeError::Diagnostics(d)) => return Err(d.iter().map(|d| d.code).collect()),
        Err(SpecializeError::Argument { param, message }) => panic!("`main` takes no arguments, but has `{param}`: {message}"),
    };
    Ok(tc_interp::run(&spec.graph, &[]).unwrap_or_else(|e| panic!("the interpreter fails: {e}")))
}

/// An expected result: dtype, shape and elements (as f64; NaN matches NaN).
#[derive(Debug)]
struct Expected {
    dtype: DType,
    shape: Vec<usize>,
    values: Vec<f64>,
}

/// `f32[2, 3] [1, 2.5, ...]`, `f32 0.5`, `i32[4] arange`, `bool[2] [true, false]` (the
/// VALUE syntax of tests/cases/README.md, less tuples: results are flattened).
fn parse_value(text: &str) -> Result<Expected, String> {
    let text = text.trim();
    let name_end = text.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(text.len());
    let dtype = DType::from_name(&text[..name_end]).ok_or_else(|| format!("unknown dtype in `{text}`"))?;
    let mut rest = text[name_end..].trim_start();
    let mut shape = Vec::new();
    if let Some(after) = rest.strip_prefix('[') {
        let close = after.find(']').ok_or("unclosed shape")?;
        for d in after[..close].split(',').map(str::trim).filter(|d| !d.is_empty()) {
            shape.push(d.parse::<usize>().map_err(|_| format!("bad dimension `{d}`"))?);
        }
        rest = after[close + 1..].trim_start();
    }
    let count: usize = shape.iter().product();
    let values = match rest {
        "arange" => (0..count).map(|i| i as f64).collect(),
        "ones" => vec![1.0; count],
        "zeros" => vec![0.0; count],
        elements => elements
            .split(['[', ']', ','])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(parse_element)
            .collect::<Result<Vec<f64>, String>>()?,
    };
    if values.len() != count {
        return Err(format!("`{text}` has {} elements for {count}", values.len()));
    }
    Ok(Expected { dtype, shape, values })
}

fn parse_element(e: &str) -> Result<f64, String> {
    match e {
        "true" => Ok(1.0),
        "false" => Ok(0.0),
        "nan" => Ok(f64::NAN),
        "inf" => Ok(f64::INFINITY),
        "-inf" => Ok(f64::NEG_INFINITY),
        number => number.parse().map_err(|_| format!("bad element `{number}`")),
    }
}

/// Why `got` is not `want`, if it is not: floats within 1e-5 + 1e-4·|want| (NaN
/// matching NaN, infinities exactly), everything else exactly.
fn mismatch(got: &Tensor, want: &Expected) -> Option<String> {
    let shown = got.type_string();
    if got.dtype() != want.dtype || got.shape() != want.shape.as_slice() {
        return Some(format!("got a {shown}, want {:?}{:?}", want.dtype, want.shape));
    }
    let values = got.data().to_f64_vec();
    for (i, (&g, &w)) in values.iter().zip(&want.values).enumerate() {
        let same = if want.dtype.is_float() {
            (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= 1e-5 + 1e-4 * w.abs()
        } else {
            g == w
        };
        if !same {
            return Some(format!("element {i} of the {shown} is {g}, want {w} (all: {values:?})"));
        }
    }
    None
}

/// What an example must do, checked; `Err` says how it fails.
fn check(ex: &Example) -> Result<(), String> {
    let expects = directives(&ex.code, "expect");
    let errors = directives(&ex.code, "error");
    match (expects.is_empty(), errors.as_slice()) {
        (true, [code]) => match run(&ex.code) {
            Err(codes) if codes.contains(code) => Ok(()),
            Err(codes) => Err(format!("gives the errors {codes:?}, not {code}")),
            Ok(_) => Err(format!("compiles and runs, but should be error {code}")),
        },
        (false, []) => {
            let got = run(&ex.code).map_err(|codes| format!("does not compile: {codes:?}"))?;
            if got.len() != expects.len() {
                let shown: Vec<String> = got.iter().map(|t| format!("{} {:?}", t.type_string(), t.data().to_f64_vec())).collect();
                return Err(format!("gives {} results {shown:?}, {} expected", got.len(), expects.len()));
            }
            for (i, (g, text)) in got.iter().zip(&expects).enumerate() {
                let want = parse_value(text).map_err(|e| format!("bad `// expect:` line {text:?}: {e}"))?;
                if let Some(why) = mismatch(g, &want) {
                    return Err(format!("result {i}: {why}"));
                }
            }
            Ok(())
        }
        _ => Err("needs `// expect:` lines or one `// error:` line, not both or neither".to_string()),
    }
}

#[test]
fn every_example_in_the_language_reference_runs_as_documented() {
    let doc = std::fs::read_to_string(repo("docs/language.md")).unwrap();
    let all = examples(&doc);
    let runnable = all.iter().filter(|ex| !directives(&ex.code, "expect").is_empty()).count();
    assert!(runnable >= 40, "docs/language.md has only {runnable} runnable examples");
    let failures: Vec<String> = all
        .iter()
        .filter_map(|ex| check(ex).err().map(|why| format!("docs/language.md:{}: {why}\n{}", ex.line, ex.code)))
        .collect();
    assert!(failures.is_empty(), "{} of {} examples fail:\n\n{}", failures.len(), all.len(), failures.join("\n"));
}

#[test]
fn links_into_the_error_list_name_its_headings() {
    let doc = std::fs::read_to_string(repo("docs/language.md")).unwrap();
    let errors = std::fs::read_to_string(repo("docs/errors.md")).unwrap();
    // GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens.
    let anchors: Vec<String> = errors
        .lines()
        .filter_map(|l| l.strip_prefix("### ").or_else(|| l.strip_prefix("## ")))
        .map(|h| h.to_lowercase().chars().filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_').map(|c| if c == ' ' { '-' } else { c }).collect())
        .collect();
    let links: Vec<&str> = doc.split("(errors.md#").skip(1).map(|rest| rest.split(')').next().unwrap_or_default()).collect();
    assert!(!links.is_empty(), "docs/language.md links to no error code");
    for link in links {
        assert!(anchors.iter().any(|a| a == link), "docs/language.md links to errors.md#{link}, which is no heading there");
    }
}

#[test]
fn the_value_parser_reads_what_the_examples_write() {
    let v = parse_value("f32[2, 2] [[1, 2.5], [nan, -inf]]").unwrap();
    assert_eq!((v.dtype, v.shape.as_slice()), (DType::F32, &[2usize, 2][..]));
    assert_eq!(v.values[..2], [1.0, 2.5]);
    assert!(v.values[2].is_nan() && v.values[3] == f64::NEG_INFINITY);
    let b = parse_value("bool[2] [true, false]").unwrap();
    assert_eq!(b.values, [1.0, 0.0]);
    assert_eq!(parse_value("i32 7").unwrap().shape, Vec::<usize>::new());
    assert_eq!(parse_value("u8[3] arange").unwrap().values, [0.0, 1.0, 2.0]);
    assert!(parse_value("f32[3] [1, 2]").is_err());
    assert!(parse_value("f8 1").is_err());
    // Tolerance: relative to the wanted value, and NaN only matches NaN.
    let t = Tensor::from_f32(vec![2], vec![100.005, f32::NAN]).unwrap();
    assert!(mismatch(&t, &parse_value("f32[2] [100, nan]").unwrap()).is_none());
    assert!(mismatch(&t, &parse_value("f32[2] [100.1, nan]").unwrap()).is_some());
    assert!(mismatch(&t, &parse_value("f32[2] [100, 1]").unwrap()).is_some());
    assert!(mismatch(&t, &parse_value("f64[2] [100, nan]").unwrap()).is_some());
}
