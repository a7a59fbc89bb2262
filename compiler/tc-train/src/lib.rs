//! Training and federated averaging on compiled tensorc models, usable from Rust
//! without the command line: the data sets ([`data`], read by [`idx`]), the training
//! loop of the model-file convention ([`train`]), and federated averaging with
//! simulated clients ([`fed`], on the aggregation core of `tc-fed`).

pub mod data;
pub mod fed;
pub mod idx;
pub mod train;
