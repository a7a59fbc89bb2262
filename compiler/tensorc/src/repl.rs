//! The REPL (SPEC §7): `fn`, `use` and `const` items and `let` bindings persist across
//! lines; an expression line prints its type and value.
//!
//! Every line is compiled as a fresh program made of the items defined so far and one
//! synthetic function whose parameters are the bindings the line mentions:
//! - `let PAT = EXPR;` becomes `fn __repl_N(<bound names>) { let PAT = EXPR; (<names in PAT>,) }`,
//!   and the results are stored as the new bindings (shadowing older ones);
//! - `EXPR` becomes `fn __repl_N(<bound names>) { EXPR }`, called and printed.
//!
//! Errors in the input are shown against the input alone (`<repl>:1:5`).
//!
//! [`Repl`] is the line evaluator, separate from the terminal loop ([`run`]) so that it
//! can be tested.

use std::path::{Path, PathBuf};

use tc_check::ArgValue;
use tc_syntax::ast;
use tc_syntax::diag::{FileId, Loc, SourceMap};

use crate::value::{arg_type_string, out_type_string};
use crate::{optimize, Backend, Diagnostics, Error, Module, Session, Value};

const HELP: &str = "\
Enter items (`fn`, `use`, `const`), `let PAT = EXPR` bindings, or an expression.
Input continues on `..>` lines while brackets are open.
Commands:
  :type EXPR        the type of EXPR, without running it
  :emit STAGE FN    FN's text at STAGE (ast, ir, opt); parameter types come from
                    the bindings of the same names
  :load FILE        add the items of FILE
  :backend B        run on backend B (interp, cpu, wgpu, mlir)
  :help             this text
  :quit             leave (also Ctrl-D)";

/// The name of the REPL's source in diagnostics.
const SOURCE_NAME: &str = "<repl>";

/// What one input produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplOutput {
    /// Nothing to print (an empty line).
    Empty,
    /// Text for the user: a value, a type, an acknowledgement.
    Text(String),
    /// A rendered error; the REPL's state is unchanged.
    Error(String),
    /// `:quit`.
    Quit,
}

/// One persistent item: its identity (`fn NAME`, `const NAME`, or the text of a
/// `use`) and source text. A new item with the same identity replaces the old one.
#[derive(Clone, Debug)]
struct Item {
    key: String,
    text: String,
}

/// The REPL's state and line evaluator.
pub struct Repl {
    session: Session,
    items: Vec<Item>,
    /// `let` bindings in binding order; a rebinding replaces the value in place.
    bindings: Vec<(String, Value)>,
    /// Numbers the synthetic functions, so every line's function is distinct.
    counter: usize,
    color: bool,
}

impl Repl {
    pub fn new(backend: Backend) -> Result<Repl, Error> {
        Ok(Repl { session: Session::new(backend)?, items: Vec::new(), bindings: Vec::new(), counter: 0, color: false })
    }

    /// Render diagnostics with ANSI colours.
    pub fn set_color(&mut self, color: bool) {
        self.color = color;
    }

