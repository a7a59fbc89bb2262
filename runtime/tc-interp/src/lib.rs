//! Reference interpreter of the graph IR.
