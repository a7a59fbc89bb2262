//! StableHLO emission (in progress).
use crate::MlirError;
use tc_ir::Graph;
pub fn module(_graph: &Graph) -> Result<String, MlirError> {
    Err(MlirError::Unsupported("StableHLO".into()))
}
