//! Where `use NAME;` finds its module (SPEC §6): `NAME.tc` next to the importing file,
//! then in the session's extra directories, then the standard library, which is
//! compiled into the binary.

use std::path::{Path, PathBuf};

use tc_check::ModuleLoader;

/// The standard library: module name and source.
pub const STDLIB: [(&str, &str); 3] = [
    ("nn", include_str!("../../../stdlib/nn.tc")),
    ("init", include_str!("../../../stdlib/init.tc")),
    ("optim", include_str!("../../../stdlib/optim.tc")),
];

/// Display names of standard library modules start with this (`<stdlib>/nn.tc`).
const STDLIB_PREFIX: &str = "<stdlib>/";

/// Loads modules from the file system, falling back to [`STDLIB`].
#[derive(Clone, Debug, Default)]
pub struct FsLoader {
    dirs: Vec<PathBuf>,
}

impl FsLoader {
    /// A loader that also searches `dirs`, in order, after the importing file's directory.
    pub fn new(dirs: Vec<PathBuf>) -> FsLoader {
        FsLoader { dirs }
    }
}

impl ModuleLoader for FsLoader {
    fn load(&self, name: &str, from: &str) -> Option<(String, String)> {
        // A standard library module only uses other standard library modules.
        if !from.starts_with(STDLIB_PREFIX) {
            let file = format!("{}.tc", name.replace("::", "/"));
            let own_dir = Path::new(from).parent().map(Path::to_path_buf).unwrap_or_default();
            for dir in std::iter::once(&own_dir).chain(&self.dirs) {
                let path = dir.join(&file);
                // Bytes that are not UTF-8 are read as U+FFFD, which the parser reports.
                if let Ok(text) = crate::files::read_source(&path) {
                    return Some((path.display().to_string(), text));
                }
            }
        }
        STDLIB
            .iter()
            .find(|(module, _)| *module == name)
            .map(|(module, text)| (format!("{STDLIB_PREFIX}{module}.tc"), text.to_string()))
    }
}
