//! The text form: every op prints and parses back to the same graph, constants of every
//! dtype round-trip bit for bit, parse errors point at the right place, and the parser
//! never panics.

use proptest::prelude::*;
use tc_ir::text::{parse, print};
use tc_ir::verify::verify;
use tc_ir::{BinaryOp, Graph, NodeId, Op, Type, UnaryOp};
use tc_tensor::{DType, Data, Tensor};

/// Parse, verify, print: the text must come back unchanged, and the graph must survive
/// another round.
fn check_canonical(text: &str) -> Graph {
    let g = parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    verify(&g).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(print(&g), text);
    assert!(parse(&print(&g)).unwrap().bitwise_eq(&g));
    g
}

fn round_trip(g: &Graph) {
    let text = print(g);
    let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(&back, g, "\n{text}");
    assert_eq!(print(&back), text);
}

const ALL_OPS: &str = "\
fn all_ops(%0: f32[2, 3], %1: i32[4], %2: f32[1, 2, 5, 5], %3: i64) -> (f32[2, 3], f32[2, 2], f32[1, 3, 5, 3], f32[1, 2, 5, 5]) {
  %4 = const [[1.0, -2.5, 0.1], [nan, inf, -inf]] : f32[2, 3]
  %5 = add %0, %4 : f32[2, 3]
  %6 = exp %5 : f32[2, 3]
  %7 = lt %5, %6 : bool[2, 3]
  %8 = select %7, %5, %6 : f32[2, 3]
  %9 = cast %8 : f16[2, 3]
  %10 = reduce[op=sum, axes=[1]] %8 : f32[2]
  %11 = argreduce[op=argmax, axis=0] %8 : i32[3]
  %12 = broadcast[dims=[0]] %10 : f32[2, 3]
  %13 = reshape %12 : f32[3, 2]
  %14 = transpose[perm=[1, 0]] %13 : f32[2, 3]
  %15 = reverse[axes=[0, 1]] %14 : f32[2, 3]
  %16 = slice[start=[0, 1], end=[2, 3]] %15 : f32[2, 2]
  %17 = const 0.0 : f32
  %18 = pad[lo=[0, 1], hi=[0, 0]] %16, %17 : f32[2, 3]
  %19 = concat[axis=0] %18, %15, %14 : f32[6, 3]
  %20 = gather[axis=1] %0, %1 : f32[2, 4]
  %21 = scatter_add[axis=1] %1, %20 : f32[2, 3]
  %22 = matmul %21, %13 : f32[2, 2]
  %23 = iota[axis=1] : i32[2, 3]
  %24 = random[normal] %3 : f32[3, 3]
  %25 = random[uniform] %3 : bf16[2]
  %26 = const [[[[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]], [[0.5, 0.5, 0.5], [0.0, 0.0, 0.0], [-0.5, -0.5, -0.5]]], [[[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]], [[[0.25, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.25]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]] : f32[3, 2, 3, 3]
  %27 = conv2d[stride=[1, 1], pad=[(1, 1), (0, 0)], dilation=[1, 1]] %2, %26 : f32[1, 3, 5, 3]
  %28 = pool[kind=max, size=[2, 2], stride=[2, 2]] %2 : f32[1, 2, 2, 2]
  %29 = pool_grad[kind=avg, size=[2, 2], stride=[2, 2]] %2, %28 : f32[1, 2, 5, 5]
  %30 = conv2d[stride=[2, 1], pad=[(0, 0), (2, 3)], dilation=[1, 2]] %2, %26 : f32[1, 3, 2, 6]
  return %21, %22, %27, %29
}
";

#[test]
fn every_op_round_trips() {
    let g = check_canonical(ALL_OPS);
    // The structural ops appear with their attributes.
    let mnemonics: Vec<&str> = g.nodes.iter().map(|n| n.op.mnemonic()).collect();
    for m in [
        "param",
        "const",
        "iota",
        "random",
        "add",
        "exp",
        "lt",
        "select",
        "cast",
        "reduce",
        "argreduce",
        "broadcast",
        "reshape",
        "transpose",
        "reverse",
        "slice",
        "pad",
        "concat",
        "gather",
        "scatter_add",
        "matmul",
        "conv2d",
        "pool",
        "pool_grad",
    ] {
        assert!(mnemonics.contains(&m), "{m} is not covered");
    }
}

#[test]
fn every_unary_and_binary_op_round_trips() {
    for u in UnaryOp::ALL {
        let dtype = if u == UnaryOp::Not { DType::Bool } else { DType::F32 };
        let mut g = Graph::new("u");
        let ty = Type::new(dtype, vec![3]);
        let x = g.push(Op::Param(0), vec![], ty.clone());
        let y = g.push(Op::Unary(u), vec![x], ty);
        g.outputs.push(y);
        verify(&g).unwrap();
        round_trip(&g);
        assert!(print(&g).contains(&format!("= {} %0 :", u.name())));
    }
    for b in BinaryOp::ALL {
        let dtype = if b.is_logical() { DType::Bool } else { DType::F64 };
        let mut g = Graph::new("b");
        let ty = Type::new(dtype, vec![2, 1]);
        let x = g.push(Op::Param(0), vec![], ty.clone());
        let y = g.push(Op::Param(1), vec![], ty.clone());
        let z = g.push(Op::Binary(b), vec![x, y], ty.with_dtype(b.result_dtype(dtype)));
        g.outputs.push(z);
        verify(&g).unwrap();
        round_trip(&g);
        assert!(print(&g).contains(&format!("= {} %0, %1 :", b.name())));
    }
}

#[test]
fn parameters_out_of_order_keep_their_positions() {
    // Param 1 comes first in node order, param 0 after a constant.
    let text = "\
fn f(%2: f32[3], %0: f32[3]) -> (f32[3]) {
  %1 = const [1.0, 2.0, 3.0] : f32[3]
  %3 = mul %2, %0 : f32[3]
  %4 = add %3, %1 : f32[3]
  return %4
}
";
    let g = check_canonical(text);
    assert_eq!(g.nodes[0].op, Op::Param(1));
    assert_eq!(g.nodes[2].op, Op::Param(0));
}

