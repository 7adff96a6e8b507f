//! Where the operator commands find a deployment's records: the stack's S3
//! bucket (`--bucket`, through shiftgate-core's AWS adapter) or the local state
//! directory of `shiftgate local run`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use shiftgate_core::adapters::fs_store::FsObjectStore;
use shiftgate_core::ports::{ObjectStore, Services, Settings};

use super::aws;

/// Where records live.
#[derive(Debug, Clone, clap::Args)]
pub struct Source {
    /// The stack's bucket (AWS). Without it, the local state directory is read.
    #[arg(long, env = "SHIFTGATE_BUCKET")]
    pub bucket: Option<String>,
    /// The local state directory (`shiftgate local`).
    #[arg(long, default_value = ".shiftgate")]
    pub state_dir: PathBuf,
}

impl Source {
    /// The object store behind this source. For a bucket, the bucket is checked
    /// first ([`aws::check_bucket`]), so a wrong endpoint, Region, credential or
    /// name is reported as such.
    pub async fn store(&self) -> anyhow::Result<Arc<dyn ObjectStore>> {
        match &self.bucket {
            Some(bucket) => Ok(aws_services(bucket).await?.store),
            None => {
                let root = self.state_dir.join("bucket");
                if !root.exists() {
                    bail!(
                        "no local state in {} (run `shiftgate local run` first, or pass --bucket)",
                        self.state_dir.display()
                    );
                }
                let store = FsObjectStore::new(root)
                    .with_context(|| format!("opening {}", self.describe()))?;
                Ok(Arc::new(store))
            }
        }
    }

    /// `bucket <name>` or `<state dir>`, for messages.
    pub fn describe(&self) -> String {
        match &self.bucket {
            Some(bucket) => format!("bucket {bucket}"),
            None => self.state_dir.display().to_string(),
        }
    }
}

/// Every AWS-backed port, with records kept in `bucket`, once the bucket is
/// known to be reachable.
pub async fn aws_services(bucket: &str) -> anyhow::Result<Services> {
    let sdk = aws::sdk_config().await;
    aws::check_bucket(&sdk, bucket).await?;
    Ok(shiftgate_core::adapters::aws::services_from_config(
        &sdk,
        bucket.to_string(),
        Settings::default(),
    ))
}
