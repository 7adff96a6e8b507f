//! Where the operator commands find a deployment's records: the stack's S3
//! bucket (`--bucket`, through shiftgate-core's AWS adapter) or the local state
//! directory of `shiftgate local run`.

use std::path::PathBuf;
use std::sync::Arc;

use shiftgate_core::adapters::fs_store::FsObjectStore;
use shiftgate_core::ports::{ObjectStore, Services, Settings};

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
    /// The object store behind this source.
    pub async fn store(&self) -> Result<Arc<dyn ObjectStore>, String> {
        match &self.bucket {
            Some(bucket) => Ok(aws_services(bucket).await.store),
            None => {
                let root = self.state_dir.join("bucket");
                if !root.exists() {
                    return Err(format!(
                        "no local state in {} (run `shiftgate local run` first, or pass --bucket)",
                        self.state_dir.display()
                    ));
                }
                Ok(Arc::new(
                    FsObjectStore::new(root).map_err(|e| e.to_string())?,
                ))
            }
        }
    }
}

/// Every AWS-backed port, with records kept in `bucket`.
pub async fn aws_services(bucket: &str) -> Services {
    let sdk = shiftgate_core::adapters::aws::load_sdk_config().await;
    shiftgate_core::adapters::aws::services_from_config(
        &sdk,
        bucket.to_string(),
        Settings::default(),
    )
}
