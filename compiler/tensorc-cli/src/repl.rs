//! The REPL (SPEC §7): `fn`, `use` and `const` items and `let` bindings persist across
//! lines; an expression line prints its type and value.
//!
//! Every line is compiled as a fresh program made of the items defined so far and one
//! synthetic function whose parameters are the bindings the line mentions:
//! - `let PAT = EXPR;` becomes `fn __repl_N(<bound names>) { let PAT = EXPR; (<names in PAT>,) }`,
//!   and the results are stored as the new bindings (shadowing older ones);
//! - `EXPR` becomes `fn __repl_N(<bound names>) { EXPR }`, called and printed.
//!
//! Errors in the input are shown against the input alone (`<repl>:1:5`), and errors in
//! an item against the input or the `:load`ed file it came from (`lib.tc:2:9`).
//!
//! [`Repl`] is the line evaluator, separate from the terminal loop ([`run`]) so that it
//! can be tested.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tc_check::ArgValue;
use tc_syntax::ast;
use tc_syntax::diag::{FileId, Loc};
use tc_syntax::lexer::bom_len;

use tensorc::emit::{self, STAGES};
use tensorc::{arg_type_string, out_type_string};
use tensorc::{parse_type, Backend, Error, Module, Session, Value};

/// The text of `:help`.
fn help() -> String {
    format!(
        "\
Enter items (`fn`, `use`, `const`), `let PAT = EXPR` bindings, or an expression.
Input continues on `..>` lines while brackets are open.
Commands:
  :type EXPR        the type of EXPR, without running it
  :emit STAGE FN [NAME=TYPE ...]
                    FN's text at STAGE, as `tensorc emit` prints it; each
                    parameter's type is the one given (`x=f32[2, 3]`, or `x=y`
                    for the type of the binding `y`), else that of the binding
                    named like the parameter
                    STAGE: {}
  :load FILE        add the items of FILE
  :backend [B]      run on backend B; without B, show the backend and those available
  :help             this text
  :quit             leave (also Ctrl-D)",
        STAGES.join(", ")
    )
}

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

/// Text the items came from: an input or a `:load`ed file, named as diagnostics show it.
#[derive(Debug)]
struct Source {
    name: String,
    text: String,
}

