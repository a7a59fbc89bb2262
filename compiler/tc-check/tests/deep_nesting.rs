//! The checker's recursion is bounded by expression nesting (at most
//! `tc_syntax::MAX_NESTING` in a function) within call nesting (at most 64 levels); a
//! program at both bounds checks and elaborates on an ordinary test thread (2 MiB)
//! without overflowing the stack.

use tc_check::{ArgValue, ModuleLoader};
use tc_ir::Type;
use tc_syntax::diag::SourceMap;
use tc_tensor::DType;

struct NoModules;

impl ModuleLoader for NoModules {
    fn load(&self, _name: &str, _from: &str) -> Option<(String, String)> {
        None
    }
}

/// 63 functions, each adding 1 around its callee's result under `depth` parentheses.
fn nested_calls(depth: usize) -> String {
    let mut src = String::from("fn f0(x) { x }\n");
    for i in 1..63 {
        let body = format!("{}f{}(x){}", "(".repeat(depth), i - 1, " + 1.0)".repeat(depth));
        src.push_str(&format!("fn f{i}(x) {{ {body} }}\n"));
    }
    src.push_str("fn main(x: f32[2]) { f62(x) }\n");
    src
}

#[test]
fn calls_nested_in_deep_expressions_check_without_overflowing() {
    // Each level is a parenthesis and an operator, both counted against the limit.
    let depth = tc_syntax::MAX_NESTING / 2 - 4;
    let mut sources = SourceMap::new();
    let root = sources.add("deep.tc", nested_calls(depth));
    let program = tc_check::compile(&mut sources, root, &NoModules).unwrap_or_else(|d| panic!("{d:#?}"));
    let args = [Some(ArgValue::Tensor(Type::new(DType::F32, vec![2])))];
    let spec = program.specialize("main", &args).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(spec.graph.nodes.len() > 62 * depth, "{} nodes", spec.graph.nodes.len());
}
