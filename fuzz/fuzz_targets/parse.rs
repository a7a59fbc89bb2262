//! Fuzz target: `parse_file` on arbitrary bytes (decoded as lossy UTF-8) must never
//! panic, and the AST it returns must print.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tc_syntax::diag::FileId;

fuzz_target!(|data: &[u8]| {
    let src = String::from_utf8_lossy(data);
    let (file, diags) = tc_syntax::parse_file(FileId(0), &src);
    for diag in &diags {
        assert!(diag.primary.loc.span.end <= src.len());
    }
    tc_syntax::pretty(&file);
});