/// One persistent item: its identity (`fn NAME`, `const NAME`, or the text of a
/// `use`), source text, and where that text starts in its source. A new item with the
/// same identity replaces the old one.
#[derive(Clone, Debug)]
struct Item {
    key: String,
    text: String,
    source: Arc<Source>,
    start: usize,
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
                ReplOutput::Error(tensorc::render::render_diagnostics(&d.sources, &d.diagnostics, self.color).trim_end().to_string())
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
            "emit" => self.emit(rest),
            "load" => self.load(Path::new(rest)),
            "backend" if rest.is_empty() => {
                let available: Vec<&str> = Backend::available().iter().map(|b| b.name()).collect();
                Ok(format!("backend: {}; available: {}", self.session.backend(), available.join(", ")))
            }
            "backend" => {
                let backend = Backend::parse(rest)?;
                let mut session = Session::new(backend)?.with_mem_budget(self.session.mem_budget());
                for dir in self.session.module_dirs() {
                    session.add_module_dir(dir.clone());
                }
                self.session = session;
                Ok(format!("backend: {backend}"))
            }
            "help" | "h" | "?" => Ok(help()),
            _ => Err(Error::Usage(format!("unknown command `:{name}`; `:help` lists the commands"))),
        }
    }

    /// Add `:load`ed file's items; modules it uses are looked up next to it.
    fn load(&mut self, path: &Path) -> Result<String, Error> {
        if path.as_os_str().is_empty() {
            return Err(Error::Usage("`:load` needs a file".to_string()));
        }
        let text = tensorc::read_source(path)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if !self.session.module_dirs().contains(&dir) {
            self.session.add_module_dir(dir);
        }
        // Items are recompiled one after another, where a byte-order mark is no longer
        // the start of a file; without it the file's lines and columns stay the same.
        self.define(&path.display().to_string(), &text[bom_len(&text)..])
    }

    /// Add (or replace) the items of `text`, an input or the file `name`, keeping them
    /// only if the whole program still compiles.
    fn define(&mut self, name: &str, text: &str) -> Result<String, Error> {
        let file = emit::parse(name, text)?;
        let source = Arc::new(Source { name: name.to_string(), text: text.to_string() });
        let mut items = self.items.clone();
        let mut defined = Vec::new();
        let mut prev_end = 0;
        for item in &file.items {
            let end = item_span(item).end;
            // The item with the comments before it, such as its doc comment.
            let (from, chunk) = text.get(prev_end..end).map_or((0, text), |chunk| (prev_end, chunk));
            prev_end = end;
            let start = from + chunk.len() - chunk.trim_start().len();
            let chunk = chunk.trim().to_string();
            let key = item_key(item, &chunk);
            if let ast::Item::Fn(f) = item {
                defined.push(f.name.name.clone());
            }
            let new = Item { key, text: chunk, source: Arc::clone(&source), start };
            match items.iter_mut().find(|i| i.key == new.key) {
                Some(old) => *old = new,
                None => items.push(new),
            }
        }
        self.with_items(&items, |_| Ok(()))?;
        self.items = items;
        Ok(if defined.is_empty() { String::new() } else { format!("defined {}", defined.join(", ")) })
    }

    /// Compile the program of `items` alone and `run` something on it; diagnostics
    /// point into where each item came from.
    fn with_items<T>(&self, items: &[Item], run: impl FnOnce(&Module) -> Result<T, Error>) -> Result<T, Error> {
        self.session
            .compile_source(SOURCE_NAME, items_source(items))
            .and_then(|module| run(&module))
            .map_err(|e| relocate(e, &item_segments(items, 0)))
    }

    /// `let PAT = EXPR`: evaluate and bind every name of the pattern.
    fn bind(&mut self, line: &str) -> Result<String, Error> {
        let stmt = line.trim_end_matches(|c: char| c == ';' || c.is_whitespace());
        let header = "fn __repl_probe() {\n";
        // The `;` goes on a line of its own, after any `//` comment the input ends with.
        let probe = emit::parse(SOURCE_NAME, &format!("{header}{stmt}\n;\n0\n}}"))
            .map_err(|e| relocate(e, &[Segment::input(header.len(), stmt)]))?;
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
    /// starts with the user's `input`; diagnostics inside it point into the input itself,
    /// and those in items into where each item came from.
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
        let mut segments = vec![Segment::input(header.len(), input)];
        segments.extend(item_segments(&self.items, header.len() + body.len() + "\n}\n".len()));
        self.session
            .compile_source(SOURCE_NAME, source)
            .and_then(|module| run(&module, &function, &args))
            .map_err(|e| relocate(e, &segments))
    }

    /// `:emit STAGE FN [NAME=TYPE ...]` (see [`help`]), printed by [`emit::graph_stage`]
    /// as `tensorc emit` prints it, after a line with the parameter types.
    fn emit(&self, rest: &str) -> Result<String, Error> {
        let words = words(rest);
        let [stage, function, given @ ..] = words.as_slice() else {
            return Err(Error::Usage("usage: `:emit STAGE FN [NAME=TYPE ...]`".to_string()));
        };
        emit::check_stage(stage)?;
        if *stage == "ast" {
            if !given.is_empty() {
                return Err(Error::Usage("the `ast` stage takes no parameter types".to_string()));
            }
            let file = emit::parse(SOURCE_NAME, &items_source(&self.items))?;
            let items: Vec<ast::Item> =
                file.items.into_iter().filter(|i| matches!(i, ast::Item::Fn(f) if f.name.name == *function)).collect();
            if items.is_empty() {
                return Err(Error::Usage(format!("no function `{function}` is defined")));
            }
            return Ok(tc_syntax::pretty(&ast::File { items }).trim_end().to_string());
        }
        let named = given.iter().map(|text| self.emit_arg(text)).collect::<Result<Vec<_>, _>>()?;
        self.with_items(&self.items, |module| self.emit_graph(module, stage, function, named))
    }

    /// A stage after `ast` of `:emit`: `named` holds the types given, the bindings named
    /// like the parameters give the others.
    fn emit_graph(&self, module: &Module, stage: &str, function: &str, mut named: Vec<(String, ArgValue)>) -> Result<String, Error> {
        let info = module.function(function)?;
        let mut missing = Vec::new();
        for param in &info.params {
            if named.iter().any(|(name, _)| *name == param.name) {
                continue;
            }
            match self.binding(&param.name) {
                Some(value) => named.push((param.name.clone(), value.arg_type())),
                None if !param.has_default => missing.push(&param.name),
                None => {}
            }
        }
        if let Some(example) = missing.first() {
            let list = missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ");
            let them = if missing.len() == 1 { "it" } else { "them" };
            return Err(Error::Usage(format!(
                "no type for parameter {list} of `{function}`; bind {them} with `let`, or give types: `:emit {stage} {function} {example}=f32[2, 3]`"
            )));
        }
        let args = module.bind(function, named)?;
        let text = emit::graph_stage(module, function, &args, &[], stage)?;
        let shown: Vec<String> = info
            .params
            .iter()
            .zip(&args)
            .filter_map(|(param, arg)| arg.as_ref().map(|arg| format!("{}: {}", param.name, arg_type_string(arg))))
            .collect();
        Ok(format!("// {function}({})\n{}", shown.join(", "), text.trim_end()))
    }

    /// One `NAME=TYPE` or `NAME=BINDING` of `:emit`.
    fn emit_arg(&self, text: &str) -> Result<(String, ArgValue), Error> {
        let Some((name, value)) = text.split_once('=') else {
            return Err(Error::Usage(format!("expected NAME=TYPE, got `{text}`")));
        };
        let value = value.trim();
        let arg = match (parse_type(value), self.binding(value)) {
            (Some(ty), _) => ArgValue::Tensor(ty),
            (None, Some(bound)) => bound.arg_type(),
            (None, None) => {
                return Err(Error::Usage(format!("`{value}` in `{text}` is neither a type like f32[2, 3] nor a binding")))
            }
        };
        Ok((name.trim().to_string(), arg))
    }
}

