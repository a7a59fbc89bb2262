//! Parameter donation: the text form round-trips it, the verifier checks the pairs, and
//! `donated_nodes` reuses a parameter's storage exactly when the rule says.

use tc_ir::donate::{donated_nodes, pair_by_type};
use tc_ir::Donation;
use tc_ir::text::{parse, print};
use tc_ir::verify::verify;

/// `w - lr * g` for a parameter `w` and a matmul that reads it later or not.
const STEP: &str = "\
fn step(%0: f32[2, 2], %1: f32[2, 2], %2: f32) -> (f32[2, 2], f32[2, 2]) donate(0 -> 0, 1 -> 1) {
  %3 = broadcast[dims=[]] %2 : f32[2, 2]
  %4 = mul %3, %1 : f32[2, 2]
  %5 = sub %0, %4 : f32[2, 2]
  %6 = matmul %1, %1 : f32[2, 2]
  return %5, %6
}
";

#[test]
fn donations_print_and_parse() {
    let g = parse(STEP).unwrap();
    verify(&g).unwrap();
    assert_eq!(g.donations.len(), 2);
    assert_eq!(print(&g), STEP);
    assert!(parse(&print(&g)).unwrap().bitwise_eq(&g));
    let err = parse(&STEP.replace("donate(0 -> 0,", "donate(0 0,")).unwrap_err();
    assert!(err.to_string().contains("expected `->`"), "{err}");
}

#[test]
fn verifier_checks_the_pairs() {
    let bad = |from: &str, to: &str| verify(&parse(&STEP.replace(from, to)).unwrap()).unwrap_err().to_string();
    assert!(bad("donate(0 -> 0, 1 -> 1)", "donate(2 -> 0)").contains("parameter 2 is f32 but output 0 is f32[2, 2]"));
    assert!(bad("donate(0 -> 0, 1 -> 1)", "donate(3 -> 0)").contains("parameter 3, which does not exist"));
    assert!(bad("donate(0 -> 0, 1 -> 1)", "donate(0 -> 2)").contains("output 2, which does not exist"));
    assert!(bad("donate(0 -> 0, 1 -> 1)", "donate(0 -> 0, 0 -> 1)").contains("parameter 0 is donated twice"));
    assert!(bad("donate(0 -> 0, 1 -> 1)", "donate(0 -> 0, 1 -> 0)").contains("output 0 is donated twice"));
}

#[test]
fn storage_is_reused_only_when_the_parameter_is_dead() {
    let g = parse(STEP).unwrap();
    let donated = donated_nodes(&g);
    // `sub %0, ..` overwrites %0 elementwise; %6 is a matmul reading its own donor.
    assert_eq!((0..g.nodes.len()).filter(|&i| donated[i]).collect::<Vec<_>>(), vec![5]);
    // A later reader of %0 keeps the update from taking its storage.
    let later = parse(&STEP.replace("%6 = matmul %1, %1", "%6 = matmul %0, %1")).unwrap();
    assert!(donated_nodes(&later).iter().all(|d| !d));
    // A parameter that is also returned is never overwritten.
    let returned = parse(
        "fn f(%0: f32[2]) -> (f32[2], f32[2]) donate(0 -> 0) {\n  %1 = neg %0 : f32[2]\n  return %1, %0\n}\n",
    )
    .unwrap();
    assert!(donated_nodes(&returned).iter().all(|d| !d));
    // An output that is a parameter is not written at all.
    let identity = parse("fn f(%0: f32[2], %1: f32[2]) -> (f32[2]) donate(0 -> 0) {\n  return %1\n}\n").unwrap();
    verify(&identity).unwrap();
    assert!(donated_nodes(&identity).iter().all(|d| !d));
}

#[test]
fn parameters_pair_with_the_first_free_output_of_their_type() {
    let g = parse(STEP).unwrap();
    // Both f32[2, 2] parameters find an output; the scalar finds none.
    assert_eq!(pair_by_type(&g, &[1, 0, 2]), vec![Donation { param: 1, output: 0 }, Donation { param: 0, output: 1 }]);
    assert_eq!(pair_by_type(&g, &[0, 0]), vec![Donation { param: 0, output: 0 }]);
}
