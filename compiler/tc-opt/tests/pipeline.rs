//! The pipeline's API: pass names, `run_until` (what `--dump-after=NAME` shows),
//! `simplify_traced`, and the debug-build verifier.

use tc_ir::text::{parse, print};
use tc_opt::{run_pass, run_until, simplify, simplify_traced, PASSES};

const INPUT: &str = "\
fn f(%0: f32[3]) -> (f32[3]) {
  %1 = const [1.0, 2.0, 3.0] : f32[3]
  %2 = const [0.0, 0.0, 0.0] : f32[3]
  %3 = mul %1, %2 : f32[3]
  %4 = sub %0, %3 : f32[3]
  %5 = exp %4 : f32[3]
  %6 = exp %4 : f32[3]
  %7 = add %5, %6 : f32[3]
  return %7
}
";

#[test]
fn pass_names() {
    assert_eq!(PASSES, &["fold", "algebra", "cse", "dce"]);
    let g = parse(INPUT).unwrap();
    for name in PASSES {
        run_pass(name, &g).unwrap();
    }
    assert_eq!(
        run_pass("fuse", &g).unwrap_err().to_string(),
        "unknown pass `fuse` (the passes are fold, algebra, cse, dce)"
    );
    assert!(run_until(&g, "fuse").is_err());
}

#[test]
fn run_until_stops_after_the_named_pass() {
    let g = parse(INPUT).unwrap();
    let mut expect = g.clone();
    for name in PASSES {
        expect = run_pass(name, &expect).unwrap();
        assert_eq!(print(&run_until(&g, name).unwrap()), print(&expect), "after {name}");
    }
}

#[test]
fn dump_after_every_pass() {
    let g = parse(INPUT).unwrap();
    let mut dump = String::new();
    let out = simplify_traced(&g, |name, round, graph| {
        dump.push_str(&format!("// after {name} (round {round})\n{}", print(graph)));
    });
    assert_eq!(print(&out), print(&simplify(&g)));
    insta::assert_snapshot!(dump);
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "simplify was given an invalid graph: %2 (add): operand types differ")]
fn invalid_input_is_caught_in_debug_builds() {
    let g = parse("fn f(%0: f32[3], %1: f32[2]) -> (f32[3]) {\n  %2 = add %0, %1 : f32[3]\n  return %2\n}\n").unwrap();
    simplify(&g);
}
