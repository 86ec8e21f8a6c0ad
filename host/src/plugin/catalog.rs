//! Which plugin provides which builder type: the bundled plugins embedded in
//! this binary, then `.wasm` files in the plugin directory.
//!
//! A file `packer-plugin-<type>.wasm` (or `<type>.wasm`) in the plugin
//! directory provides builder `<type>`. The directory is `$PACKER_PLUGIN_PATH`,
//! else `plugins` in Packer's configuration directory.

use super::error::PluginError;
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// Bundled plugins, compiled by `build.rs` and embedded here.
const BUNDLED: &[(&str, &[u8])] = &[
    (
        "file",
        include_bytes!(concat!(env!("OUT_DIR"), "/file.wasm")),
    ),
    (
        "null",
        include_bytes!(concat!(env!("OUT_DIR"), "/null.wasm")),
    ),
    (
        "googlecompute",
        include_bytes!(concat!(env!("OUT_DIR"), "/googlecompute.wasm")),
    ),
];

/// Where a plugin's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// Embedded in this binary.
    Bundled {
        /// The builder type.
        name: &'static str,
        /// The component.
        bytes: &'static [u8],
    },
    /// A file in the plugin directory.
    File {
        /// The builder type.
        name: String,
        /// The `.wasm` file.
        path: PathBuf,
    },
}

impl PluginSource {
    /// The builder type it provides.
    pub fn name(&self) -> &str {
        match self {
            PluginSource::Bundled { name, .. } => name,
            PluginSource::File { name, .. } => name,
        }
    }

    /// A key unique to this source within a process.
    pub fn key(&self) -> String {
        match self {
            PluginSource::Bundled { name, .. } => format!("bundled:{name}"),
            PluginSource::File { path, .. } => format!("file:{}", path.display()),
        }
    }

    /// The component's bytes.
    pub fn bytes(&self) -> Result<Cow<'static, [u8]>, PluginError> {
        match self {
            PluginSource::Bundled { bytes, .. } => Ok(Cow::Borrowed(bytes)),
            PluginSource::File { path, .. } => {
                std::fs::read(path)
                    .map(Cow::Owned)
                    .map_err(|source| PluginError::Read {
                        path: path.display().to_string(),
                        source,
                    })
            }
        }
    }

    /// Whether it is embedded in this binary.
    pub fn is_bundled(&self) -> bool {
        matches!(self, PluginSource::Bundled { .. })
    }
}

/// The plugins this process can use.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    installed: Vec<PluginSource>,
}

impl Catalog {
    /// The bundled plugins plus those installed in `dir`, if given.
    pub fn new(dir: Option<&Path>) -> Self {
        let installed = dir.map(scan).unwrap_or_default();
        Self { installed }
    }

    /// The bundled plugins plus those in the default plugin directory.
    pub fn discover() -> Self {
        Self::new(plugin_dir().as_deref())
    }

    /// The plugin providing `builder_type`; bundled plugins come first, as in Packer.
    pub fn find(&self, builder_type: &str) -> Option<PluginSource> {
        BUNDLED
            .iter()
            .find(|(name, _)| *name == builder_type)
            .map(|(name, bytes)| PluginSource::Bundled { name, bytes })
            .or_else(|| {
                self.installed
                    .iter()
                    .find(|p| p.name() == builder_type)
                    .cloned()
            })
    }

    /// The bundled plugins, in the order they are listed.
    pub fn bundled(&self) -> Vec<PluginSource> {
        BUNDLED
            .iter()
            .map(|(name, bytes)| PluginSource::Bundled { name, bytes })
            .collect()
    }

    /// The plugins found in the plugin directory, sorted by name (a bundled
    /// plugin of the same name takes precedence over one of these).
    pub fn installed(&self) -> &[PluginSource] {
        &self.installed
    }

    /// Every builder type available, bundled first.
    pub fn builder_types(&self) -> Vec<String> {
        let mut names: Vec<String> = BUNDLED.iter().map(|(n, _)| n.to_string()).collect();
        for plugin in &self.installed {
            if !names.iter().any(|n| n == plugin.name()) {
                names.push(plugin.name().to_string());
            }
        }
        names
    }
}

/// `$PACKER_PLUGIN_PATH`, else `<config dir>/plugins` as Packer resolves it:
/// `$PACKER_CONFIG_DIR/.packer.d`, `~/.packer.d` if it exists,
/// `$XDG_CONFIG_HOME/packer`, `~/.config/packer`.
pub fn plugin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PACKER_PLUGIN_PATH").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    config_dir().map(|d| d.join("plugins"))
}

fn config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PACKER_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join(".packer.d"));
    }
    let home = dirs::home_dir();
    if let Some(home) = &home {
        let legacy = home.join(".packer.d");
        if legacy.is_dir() {
            return Some(legacy);
        }
    }
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(xdg).join("packer"));
    }
    home.map(|h| h.join(".config").join("packer"))
}

fn scan(dir: &Path) -> Vec<PluginSource> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PluginSource> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .filter_map(|path| {
            let stem = path.file_name()?.to_str()?.strip_suffix(".wasm")?;
            let name = stem.strip_prefix("packer-plugin-").unwrap_or(stem);
            (!name.is_empty()).then(|| PluginSource::File {
                name: name.to_string(),
                path: path.clone(),
            })
        })
        .collect();
    found.sort_by(|a, b| a.name().cmp(b.name()).then_with(|| a.key().cmp(&b.key())));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_bundled_then_installed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("packer-plugin-hello.wasm"), b"x").unwrap();
        std::fs::write(dir.path().join("other.wasm"), b"x").unwrap();
        std::fs::write(dir.path().join("file.wasm"), b"x").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        let catalog = Catalog::new(Some(dir.path()));
        assert!(catalog.find("file").unwrap().is_bundled(), "bundled wins");
        assert_eq!(catalog.find("hello").unwrap().name(), "hello");
        assert_eq!(catalog.find("other").unwrap().name(), "other");
        assert!(catalog.find("notes").is_none());
        assert!(catalog.find("nosuch").is_none());
        assert_eq!(
            catalog.builder_types(),
            vec!["file", "null", "googlecompute", "hello", "other"]
        );
    }
}
