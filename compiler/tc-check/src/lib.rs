//! Checking and lowering.
