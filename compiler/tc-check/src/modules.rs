//! Module loading and item tables: the root file, every module it `use`s (found by a
//! [`ModuleLoader`]), their functions and constants, and what each file imports.

use std::collections::HashMap;

use tc_syntax::ast::{self, Item, Span};
use tc_syntax::diag::{Diagnostic, FileId, Loc, SourceMap};

use crate::ModuleLoader;

/// One parsed file and its item tables.
pub(crate) struct Module {
    pub file: FileId,
    /// Whether the module comes from the standard library (not re-checked per compile).
    pub is_stdlib: bool,
    pub ast: ast::File,
    pub fns: HashMap<String, usize>,
    pub consts: HashMap<String, usize>,
    /// `use nn;` makes `nn` name module index `usize`.
    pub modules: HashMap<String, usize>,
    /// `use nn::{relu};` makes `relu` name item `relu` of module `usize`.
    pub imports: HashMap<String, (usize, String, Span)>,
}

impl Module {
    pub fn fn_item(&self, name: &str) -> Option<&ast::FnItem> {
        match self.fns.get(name).map(|&i| &self.ast.items[i]) {
            Some(Item::Fn(f)) => Some(f),
            _ => None,
        }
    }

    /// Whether `name` is a function declared without `pub` (usable only in its module).
    pub fn is_private_fn(&self, name: &str) -> bool {
        self.fn_item(name).is_some_and(|f| !f.is_pub)
    }

    pub fn const_item(&self, name: &str) -> Option<&ast::ConstItem> {
        match self.consts.get(name).map(|&i| &self.ast.items[i]) {
            Some(Item::Const(c)) => Some(c),
            _ => None,
        }
    }
}

/// Parse `root` and, transitively, every module it uses. Modules are identified by
/// the display name the loader gives them, so each is parsed once.
pub(crate) fn load_all(
    sources: &mut SourceMap,
    root: FileId,
    loader: &dyn ModuleLoader,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Module> {
    let mut modules = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let (ast, errs) = tc_syntax::parse_file(root, sources.text(root));
    diags.extend(errs);
    modules.push(new_module(root, false, ast, diags));
    by_name.insert(sources.name(root).to_string(), 0);

    let mut next = 0;
    while next < modules.len() {
        let uses: Vec<ast::UseItem> = modules[next]
            .ast
            .items
            .iter()
            .filter_map(|it| if let Item::Use(u) = it { Some(u.clone()) } else { None })
            .collect();
        let from_file = modules[next].file;
        for u in uses {
            let name: Vec<&str> = u.path.segments.iter().map(|s| s.name.as_str()).collect();
            let name = name.join("/");
            let Some((display, text)) = loader.load(&name, sources.name(from_file)) else {
                diags.push(
                    Diagnostic::new("E0101", Loc { file: from_file, span: u.path.span }, format!("no module named `{}`", name.replace('/', "::")))
                        .with_label("not found")
                        .with_hint(format!("looked for `{name}.tc` next to this file and in the standard library")),
                );
                continue;
            };
            let index = match by_name.get(&display) {
                Some(&i) => i,
                None => {
                    let is_stdlib = display.starts_with("<stdlib>");
                    let file = sources.add(display.clone(), text);
                    let (ast, errs) = tc_syntax::parse_file(file, sources.text(file));
                    diags.extend(errs);
                    modules.push(new_module(file, is_stdlib, ast, diags));
                    by_name.insert(display, modules.len() - 1);
                    modules.len() - 1
                }
            };
            let alias = u.path.segments.last().map(|s| s.name.clone()).unwrap_or_default();
            match &u.names {
                None => {
                    modules[next].modules.insert(alias, index);
                }
                Some(names) => {
                    for n in names {
                        modules[next].imports.insert(n.name.clone(), (index, n.name.clone(), n.span));
                    }
                }
            }
        }
        next += 1;
    }
    check_imports(&modules, diags);
    modules
}

fn new_module(file: FileId, is_stdlib: bool, ast: ast::File, diags: &mut Vec<Diagnostic>) -> Module {
    let mut fns = HashMap::new();
    let mut consts = HashMap::new();
    let mut seen: HashMap<String, Span> = HashMap::new();
    for (i, item) in ast.items.iter().enumerate() {
        let (name, table) = match item {
            Item::Fn(f) => (&f.name, &mut fns),
            Item::Const(c) => (&c.name, &mut consts),
            Item::Use(_) => continue,
        };
        if let Some(first) = seen.get(&name.name) {
            diags.push(
                Diagnostic::new("E0103", Loc { file, span: name.span }, format!("`{}` is defined twice", name.name))
                    .with_label("second definition")
                    .with_secondary(Loc { file, span: *first }, "first defined here"),
            );
            continue;
        }
        seen.insert(name.name.clone(), name.span);
        table.insert(name.name.clone(), i);
    }
    Module { file, is_stdlib, ast, fns, consts, modules: HashMap::new(), imports: HashMap::new() }
}

/// Every `use m::{name}` must name an item of `m`, and a function only if it is `pub`.
fn check_imports(modules: &[Module], diags: &mut Vec<Diagnostic>) {
    for (index, m) in modules.iter().enumerate() {
        let mut imports: Vec<&(usize, String, Span)> = m.imports.values().collect();
        imports.sort_by_key(|(_, _, span)| span.start);
        for (target_index, item, span) in imports {
            let target = &modules[*target_index];
            let at = Loc { file: m.file, span: *span };
            if !target.fns.contains_key(item) && !target.consts.contains_key(item) {
                diags.push(Diagnostic::new("E0104", at, format!("module has no item named `{item}`")).with_label("not found in the module"));
            } else if *target_index != index && target.is_private_fn(item) {
                diags.push(private_item(modules, *target_index, item, at));
            }
        }
    }
}

/// E0105: the function `item` of module `module` is used at `at`, outside its module,
/// but is not `pub`. Constants have no `pub` and are always public.
pub(crate) fn private_item(modules: &[Module], module: usize, item: &str, at: Loc) -> Diagnostic {
    let target = &modules[module];
    let mut d = Diagnostic::new("E0105", at, format!("function `{item}` is private to its module")).with_label("private function");
    if let Some(f) = target.fn_item(item) {
        d = d.with_secondary(Loc { file: target.file, span: f.name.span }, "declared here without `pub`");
    }
    d.with_hint(format!("declare it `pub fn {item}` to use it from other modules"))
}