#[test]
fn malformed_parameters_print_inline() {
    // Indices with a gap and a repeat cannot be a header; they print (and parse) inline.
    let mut g = Graph::new("f");
    let ty = Type::scalar(DType::I32);
    g.push(Op::Param(2), vec![], ty.clone());
    g.push(Op::Param(2), vec![], ty.clone());
    let c = g.push(Op::Const(Tensor::from_i32(vec![], vec![7]).unwrap()), vec![], ty.clone());
    g.outputs = vec![c, NodeId(0)];
    let text = print(&g);
    assert_eq!(
        text,
        "fn f() -> (i32, i32) {\n  %0 = param[2] : i32\n  %1 = param[2] : i32\n  %2 = const 7 : i32\n  return %2, %0\n}\n"
    );
    round_trip(&g);
    assert!(verify(&g).is_err());
}

#[test]
fn empty_and_odd_graphs() {
    round_trip(&Graph::new("nothing"));
    let mut g = Graph::new("with space-and \"quotes\"\n");
    let x = g.push(Op::Param(0), vec![], Type::scalar(DType::U8));
    g.outputs = vec![x, x];
    round_trip(&g);
    assert!(print(&g).starts_with("fn \"with space-and \\\"quotes\\\"\\n\"(%0: u8) -> (u8, u8) {"));
}

fn const_graph(t: Tensor) -> Graph {
    let mut g = Graph::new("c");
    let ty = Type::new(t.dtype(), t.shape().to_vec());
    let c = g.push(Op::Const(t), vec![], ty);
    g.outputs.push(c);
    g
}

/// A constant round-trips bit for bit (NaN payloads included).
fn const_round_trip(t: Tensor) {
    let g = const_graph(t.clone());
    let text = print(&g);
    let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let Op::Const(b) = &back.nodes[0].op else { panic!() };
    assert_eq!(b.shape(), t.shape());
    assert_eq!(b.dtype(), t.dtype());
    assert_eq!(b.data().to_le_bytes(), t.data().to_le_bytes(), "\n{text}");
    assert_eq!(print(&back), text);
}