    /// The value bound to `name` by `let`, if any.
    pub fn binding(&self, name: &str) -> Option<&Value> {
        self.bindings.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Whether `input` has unclosed brackets, so that more lines should follow.
    pub fn is_incomplete(input: &str) -> bool {
        let mut depth = 0i64;
        for line in input.lines() {
            let code = line.split("//").next().unwrap_or("");
            for c in code.chars() {
                match c {
                    '(' | '[' | '{' => depth += 1,
                    ')' | ']' | '}' => depth -= 1,
                    _ => {}
                }
            }
        }
        depth > 0
    }

    /// Evaluate one (possibly multi-line) input.
    pub fn eval_line(&mut self, input: &str) -> ReplOutput {
        let line = input.trim();
        let result = if line.is_empty() {
            return ReplOutput::Empty;
        } else if matches!(line, ":quit" | ":q" | ":exit") {
            return ReplOutput::Quit;
        } else if let Some(command) = line.strip_prefix(':') {
            self.command(command)
        } else {
            match first_word(line) {
                "fn" | "pub" | "use" | "const" => self.define(SOURCE_NAME, line),
                _ if line.starts_with("///") => self.define(SOURCE_NAME, line),
                "let" => self.bind(line),
                _ => self.evaluate(line).map(|v| v.display()),
            }
        };
        match result {
            Ok(text) if text.is_empty() => ReplOutput::Empty,
            Ok(text) => ReplOutput::Text(text),
            Err(Error::Compile(d)) => {
                ReplOutput::Error(crate::render::render_diagnostics(&d.sources, &d.diagnostics, self.color).trim_end().to_string())
            }
            Err(e) => ReplOutput::Error(format!("error: {e}")),
        }
    }

    fn command(&mut self, command: &str) -> Result<String, Error> {
        let (name, rest) = command.split_once(char::is_whitespace).unwrap_or((command, ""));
        let rest = rest.trim();
        match name {
            "type" | "t" => self.with_expr(rest, |module, function, args| {
                let types: Vec<Option<ArgValue>> = args.iter().map(|v| Some(v.arg_type())).collect();
                let spec = module.specialize(function, &types)?;
                Ok(out_type_string(&spec.outputs, &spec.graph.output_types()))
            }),
            "emit" => {
                let (stage, function) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                self.emit(stage, function.trim())
            }
            "load" => self.load(Path::new(rest)),
            "backend" => {
                let backend = Backend::parse(rest)?;
                let mut session = Session::new(backend)?.with_mem_budget(self.session.mem_budget());
                for dir in self.session.module_dirs() {
                    session.add_module_dir(dir.clone());
                }
                self.session = session;
                Ok(format!("backend: {backend}"))
            }
            "help" | "h" | "?" => Ok(HELP.to_string()),
            _ => Err(Error::Usage(format!("unknown command `:{name}`; `:help` lists the commands"))),
        }
    }

    /// Add `:load`ed file's items; modules it uses are looked up next to it.
    fn load(&mut self, path: &Path) -> Result<String, Error> {
        if path.as_os_str().is_empty() {
            return Err(Error::Usage("`:load` needs a file".to_string()));
        }
        let text = std::fs::read_to_string(path).map_err(|error| Error::Io { path: path.to_path_buf(), error })?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if !self.session.module_dirs().contains(&dir) {
            self.session.add_module_dir(dir);
        }
        self.define(&path.display().to_string(), &text)
    }

    /// Add (or replace) items, keeping them only if the whole program still compiles.
    fn define(&mut self, name: &str, text: &str) -> Result<String, Error> {
        let file = parse(name, text)?;
        let mut items = self.items.clone();
        let mut defined = Vec::new();
        let mut prev_end = 0;
        for item in &file.items {
            let end = item_span(item).end;
            let chunk = text.get(prev_end..end).unwrap_or(text).trim().to_string();
            prev_end = end;
            let key = item_key(item, &chunk);
            if let ast::Item::Fn(f) = item {
                defined.push(f.name.name.clone());
            }
            match items.iter_mut().find(|i| i.key == key) {
                Some(old) => old.text = chunk,
                None => items.push(Item { key, text: chunk }),
            }
        }
        self.session.compile_source(SOURCE_NAME, items_source(&items))?;
        self.items = items;
        Ok(if defined.is_empty() { String::new() } else { format!("defined {}", defined.join(", ")) })
    }

    /// `let PAT = EXPR`: evaluate and bind every name of the pattern.
    fn bind(&mut self, line: &str) -> Result<String, Error> {
        let stmt = line.trim_end_matches(|c: char| c == ';' || c.is_whitespace());
        let header = "fn __repl_probe() {\n";
        // The `;` goes on a line of its own, after any `//` comment the input ends with.
        let probe = parse(SOURCE_NAME, &format!("{header}{stmt}\n;\n0\n}}")).map_err(|e| relocate(e, header.len(), stmt))?;
        let names = match probe.items.first() {
            Some(ast::Item::Fn(f)) if f.body.lets.len() == 1 => pattern_names(&f.body.lets[0].pattern),
            _ => return Err(Error::Usage("expected one `let PAT = EXPR` binding".to_string())),
        };
        let result = if names.len() == 1 { format!("({},)", names[0]) } else { format!("({})", names.join(", ")) };
        let value = self.with_synthetic(stmt, &format!("{stmt}\n;\n{result}"), call)?;
        let Value::Tuple(values) = value else {
            return Err(Error::Runtime("a `let` gave no tuple of bindings".to_string()));
        };
        let mut shown = Vec::new();
        for (name, value) in names.into_iter().zip(values) {
            shown.push(format!("{name}: {}", value.type_string()));
            match self.bindings.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = value,
                None => self.bindings.push((name, value)),
            }
        }
        Ok(shown.join("\n"))
    }

