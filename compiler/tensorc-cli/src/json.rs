//! The one JSON writer of `--json`: serde_json values on one line, spaced as
//! `{"key": value, "list": [1, 2]}` so that a human reading the line and a program
//! parsing it see the same text.

use std::io;

use serde_json::ser::{Formatter, Serializer};
use serde::Serialize;

/// serde_json's compact form with a space after each `:` and `,`.
struct Spaced;

impl Formatter for Spaced {
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }
}

/// `value` as one line of JSON (NaN and infinities, which JSON lacks, are `null`).
pub fn line(value: &serde_json::Value) -> String {
    let mut out = Vec::new();
    value.serialize(&mut Serializer::with_formatter(&mut out, Spaced)).expect("a JSON value serialises into memory");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}
