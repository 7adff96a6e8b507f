//! Shared helpers for the cross-crate tests: where the repository is, and how
//! to read its sample events, state machine definitions and SAM template.
//!
//! Layout:
//! - this file: the repository, its files, placeholders and the template;
//! - [`emulator`]: a private moto server per test, SDK config and resource helpers;
//! - [`cloudwatch_bridge`]: CloudWatch's CBOR protocol translated for moto;
//! - [`lambda_watch`]: the function binaries behind `cargo lambda watch`;
//! - [`remote_lambda`]: the embedded workflow invoking those binaries through
//!   the Lambda Invoke API.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod cloudwatch_bridge;
pub mod emulator;
pub mod lambda_watch;
pub mod remote_lambda;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The repository root (the workspace holding `template.yaml`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// Read a file below the repository root.
pub fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every file in a directory below the root with the given extension, sorted.
pub fn files(directory: &str, extension: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(repo_root().join(directory))
        .unwrap_or_else(|e| panic!("cannot list {directory}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.to_string_lossy().ends_with(extension))
        .collect();
    found.sort();
    found
}

/// The `${Name}` placeholders of a state machine definition.
pub fn placeholders(definition: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = definition;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}').expect("placeholder is closed");
        names.insert(after[..end].to_string());
        rest = &after[end + 1..];
    }
    names
}

/// The SAM template, with CloudFormation tags (`!GetAtt`, `!Ref`, `!Sub`) kept as tagged values.
pub fn template() -> serde_yaml::Value {
    serde_yaml::from_str(&read("template.yaml")).expect("template.yaml is YAML")
}
