//! Property tests: `parse_file` never panics, whatever is done to valid programs
//! (truncation, byte mutations, splices), and what it returns is consistent.

use proptest::prelude::*;
use tc_syntax::diag::FileId;

const PROGRAMS: &[&str] = &[
    include_str!("programs/mlp.tc"),
    include_str!("programs/precedence.tc"),
    include_str!("programs/tuples.tc"),
    include_str!("programs/indexing.tc"),
    include_str!("programs/kwargs.tc"),
    include_str!("programs/types.tc"),
    include_str!("programs/literals.tc"),
    include_str!("programs/items.tc"),
    include_str!("programs/blocks.tc"),
];

/// Bytes that make interesting mutations: delimiters, operators, digits, letters, and a
/// few that are not valid UTF-8 on their own.
const INTERESTING: &[u8] = b"()[]{},;:.=-+*/%@!<>&|_ \n0123456789eEaxTf/\x80\xff\xc3";

/// Every kind of token, a few reserved words and a comment: random sequences of these
/// reach far more parser states than byte noise does.
const VOCABULARY: &[&str] = &[
    "fn",
    "let",
    "use",
    "pub",
    "const",
    "as",
    "true",
    "false",
    "_",
    "if",
    "else",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    ":",
    "::",
    "->",
    "=",
    "..",
    ".",
    "@",
    "+",
    "-",
    "*",
    "/",
    "%",
    "**",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "!",
    "x",
    "f32",
    "T",
    "0",
    "1",
    "2.5",
    "1e3",
    "/// doc\n",
    "// comment\n",
    "#",
];

/// Parses `src` and checks the invariants of the result.
fn check(src: &str) {
    let (file, diags) = tc_syntax::parse_file(FileId(7), src);
    for diag in &diags {
        let span = diag.primary.loc.span;
        assert!(
            span.start <= span.end && span.end <= src.len(),
            "{span:?} out of {}",
            src.len()
        );
        assert_eq!(diag.primary.loc.file, FileId(7));
        assert!(diag.code.starts_with("E000"), "{}", diag.code);
    }
    assert!(diags
        .windows(2)
        .all(|w| w[0].primary.loc.span.start <= w[1].primary.loc.span.start));
    // The printer must cope with whatever recovery produced.
    tc_syntax::pretty(&file);
}

#[test]
fn programs_parse_without_diagnostics() {
    for src in PROGRAMS {
        let (_, diags) = tc_syntax::parse_file(FileId(0), src);
        assert!(diags.is_empty(), "{diags:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn truncations_never_panic(program in 0..PROGRAMS.len(), cut in 0.0..1.0f64) {
        let src = PROGRAMS[program].as_bytes();
        let end = (cut * src.len() as f64) as usize;
        check(&String::from_utf8_lossy(&src[..end]));
    }

    #[test]
    fn byte_mutations_never_panic(
        program in 0..PROGRAMS.len(),
        edits in prop::collection::vec((0.0..1.0f64, 0..3u8, prop::sample::select(INTERESTING)), 1..12),
    ) {
        let mut bytes = PROGRAMS[program].as_bytes().to_vec();
        for (at, kind, byte) in edits {
            let i = (at * bytes.len() as f64) as usize;
            match kind {
                0 if i < bytes.len() => bytes[i] = byte,
                1 if i < bytes.len() => {
                    bytes.remove(i);
                }
                _ => bytes.insert(i.min(bytes.len()), byte),
            }
        }
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn splices_never_panic(a in 0..PROGRAMS.len(), b in 0..PROGRAMS.len(), x in 0.0..1.0f64, y in 0.0..1.0f64) {
        // The front of one program glued to the back of another: unbalanced brackets,
        // half items and the like.
        let (first, second) = (PROGRAMS[a].as_bytes(), PROGRAMS[b].as_bytes());
        let mut bytes = first[..(x * first.len() as f64) as usize].to_vec();
        bytes.extend_from_slice(&second[(y * second.len() as f64) as usize..]);
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(VOCABULARY), 0..300)) {
        check(&tokens.join(" "));
    }

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,200}") {
        check(&src);
    }
}
