//! Mailgenic's configuration: one typed TOML schema shared by the server (`engine`) and the load
//! tester (`loadtest`).
//!
//! Loading is two passes. [`Config::load`] parses the file with unknown keys refused, then
//! [`Config::validate`] checks what types cannot (addresses, ranges, pairs of keys that belong
//! together). Every failure is one [`ConfigError`] whose `Display` names the file, the key and what
//! is wrong, so that the server can print it and exit with code 2.
//!
//! Relative paths in the file are resolved against the directory of the file itself, never against
//! the process's working directory: `mailgenic --config /etc/mailgenic/norman.toml` behaves the same
//! from any directory.

mod mta;
mod schema;

pub use mta::*;
pub use schema::*;

use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration that could not be loaded: the file, the dotted key (when one is to blame), and
/// what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file that was being read.
    pub file: PathBuf,
    /// Dotted key such as `listen.imaps`; empty when the whole file is at fault (unreadable, bad
    /// TOML syntax before any key).
    pub key: String,
    /// What is wrong, in words an operator can act on.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.problem)
        } else {
            write!(f, "{}: key `{}`: {}", self.file.display(), self.key, self.problem)
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads, parses, resolves and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            key: String::new(),
            problem: format!("cannot read: {e}"),
        })?;
        Config::from_toml(&text, path)
    }

    /// Parses `text` as if it were the file at `path` (used for paths and messages only).
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let key = e.span().map(|span| key_at(text, span.start)).unwrap_or_default();
            ConfigError { file: path.to_path_buf(), key, problem: e.message().trim().to_string() }
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        config.resolve_paths(&base);
        config.source = path.to_path_buf();
        config.validate().map_err(|(key, problem)| ConfigError {
            file: path.to_path_buf(),
            key: key.to_string(),
            problem,
        })?;
        Ok(config)
    }
}

/// Finds the dotted key that the byte offset `at` of a TOML document belongs to: the nearest
/// `[table]` header above it joined with the key on its own line. Good enough for error messages,
/// which is all it is used for.
fn key_at(text: &str, at: usize) -> String {
    let at = at.min(text.len());
    let mut table = String::new();
    let mut key = String::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if offset > at {
            break;
        }
        if trimmed.starts_with('[') {
            table = trimmed.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            key.clear();
        } else if let Some((k, _)) = trimmed.split_once('=') {
            if !trimmed.starts_with('#') {
                key = k.trim().trim_matches('"').to_string();
            }
        }
        offset += line.len();
    }
    match (table.is_empty(), key.is_empty()) {
        (true, _) => key,
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}

#[cfg(test)]
mod tests;