/// Call a synthetic function with its arguments.
fn call(module: &Module, function: &str, args: &[Value]) -> Result<Value, Error> {
    let bound: Vec<Option<Value>> = args.iter().cloned().map(Some).collect();
    module.call_bound(function, &bound)
}

/// A stretch of the compiled root file, `len` bytes from byte `at`, copied from byte
/// `start` of `source`.
struct Segment {
    at: usize,
    len: usize,
    source: Arc<Source>,
    start: usize,
    /// The user's input line (not an item).
    is_input: bool,
}

impl Segment {
    /// The user's `input` at byte `at` of the compiled file, followed by a newline. A
    /// label on the token after the newline (an unexpected end of the input) goes to the
    /// input's end.
    fn input(at: usize, input: &str) -> Segment {
        let source = Arc::new(Source { name: SOURCE_NAME.to_string(), text: input.to_string() });
        Segment { at, len: input.len() + 1, source, start: 0, is_input: true }
    }

    /// Whether byte `offset` of the compiled file is past this input: a token the REPL
    /// wrote after it (the `}` that closes its function), not one the user typed.
    fn is_past_input(&self, offset: usize) -> bool {
        self.is_input && offset >= self.at + self.len
    }

    /// Where byte `offset` of the compiled file lies in the source.
    fn map(&self, offset: usize) -> usize {
        (self.start + offset.clamp(self.at, self.at + self.len) - self.at).min(self.source.text.len())
    }
}

/// The segments of `items` as [`items_source`] lays them out from byte `at` on.
fn item_segments(items: &[Item], mut at: usize) -> Vec<Segment> {
    let mut segments = Vec::with_capacity(items.len());
    for item in items {
        segments.push(Segment { at, len: item.text.len(), source: Arc::clone(&item.source), start: item.start, is_input: false });
        at += item.text.len() + 1;
    }
    segments
}

/// Move the labels of compile errors that lie in one of `segments` of the compiled root
/// file into the text that segment came from, so that they show its own name, lines and
/// columns.
fn relocate(error: Error, segments: &[Segment]) -> Error {
    let Error::Compile(mut d) = error else {
        return error;
    };
    // One file per source, however many labels point into it.
    let mut files: Vec<(Arc<Source>, FileId)> = Vec::new();
    for diagnostic in &mut d.diagnostics {
        let offset = diagnostic.primary.loc.span.start;
        let in_root = diagnostic.primary.loc.file == d.root;
        let in_item = segments.iter().any(|s| !s.is_input && (s.at..s.at + s.len).contains(&offset));
        if diagnostic.code == "E0001" && in_root && !in_item && segments.iter().any(|s| s.is_past_input(offset)) {
            // "but found `}`": a token of the REPL's making; for the user the input ended.
            if let Some(at) = diagnostic.message.rfind(" but found ") {
                diagnostic.message.truncate(at);
                diagnostic.message.push_str(" but the input ends");
            }
        }
        for label in std::iter::once(&mut diagnostic.primary).chain(&mut diagnostic.secondary) {
            let span = label.loc.span;
            let Some(segment) =
                segments.iter().find(|s| label.loc.file == d.root && (s.at..=s.at + s.len).contains(&span.start))
            else {
                continue;
            };
            let file = match files.iter().find(|(source, _)| Arc::ptr_eq(source, &segment.source)) {
                Some((_, file)) => *file,
                None => {
                    let file = d.sources.add(segment.source.name.clone(), segment.source.text.clone());
                    files.push((Arc::clone(&segment.source), file));
                    file
                }
            };
            label.loc = Loc { file, span: ast::Span::new(segment.map(span.start), segment.map(span.end)) };
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

/// Split at whitespace outside brackets, so that `x=f32[2, 3]` is one word.
fn words(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut depth = 0i64;
    let mut start = None;
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ => {}
        }
        if c.is_whitespace() && depth <= 0 {
            if let Some(from) = start.take() {
                words.push(&text[from..i]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    words.extend(start.map(|from| &text[from..]));
    words
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
