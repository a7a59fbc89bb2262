//! Runs every program case in `tests/cases/*.tc` through the embedding API. The
//! format of a case's header (`// arg:`, `// expect:`, `// error:` lines) is described
//! in `tests/cases/README.md`.

use std::path::{Path, PathBuf};

use tc_syntax::diag::SourceMap;
use tensorc::{Backend, DType, Data, Error, Session, Tensor, Value};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/cases")
}

/// What a case expects.
enum Expect {
    Values(Vec<Tensor>),
    /// A compile error with a code starting with `code`, at `line:col` if given.
    CompileError { code: String, at: Option<(usize, usize)> },
    ArgumentError(String),
}

struct Case {
    entry: String,
    args: Vec<(String, Value)>,
    expect: Expect,
    rtol: f64,
}

/// A cursor over the text of one `VALUE`.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// A word of letters, digits and `_ . - +`.
    fn word(&mut self) -> &'a str {
        self.skip_space();
        let rest = self.rest();
        let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || "_.-+".contains(c))).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// Everything up to the bracket closing the one just eaten.
    fn bracketed(&mut self) -> Result<&'a str, String> {
        let rest = self.rest();
        let mut depth = 1;
        for (i, c) in rest.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                self.pos += i + 1;
                return Ok(&rest[..i]);
            }
        }
        Err(format!("unclosed `[` in `{}`", self.text))
    }

    fn value(&mut self) -> Result<Value, String> {
        if self.eat('(') {
            let mut elems = Vec::new();
            while !self.eat(')') {
                elems.push(self.value()?);
                if !self.eat(',') && !self.rest().trim_start().starts_with(')') {
                    return Err(format!("expected `,` or `)` in `{}`", self.text));
                }
            }
            return Ok(Value::Tuple(elems));
        }
        let dtype_name = self.word();
        let dtype = DType::from_name(dtype_name).ok_or_else(|| format!("unknown dtype `{dtype_name}`"))?;
        // The shape follows the dtype without a space: `f32[2, 3]`.
        let shape = if self.rest().starts_with('[') {
            self.pos += 1;
            let dims = self.bracketed()?;
            dims.split(',')
                .filter(|d| !d.trim().is_empty())
                .map(|d| d.trim().parse::<usize>().map_err(|_| format!("bad dimension `{d}`")))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            Vec::new()
        };
        let count: usize = shape.iter().product();
        let elements: Vec<f64> = if self.eat('[') {
            let list = self.bracketed()?.replace(['[', ']'], " ");
            list.split(',').filter(|v| !v.trim().is_empty()).map(|v| number(v.trim())).collect::<Result<_, _>>()?
        } else {
            match self.word() {
                "arange" => (0..count).map(|i| i as f64).collect(),
                "ones" => vec![1.0; count],
                "zeros" => vec![0.0; count],
                scalar => vec![number(scalar)?],
            }
        };
        let data = Data::from_f64(dtype, &elements);
        Tensor::new(shape, data).map(Value::Tensor).map_err(|e| e.to_string())
    }
}

fn number(text: &str) -> Result<f64, String> {
    match text {
        "true" => Ok(1.0),
        "false" => Ok(0.0),
        _ => text.parse().map_err(|_| format!("bad number `{text}`")),
    }
}

fn parse_value(text: &str) -> Result<Value, String> {
    let mut cursor = Cursor { text, pos: 0 };
    let value = cursor.value()?;
    cursor.skip_space();
    if !cursor.rest().is_empty() {
        return Err(format!("unexpected `{}` after a value", cursor.rest()));
    }
    Ok(value)
}

fn parse_case(source: &str) -> Result<Case, String> {
    let mut entry = "main".to_string();
    let mut args = Vec::new();
    let mut values = Vec::new();
    let mut error = None;
    let mut rtol = 1e-4;
    for line in source.lines() {
        let Some((key, rest)) = line.strip_prefix("// ").and_then(|l| l.split_once(':')) else { continue };
        let rest = rest.trim();
        match key {
            "entry" => entry = rest.to_string(),
            "arg" => {
                let (name, value) = rest.split_once('=').ok_or_else(|| format!("`arg: {rest}` lacks `=`"))?;
                args.push((name.trim().to_string(), parse_value(value.trim())?));
            }
            "expect" => values.extend(parse_value(rest)?.into_leaves()),
            "error" => error = Some(parse_error(rest)?),
            "tol" => rtol = rest.parse().map_err(|_| format!("bad tolerance `{rest}`"))?,
            _ => {}
        }
    }
    let expect = match error {
        Some(error) if values.is_empty() => error,
        Some(_) => return Err("a case expects either values or an error".to_string()),
        None if values.is_empty() => return Err("no `// expect:` or `// error:` line".to_string()),
        None => Expect::Values(values),
    };
    Ok(Case { entry, args, expect, rtol })
}