#[test]
fn constants_of_every_dtype() {
    use half::{bf16, f16};
    let specials = [
        0.0,
        -0.0,
        1.0,
        -1.5,
        0.1,
        1e-30,
        3.4e38,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        65504.0,
        1e-7,
        123456789.0,
    ];
    const_round_trip(Tensor::new(vec![specials.len()], Data::F64(specials.to_vec())).unwrap());
    const_round_trip(Tensor::new(vec![3], Data::F64(vec![f64::MIN_POSITIVE, 5e-324, f64::MAX])).unwrap());
    const_round_trip(
        Tensor::new(vec![specials.len()], Data::F32(specials.iter().map(|&x| x as f32).collect())).unwrap(),
    );
    const_round_trip(Tensor::new(vec![2], Data::F32(vec![f32::from_bits(1), f32::from_bits(0x7fc0_0001)])).unwrap());
    const_round_trip(
        Tensor::new(vec![2], Data::F32(vec![f32::from_bits(0xffc0_0000), f32::from_bits(0x7f80_0001)])).unwrap(),
    );
    const_round_trip(
        Tensor::new(vec![specials.len()], Data::F16(specials.iter().map(|&x| f16::from_f64(x)).collect())).unwrap(),
    );
    const_round_trip(Tensor::new(vec![2], Data::F16(vec![f16::from_bits(1), f16::from_bits(0x7e01)])).unwrap());
    const_round_trip(
        Tensor::new(vec![specials.len()], Data::BF16(specials.iter().map(|&x| bf16::from_f64(x)).collect())).unwrap(),
    );
    const_round_trip(Tensor::new(vec![2], Data::BF16(vec![bf16::from_bits(1), bf16::from_bits(0xffc1)])).unwrap());
    const_round_trip(Tensor::new(vec![4], Data::I64(vec![i64::MIN, -1, 0, i64::MAX])).unwrap());
    const_round_trip(Tensor::new(vec![2, 2], Data::I32(vec![i32::MIN, -1, 0, i32::MAX])).unwrap());
    const_round_trip(Tensor::new(vec![1, 3], Data::U8(vec![0, 128, 255])).unwrap());
    const_round_trip(Tensor::new(vec![], Data::Bool(vec![true])).unwrap());
    const_round_trip(Tensor::new(vec![2, 1, 2], Data::Bool(vec![true, false, false, true])).unwrap());
    // Empty tensors, at any depth.
    const_round_trip(Tensor::new(vec![0], Data::F32(vec![])).unwrap());
    const_round_trip(Tensor::new(vec![0, 3], Data::I32(vec![])).unwrap());
    const_round_trip(Tensor::new(vec![2, 0, 4], Data::U8(vec![])).unwrap());
    // Large constants are printed in full.
    let big: Vec<f32> = (0..5000).map(|i| i as f32 * 0.37).collect();
    const_round_trip(Tensor::from_f32(vec![50, 100], big).unwrap());
}

#[test]
fn constant_spellings() {
    let g = const_graph(
        Tensor::new(vec![5], Data::F32(vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 1e20])).unwrap(),
    );
    assert!(print(&g).contains("const [nan, inf, -inf, -0.0, 1e20] : f32[5]"), "{}", print(&g));
    let g = const_graph(Tensor::new(vec![], Data::F32(vec![3.0])).unwrap());
    assert!(print(&g).contains("const 3.0 : f32\n"));
    // Integers are accepted for floats, and exponents with signs.
    let g = parse("fn f() -> (f16[3]) {\n  %0 = const [1, -2e-1, +3.5E+2] : f16[3]\n  return %0\n}").unwrap();
    assert!(print(&g).contains("const [1.0, -0.19995117, 350.0] : f16[3]"), "{}", print(&g));
}

#[test]
fn comments_and_whitespace_are_ignored() {
    let text =
        "// leading comment\nfn   f ( %0 : f32 [ ] )->(f32){ // header\n\n  return %0 // the end\n}\n// trailing\n";
    let g = parse(text).unwrap();
    assert_eq!(print(&g), "fn f(%0: f32) -> (f32) {\n  return %0\n}\n");
}

#[test]
fn printed_graph_snapshot() {
    insta::assert_snapshot!(print(&parse(ALL_OPS).unwrap()));
}

