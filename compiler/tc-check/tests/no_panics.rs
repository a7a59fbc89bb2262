//! The checker never panics on user input: valid programs with random token-level
//! mutations (insertions, deletions, replacements) and truncations are compiled and,
//! when they compile, specialised for concrete argument types. Any outcome but a panic
//! (or a hang) is fine.

use proptest::prelude::*;
use tc_check::ArgValue;
use tc_ir::Type;
use tc_syntax::diag::SourceMap;
use tc_tensor::DType;

mod common;
use common::StdlibDir;

const SEEDS: &[&str] = &[
    "use nn;\nfn main(x: f32[2, 3], w: f32[3, 4], b: f32[4]) { let h = nn::relu(x @ w + b); (nn::softmax(h), sum(h, axis = -1)) }",
    "fn main(x: f32[N, D]) -> f32[N] { sum(x, axis = 1) / D }",
    "fn f(a, k = 2) { a * k }\nfn main(x: f32[4], y: i32[4]) { (f(x)[1:3], take(x, y % 4), one_hot(y, 5), reshape(x, (2, -1)).T) }",
    "fn main(x: f32[1, 2, 6, 6], w: f32[3, 2, 3, 3]) { let y = conv2d(x, w, stride = 1, padding = 1); let l = sum(max_pool2d(y, 2)); grad(l, (x, w)) }",
    "const K = 3.0;\nfn main(x: f32[2, 3]) { let (a, b) = (x * K, x as i32); (concat((x, x), 0), stack((x, x), 1), pad(x, ((1, 0), (0, 2))), a, b, argmax(x, axis = 0)) }",
    "fn main(x: f32[3]) { let y = sum(x * x * x); let g = grad(y, x); (grad(sum(g), x), eye(3) @ x, arange(3) as f32, random_normal(1, (2, 2)), zeros((2,), dtype = i32)) }",
];

const TOKENS: &[&str] = &[
    "x", "y", "w", "1", "0", "-1", "2.5", "(", ")", "[", "]", ",", "+", "-", "*", "/", "@", "**", "%", "==", "<", "&&", "!", "as f16", "as i32", ".T", ".0", ":",
    "sum(", "grad(", "reshape(", "axis = ", "keepdims = true", "let z = ", ";", "{", "}", "f(", "nn::", "(1, 2)", "shape(x)", "size(x, 0)", "-", "..", "D", "N",
    "f32[2, 3]", "fn g(a) { a }",
];

fn mutate(src: &str, edits: &[(usize, usize, usize)]) -> String {
    let mut s = src.to_string();
    for &(kind, pos, tok) in edits {
        let mut at = pos % (s.len() + 1);
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        let t = TOKENS[tok % TOKENS.len()];
        match kind % 3 {
            0 => s.insert_str(at, t),
            1 => {
                let end = (at + 1 + tok % 4).min(s.len());
                let mut end = end;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                s.replace_range(at..end, "");
            }
            _ => {
                let end = (at + 1 + tok % 3).min(s.len());
                let mut end = end;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                s.replace_range(at..end, t);
            }
        }
    }
    s
}

fn compile_and_specialize(src: &str) {
    let mut sources = SourceMap::new();
    let root = sources.add("m.tc", src);
    if let Ok(program) = tc_check::compile(&mut sources, root, &StdlibDir) {
        for f in program.functions() {
            let args: Vec<Option<ArgValue>> = f.params.iter().map(|_| Some(ArgValue::Tensor(Type::new(DType::F32, vec![2, 3])))).collect();
            let _ = program.specialize(&f.name, &args);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn mutated_programs_never_panic(seed in 0..SEEDS.len(), edits in prop::collection::vec((0usize..3, 0usize..400, 0usize..64), 1..4)) {
        compile_and_specialize(&mutate(SEEDS[seed], &edits));
    }

    #[test]
    fn truncated_programs_never_panic(seed in 0..SEEDS.len(), cut in 0usize..400) {
        let src = SEEDS[seed];
        let mut cut = cut.min(src.len());
        while !src.is_char_boundary(cut) {
            cut -= 1;
        }
        compile_and_specialize(&src[..cut]);
    }
}

#[test]
fn seeds_compile_cleanly() {
    for src in SEEDS {
        let mut sources = SourceMap::new();
        let root = sources.add("m.tc", *src);
        assert!(tc_check::compile(&mut sources, root, &StdlibDir).is_ok(), "{src}");
    }
}

#[test]
fn huge_shapes_are_errors_not_crashes() {
    let sources = [
        "fn main() { zeros((100000, 100000, 100000, 100000, 100000)) }",
        "fn main() { zeros((4294967296, 4294967296)) }",
        // An empty convolution window once underflowed the output size.
        "fn main() { conv2d(zeros((1, 1, 4, 4)), zeros((1, 1, 0, 2))) }",
        "fn main(x: f32[1, 1, 4, 4], w: f32[1, 1, 2, 0]) { conv2d(x, w, padding = 1) }",
    ];
    for src in sources {
        let mut sources = SourceMap::new();
        let root = sources.add("m.tc", src);
        let result = tc_check::compile(&mut sources, root, &StdlibDir).map(|p| p.specialize("main", &[]).is_ok());
        assert!(!matches!(result, Ok(true)), "{src} was accepted");
    }
}
