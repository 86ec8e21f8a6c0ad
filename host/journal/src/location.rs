//! Where journals live: `$PACKER_STATE_DIR/journal`, else
//! `$XDG_STATE_HOME/packer/journal`, else `~/.local/state/packer/journal`.

use std::path::PathBuf;

/// Environment variable naming the state directory (the journal goes in its
/// `journal/` subdirectory).
pub const ENV_STATE_DIR: &str = "PACKER_STATE_DIR";

/// The journal directory for this user, if one can be named.
pub fn journal_dir() -> Option<PathBuf> {
    state_dir().map(|dir| dir.join("journal"))
}

fn state_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(ENV_STATE_DIR).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("packer"));
    }
    dirs::home_dir().map(|home| home.join(".local").join("state").join("packer"))
}
