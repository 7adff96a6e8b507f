//! `shiftgate history <function> <alias>`: the deployments of an alias, oldest first.

use std::fmt::Write;

use anyhow::Context as _;

use shiftgate_core::record::HistoryEntry;
use shiftgate_core::store;

use super::source::Source;

/// Options of `shiftgate history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The function name.
    pub function: String,
    /// The alias.
    pub alias: String,
    /// Where the records are: the stack's bucket, or a local state directory.
    #[command(flatten)]
    pub source: Source,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `shiftgate history <function> <alias>`.
pub async fn run(args: &HistoryArgs) -> anyhow::Result<String> {
    let HistoryArgs {
        function,
        alias,
        source,
        json,
    } = args;
    let store = source.store().await?;
    let entries: Vec<HistoryEntry> = store::history(store.as_ref(), function, alias)
        .await
        .with_context(|| {
            format!(
                "listing the deployments of {function}:{alias} in {}",
                source.describe()
            )
        })?;
    if *json {
        return serde_json::to_string(&entries).context("writing the history as JSON");
    }
    if entries.is_empty() {
        return Ok(format!("no deployments of {function}:{alias}\n"));
    }
    let mut out = String::new();
    for e in entries {
        let _ = writeln!(
            out,
            "{}  {:<40}  {} → {}  {:?}",
            e.started_at.format("%Y-%m-%d %H:%M:%S"),
            e.deployment_id,
            e.previous_version,
            e.target_version,
            e.status
        );
    }
    Ok(out)
}
