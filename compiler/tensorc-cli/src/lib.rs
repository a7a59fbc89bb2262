//! The `tensorc` command line (SPEC §7) as a library, so that its pieces are testable:
//! the subcommands ([`cli`]) and their argument parsing ([`args`]), `bench` and its cost
//! model ([`bench`], [`cost`]), `train` and `fed` output ([`train_cli`], [`fed_cli`]), the
//! REPL ([`repl`]) and the systolic array report ([`systolic`]). The binary is `main.rs`.

pub mod args;
pub mod bench;
pub mod cli;
pub mod cost;
pub mod fed_cli;
pub mod json;
pub mod repl;
pub mod systolic;
pub mod train_cli;