    fn evaluate(&mut self, expr: &str) -> Result<Value, Error> {
        self.with_expr(expr, call)
    }

    fn with_expr<T>(&mut self, expr: &str, run: impl FnOnce(&Module, &str, &[Value]) -> Result<T, Error>) -> Result<T, Error> {
        if expr.is_empty() {
            return Err(Error::Usage("expected an expression".to_string()));
        }
        self.with_synthetic(expr, expr, run)
    }

    /// Compile `fn __repl_N(<bindings mentioned in input>) {\nBODY\n}` and the items,
    /// and `run` it with the module, the function's name and its arguments. `BODY`
    /// starts with the user's `input`; diagnostics inside it point into the input itself.
    fn with_synthetic<T>(
        &mut self,
        input: &str,
        body: &str,
        run: impl FnOnce(&Module, &str, &[Value]) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.counter += 1;
        let function = format!("__repl_{}", self.counter);
        let mentioned = identifiers(input);
        let (params, args): (Vec<String>, Vec<Value>) = self
            .bindings
            .iter()
            .filter(|(name, _)| mentioned.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .unzip();
        // Items may follow their uses, so the input's line comes first.
        let header = format!("fn {function}({}) {{\n", params.join(", "));
        let source = format!("{header}{body}\n}}\n{}", items_source(&self.items));
        self.session
            .compile_source(SOURCE_NAME, source)
            .and_then(|module| run(&module, &function, &args))
            .map_err(|e| relocate(e, header.len(), input))
    }

    /// `:emit STAGE FN`.
    fn emit(&mut self, stage: &str, function: &str) -> Result<String, Error> {
        if function.is_empty() {
            return Err(Error::Usage("usage: `:emit STAGE FN`".to_string()));
        }
        match stage {
            "ast" => {
                let source = items_source(&self.items);
                let file = parse(SOURCE_NAME, &source)?;
                let items: Vec<ast::Item> =
                    file.items.into_iter().filter(|i| matches!(i, ast::Item::Fn(f) if f.name.name == function)).collect();
                if items.is_empty() {
                    return Err(Error::Usage(format!("no function `{function}` is defined")));
                }
                Ok(tc_syntax::pretty(&ast::File { items }).trim_end().to_string())
            }
            "ir" | "opt" => {
                let module = self.session.compile_source(SOURCE_NAME, items_source(&self.items))?;
                let info = module.function(function)?;
                let mut missing = Vec::new();
                let args: Vec<Option<ArgValue>> = info
                    .params
                    .iter()
                    .map(|p| {
                        let arg = self.binding(&p.name).map(Value::arg_type);
                        if arg.is_none() && !p.has_default {
                            missing.push(format!("`{}`", p.name));
                        }
                        arg
                    })
                    .collect();
                if !missing.is_empty() {
                    return Err(Error::Usage(format!(
                        "no binding for parameter {} of `{function}`; bind {} with `let` first",
                        missing.join(", "),
                        if missing.len() == 1 { "it" } else { "them" }
                    )));
                }
                let spec = module.specialize(function, &args)?;
                let graph = if stage == "ir" { spec.graph } else { optimize(&spec.graph) };
                let types: Vec<String> = args.iter().flatten().map(arg_type_string).collect();
                Ok(format!("// {function}({})\n{}", types.join(", "), tc_ir::text::print(&graph).trim_end()))
            }
            _ => Err(Error::Usage(format!("unknown stage `{stage}`; the REPL emits: ast, ir, opt"))),
        }
    }
}

/// Call a synthetic function with its arguments.
fn call(module: &Module, function: &str, args: &[Value]) -> Result<Value, Error> {
    let bound: Vec<Option<Value>> = args.iter().cloned().map(Some).collect();
    module.call_bound(function, &bound)
}

/// Move the labels of compile errors that lie in the user's `input` (at byte `start`
/// of the compiled root file, followed by a newline) into a file of the input alone,
/// so that they show the input's own lines and columns. A label on the token after
/// the newline (an unexpected end of the input) goes to the input's end.
fn relocate(error: Error, start: usize, input: &str) -> Error {
    let Error::Compile(mut d) = error else {
        return error;
    };
    let input_file = d.sources.add(SOURCE_NAME, input);
    let end = start + input.len();
    for diagnostic in &mut d.diagnostics {
        for label in std::iter::once(&mut diagnostic.primary).chain(&mut diagnostic.secondary) {
            let span = label.loc.span;
            if label.loc.file == d.root && start <= span.start && span.start <= end + 1 {
                let (lo, hi) = (span.start.min(end) - start, span.end.min(end) - start);
                label.loc = Loc { file: input_file, span: ast::Span::new(lo, hi.max(lo)) };
            }
        }
    }
    Error::Compile(d)
}

fn first_word(line: &str) -> &str {
    let end = line.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(line.len());
    &line[..end]
}

/// Every identifier-like word of `text` (a superset of the names it uses).
fn identifiers(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
        .collect()
}

fn parse(name: &str, text: &str) -> Result<ast::File, Error> {
    let (file, diagnostics) = tc_syntax::parse_file(FileId(0), text);
    if diagnostics.is_empty() {
        return Ok(file);
    }
    let mut sources = SourceMap::new();
    let root = sources.add(name, text);
    Err(Error::Compile(Diagnostics { sources, root, diagnostics }))
}

fn item_span(item: &ast::Item) -> ast::Span {
    match item {
        ast::Item::Use(u) => u.span,
        ast::Item::Const(c) => c.span,
        ast::Item::Fn(f) => f.span,
    }
}

fn item_key(item: &ast::Item, text: &str) -> String {
    match item {
        ast::Item::Use(_) => text.to_string(),
        ast::Item::Const(c) => format!("const {}", c.name.name),
        ast::Item::Fn(f) => format!("fn {}", f.name.name),
    }
}

fn items_source(items: &[Item]) -> String {
    items.iter().map(|i| format!("{}\n", i.text)).collect()
}

fn pattern_names(pattern: &ast::Pattern) -> Vec<String> {
    match pattern {
        ast::Pattern::Name(ident) => vec![ident.name.clone()],
        ast::Pattern::Wildcard(_) => Vec::new(),
        ast::Pattern::Tuple(elems, _) => elems.iter().flat_map(pattern_names).collect(),
    }
}

/// The interactive loop: `tc> ` prompts, `..> ` continuations, history in
/// `~/.tensorc_history`. `file`'s items are loaded first.
pub fn run(file: Option<&Path>, backend: Backend, color: bool) -> Result<(), Error> {
    let mut repl = Repl::new(backend)?;
    repl.set_color(color);
    say(&mut std::io::stdout(), "tensorc REPL; :help for help, :quit or Ctrl-D to leave");
    if let Some(path) = file {
        match repl.eval_line(&format!(":load {}", path.display())) {
            ReplOutput::Text(text) => say(&mut std::io::stdout(), &text),
            ReplOutput::Error(text) => say(&mut std::io::stderr(), &text),
            ReplOutput::Empty | ReplOutput::Quit => {}
        }
    }
    let mut editor = rustyline::DefaultEditor::new().map_err(|e| Error::Runtime(format!("cannot start the line editor: {e}")))?;
    let history = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".tensorc_history"));
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() { "tc> " } else { "..> " };
        match editor.readline(prompt) {
            Ok(line) => {
                buffer.push_str(&line);
                buffer.push('\n');
                if Repl::is_incomplete(&buffer) {
                    continue;
                }
                let input = std::mem::take(&mut buffer);
                let _ = editor.add_history_entry(input.trim_end());
                match repl.eval_line(&input) {
                    ReplOutput::Empty => {}
                    ReplOutput::Text(text) => say(&mut std::io::stdout(), &text),
                    ReplOutput::Error(text) => say(&mut std::io::stderr(), &text),
                    ReplOutput::Quit => break,
                }
            }
            Err(rustyline::error::ReadlineError::Interrupted) => buffer.clear(),
            Err(rustyline::error::ReadlineError::Eof) => break,
            Err(e) => return Err(Error::Runtime(format!("cannot read input: {e}"))),
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}

/// Print a line; a closed terminal is not worth a panic.
fn say(out: &mut impl std::io::Write, text: &str) {
    let _ = writeln!(out, "{text}");
}
