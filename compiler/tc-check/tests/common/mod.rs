//! Shared by the checker's test binaries: a module loader over the repository's stdlib.

use tc_check::ModuleLoader;

/// Loads standard-library modules from the repository's `stdlib/` folder.
pub struct StdlibDir;

impl ModuleLoader for StdlibDir {
    fn load(&self, name: &str, _from: &str) -> Option<(String, String)> {
        let path = format!("{}/../../stdlib/{name}.tc", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).ok().map(|t| (format!("<stdlib>/{name}.tc"), t))
    }
}
