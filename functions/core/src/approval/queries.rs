//! Queries over a deployment's approval records, for the CLI's `status`,
//! `approve` and `reject`.

use super::record::{ApprovalRecord, ApprovalStatus};
use crate::error::HandlerError;
use crate::ports::ObjectStore;
use crate::record::keys;
use crate::store;

/// The open approval of a deployment, if any (the newest, should there be several).
pub async fn pending(
    store: &dyn ObjectStore,
    deployment_id: &str,
) -> Result<Option<ApprovalRecord>, HandlerError> {
    Ok(all(store, deployment_id)
        .await?
        .into_iter()
        .rfind(|a| a.status == ApprovalStatus::Pending))
}

/// Every approval record of a deployment, oldest first.
pub async fn all(
    store: &dyn ObjectStore,
    deployment_id: &str,
) -> Result<Vec<ApprovalRecord>, HandlerError> {
    let mut approvals = Vec::new();
    for key in store.list(&keys::approvals_prefix(deployment_id)).await? {
        if let Some((approval, _)) = store::read::<ApprovalRecord>(store, &key).await? {
            approvals.push(approval);
        }
    }
    approvals.sort_by_key(|a| a.created_at);
    Ok(approvals)
}
