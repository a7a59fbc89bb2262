//! The standard library for the fuzz targets: `stdlib/*.tc`, embedded as the
//! `tensorc` binary embeds it.

use tc_check::ModuleLoader;

/// Loads `use nn;`, `use init;` and `use optim;` from the embedded sources.
pub struct Stdlib;

impl ModuleLoader for Stdlib {
    fn load(&self, name: &str, _from: &str) -> Option<(String, String)> {
        let text = match name {
            "nn" => include_str!("../stdlib/nn.tc"),
            "init" => include_str!("../stdlib/init.tc"),
            "optim" => include_str!("../stdlib/optim.tc"),
            _ => return None,
        };
        Some((format!("<stdlib>/{name}.tc"), text.to_string()))
    }
}