#[test]
fn builder_style_graph_snapshot() {
    // softmax over the last axis of a [2, 3] input, built by hand as the front end would.
    let mut g = Graph::new("softmax");
    let t = Type::new(DType::F32, vec![2, 3]);
    let r = Type::new(DType::F32, vec![2]);
    let x = g.push(Op::Param(0), vec![], t.clone());
    let m = g.push(Op::Reduce { op: tc_ir::ReduceOp::Max, axes: vec![1] }, vec![x], r.clone());
    let mb = g.push(Op::Broadcast { dims: vec![0] }, vec![m], t.clone());
    let d = g.push(Op::Binary(BinaryOp::Sub), vec![x, mb], t.clone());
    let e = g.push(Op::Unary(UnaryOp::Exp), vec![d], t.clone());
    let s = g.push(Op::Reduce { op: tc_ir::ReduceOp::Sum, axes: vec![1] }, vec![e], r);
    let sb = g.push(Op::Broadcast { dims: vec![0] }, vec![s], t.clone());
    let y = g.push(Op::Binary(BinaryOp::Div), vec![e, sb], t);
    g.outputs.push(y);
    verify(&g).unwrap();
    round_trip(&g);
    insta::assert_snapshot!(print(&g));
}

/// Each bad text and the error it must give.
#[test]
fn parse_errors() {
    let cases: &[(&str, &str)] = &[
        ("", "1:1: expected `fn`, found end of input"),
        ("fn f() -> () {\n  return\n", "3:1: expected `}`, found end of input"),
        ("fn f(%0: f33) -> () {\n  return\n}", "1:10: unknown dtype `f33`"),
        ("fn f(%0: f32) -> (f32) {\n  %1 = frobnicate %0 : f32\n  return %1\n}", "2:8: unknown op `frobnicate`"),
        ("fn f(%0: f32) -> (f32) {\n  %1 = neg %2 : f32\n  return %1\n}", "2:12: %2 is not defined"),
        ("fn f(%0: f32) -> (f32) {\n  %2 = neg %0 : f32\n  return %2\n}", "2:3: %2 is out of sequence: the graph has 2 values, so they are %0 to %1"),
        ("fn f(%0: f32) -> (f32) {\n  %0 = neg %0 : f32\n  return %0\n}", "2:3: %0 is defined twice"),
        ("fn f(%1: f32) -> (f32) {\n  %0 = neg %1 : f32\n  return %0\n}", "2:12: %1 is used before its definition"),
        ("fn f(%0: f32) -> (f32) {\n  %2 = neg %0 : f32\n  %1 = neg %0 : f32\n  return %1\n}", "3:3: %1 follows %2: lines must be in increasing order"),
        ("fn f(%0: f32) -> (f32) {\n  %1 = neg %0 : f32\n  %1 = neg %0 : f32\n  return %1\n}", "3:3: %1 follows %1: lines must be in increasing order"),
        ("fn f(%0: f32) -> (f32, f32) {\n  return %0\n}", "2:3: the signature has 2 results, `return` has 1"),
        ("fn f(%0: f32) -> (f64) {\n  return %0\n}", "2:10: %0 has type f32, the signature says f64"),
        ("fn f(%0: f32[2]) -> () {\n  %1 = reduce[op=avg, axes=[0]] %0 : f32\n  return\n}", "2:18: unknown reduction `avg` (sum, prod, max or min)"),
        ("fn f(%0: f32[2]) -> () {\n  %1 = reduce[axes=[0]] %0 : f32\n  return\n}", "2:8: `reduce` needs the attribute `op`"),
        ("fn f(%0: f32[2]) -> () {\n  %1 = reduce[op=sum, axes=[0], keep=true] %0 : f32\n  return\n}", "2:33: `reduce` has no attribute `keep`"),
        ("fn f(%0: f32[2]) -> () {\n  %1 = reduce[op=sum, axes=[0], axes=[0]] %0 : f32\n  return\n}", "2:33: attribute `axes` is given twice"),
        ("fn f(%0: f32[2]) -> () {\n  %1 = transpose[perm=[-1]] %0 : f32[2]\n  return\n}", "2:24: expected a non-negative integer, found `-1`"),
        ("fn f(%0: f32[2]) -> () {\n  %1 = neg[x=1] %0 : f32[2]\n  return\n}", "2:12: `neg` has no attribute `x`"),
        ("fn f() -> () {\n  %0 = const [1.0, 2.0] : f32[3]\n  return\n}", "2:14: this axis has 2 elements, the type f32[3] says 3"),
        ("fn f() -> () {\n  %0 = const [1.0, 2.0] : f32\n  return\n}", "2:14: expected a single element here (type f32), found a list"),
        ("fn f() -> () {\n  %0 = const 1.0 : f32[1]\n  return\n}", "2:14: expected a list here (type f32[1]), found `1.0`"),
        ("fn f() -> () {\n  %0 = const [1.5] : i32[1]\n  return\n}", "2:15: expected an integer, found `1.5`"),
        ("fn f() -> () {\n  %0 = const 256 : u8\n  return\n}", "2:14: `256` is out of range [0, 255]"),
        ("fn f() -> () {\n  %0 = const 1 : bool\n  return\n}", "2:14: expected `true` or `false`, found `1`"),
        ("fn f() -> () {\n  %0 = const abc : f32\n  return\n}", "2:14: expected a float, found `abc`"),
        ("fn f() -> () {\n  %0 = const nan(0x3f800000) : f32\n  return\n}", "2:14: `0x3f800000` is not the bits of a 32-bit NaN"),
        ("fn f() -> () {\n  %0 = const [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]] : f32\n  return\n}", "2:79: constant nested too deeply"),
        ("fn f(%0: f32[99999999999, 99999999999]) -> () {\n  return\n}", "1:10: the shape has too many elements"),
        ("fn f(%99999999999: f32) -> () {\n  return\n}", "1:6: value number %99999999999 is too large"),
        ("fn f() -> () {\n  return\n} extra", "3:3: expected the end of the input after `}`, found `extra`"),
        ("fn f() -> () {\n  return $\n}", "2:10: unexpected character '$'"),
        ("fn \"unterminated() -> () {}", "1:4: unterminated string"),
        ("fn 9f() -> () {}", "1:4: `9f` is not a function name (quote it)"),
        ("fn f() -> () {\n  %0 = random[gaussian] : f32\n  return\n}", "2:15: unknown distribution `gaussian` (uniform or normal)"),
        ("fn f() -> () {\n  %0 = conv2d[stride=[1, 1], pad=[(0, 0)], dilation=[1, 1]] : f32\n  return\n}", "2:34: `pad` needs 2 pairs, found 1"),
        ("fn f() -> () {\n  %0 = pool[kind=max, size=[2], stride=[2, 2]] : f32\n  return\n}", "2:28: `size` needs 2 entries, found 1"),
    ];
    let mut failures = Vec::new();
    for (text, want) in cases {
        match parse(text) {
            Ok(g) => failures.push(format!("{text:?} parsed: {}", print(&g))),
            Err(e) if e.to_string() != *want => failures.push(format!("{text:?}\n  want {want}\n  got  {e}")),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

proptest! {
    #[test]
    fn f32_bits_round_trip(bits in proptest::collection::vec(any::<u32>(), 0..20)) {
        let v: Vec<f32> = bits.iter().map(|&b| f32::from_bits(b)).collect();
        const_round_trip(Tensor::new(vec![v.len()], Data::F32(v)).unwrap());
    }

    #[test]
    fn f64_bits_round_trip(bits in proptest::collection::vec(any::<u64>(), 0..20)) {
        let v: Vec<f64> = bits.iter().map(|&b| f64::from_bits(b)).collect();
        const_round_trip(Tensor::new(vec![v.len()], Data::F64(v)).unwrap());
    }

    #[test]
    fn half_bits_round_trip(bits in proptest::collection::vec(any::<u16>(), 0..20)) {
        let v: Vec<half::f16> = bits.iter().map(|&b| half::f16::from_bits(b)).collect();
        const_round_trip(Tensor::new(vec![v.len()], Data::F16(v)).unwrap());
        let v: Vec<half::bf16> = bits.iter().map(|&b| half::bf16::from_bits(b)).collect();
        const_round_trip(Tensor::new(vec![v.len()], Data::BF16(v)).unwrap());
    }

    /// Arbitrary text never panics the parser.
    #[test]
    fn parse_never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }

    /// Nor does a valid text with a span cut out or a character replaced.
    #[test]
    fn parse_never_panics_on_mutations(at in 0usize..2000, len in 0usize..20, c in proptest::char::any()) {
        let chars: Vec<char> = ALL_OPS.chars().collect();
        let at = at % chars.len();
        let mut cut: String = chars[..at].iter().collect();
        cut.extend(chars[(at + len).min(chars.len())..].iter());
        let _ = parse(&cut);
        let mut replaced = chars.clone();
        replaced[at] = c;
        let replaced: String = replaced.into_iter().collect();
        if let Ok(g) = parse(&replaced) {
            // Whatever parses prints and parses back to itself.
            let again = parse(&print(&g)).unwrap();
            prop_assert_eq!(print(&again), print(&g));
            let _ = verify(&g);
        }
    }
}