/// `E0301 at 2:5`, `E0301`, or `argument x`.
fn parse_error(text: &str) -> Result<Expect, String> {
    if let Some(param) = text.strip_prefix("argument ") {
        return Ok(Expect::ArgumentError(param.trim().to_string()));
    }
    let (code, at) = match text.split_once(" at ") {
        Some((code, at)) => {
            let (line, col) = at.trim().split_once(':').ok_or_else(|| format!("bad location `{at}`"))?;
            let parse = |n: &str| n.trim().parse::<usize>().map_err(|_| format!("bad location `{at}`"));
            (code, Some((parse(line)?, parse(col)?)))
        }
        None => (text, None),
    };
    Ok(Expect::CompileError { code: code.trim().to_string(), at })
}

fn close(got: &Data, want: &Data, rtol: f64) -> bool {
    let (g, w) = (got.to_f64_vec(), want.to_f64_vec());
    let float = want.dtype().is_float();
    g.len() == w.len()
        && g.iter().zip(&w).all(|(g, w)| {
            if float {
                (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= 1e-5 + rtol * w.abs()
            } else {
                g == w
            }
        })
}

fn check_values(got: &[Tensor], want: &[Tensor], rtol: f64) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{} results, expected {}", got.len(), want.len()));
    }
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g.type_string() != w.type_string() {
            return Err(format!("result {i}: {}, expected {}", g.type_string(), w.type_string()));
        }
        if !close(g.data(), w.data(), rtol) {
            return Err(format!("result {i}: {:?}, expected {:?}", g.data().to_f64_vec(), w.data().to_f64_vec()));
        }
    }
    Ok(())
}

/// Whether one of the diagnostics has the code (prefix) and location.
fn has_diagnostic(sources: &SourceMap, diagnostics: &[tc_syntax::diag::Diagnostic], code: &str, at: Option<(usize, usize)>) -> bool {
    diagnostics.iter().any(|d| {
        let loc = sources.line_col(d.primary.loc.file, d.primary.loc.span.start);
        d.code.starts_with(code) && at.is_none_or(|at| at == loc)
    })
}

fn run_case(path: &Path, backend: Backend) -> Result<(), String> {
    let source = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let case = parse_case(&source).map_err(|e| format!("bad case header: {e}"))?;
    let session = Session::new(backend).map_err(|e| e.to_string())?;
    let result = session.compile_file(path).and_then(|module| {
        let bound = module.bind(&case.entry, case.args)?;
        module.call_bound(&case.entry, &bound)
    });
    match (case.expect, result) {
        (Expect::Values(want), Ok(value)) => check_values(&value.into_leaves(), &want, case.rtol),
        (Expect::CompileError { code, at }, Err(Error::Compile(d))) => {
            if has_diagnostic(&d.sources, &d.diagnostics, &code, at) {
                Ok(())
            } else {
                Err(format!("expected error {code} at {at:?}, got:\n{}", d.render(false)))
            }
        }
        (Expect::ArgumentError(want), Err(Error::Argument { param, message })) => {
            if param == want {
                Ok(())
            } else {
                Err(format!("expected an error for argument `{want}`, got argument `{param}`: {message}"))
            }
        }
        // The GPU stores f32, i32, u8, bool (and f16 with shader-f16): other dtypes are
        // refused with an error naming them, never computed wrongly.
        (Expect::Values(_), Err(Error::Runtime(message))) if backend == Backend::Wgpu && refuses_dtype(&message) => Ok(()),
        (_, Err(error)) => Err(format!("unexpected error:\n{error}")),
        (_, Ok(value)) => Err(format!("expected an error, got {}", value.type_string())),
    }
}

fn refuses_dtype(message: &str) -> bool {
    let named = ["f64", "bf16", "i64"].iter().any(|d| message.contains(&format!("does not support {d} tensors")));
    named || message.contains("shader-f16")
}

#[test]
fn program_cases() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/cases exists")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "tc"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no cases in {}", cases_dir().display());
    // Every case on every backend: the interpreter is the oracle, the others must agree.
    let failures: Vec<String> = [Backend::Interp, Backend::Cpu, Backend::Wgpu]
        .into_iter()
        .flat_map(|backend| paths.iter().map(move |path| (backend, path)))
        .filter_map(|(backend, path)| {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            run_case(path, backend).err().map(|why| format!("FAIL {name} on {backend}: {why}"))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn header_syntax() {
    let case = parse_case("// entry: f\n// arg: p = (f32[2] [1, 2], (i32 3, bool[2] [true, false]))\n// expect: f32[2, 2] arange\n// tol: 1e-3\n")
        .expect("parses");
    assert_eq!(case.entry, "f");
    assert_eq!(case.rtol, 1e-3);
    assert_eq!(case.args[0].1.type_string(), "(f32[2], (i32, bool[2]))");
    let Expect::Values(want) = case.expect else { panic!("values expected") };
    assert_eq!(want[0], Tensor::from_f32(vec![2, 2], vec![0.0, 1.0, 2.0, 3.0]).expect("4 elements"));
    assert!(matches!(parse_case("// error: E03 at 2:5\n").expect("parses").expect, Expect::CompileError { at: Some((2, 5)), .. }));
    assert!(parse_case("fn main() { 1 }\n").is_err());
    assert!(parse_value("f32[2] [1, 2] junk").is_err());
}
