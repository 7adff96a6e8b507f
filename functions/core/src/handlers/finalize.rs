//! `finalize`: record how the deployment ended, release the lock, index, notify.

use crate::contracts::{FinalizeInput, Outcome, StatusOutput};
use crate::error::HandlerError;
use crate::notify::{self, NotificationKind};
use crate::ports::Services;
use crate::record::{DeploymentStatus, EventKind};
use crate::store;

/// End the deployment. Repeating it is harmless: the lock is released only by
/// its holder and the record keeps its first end.
pub async fn finalize(
    services: &Services,
    input: FinalizeInput,
) -> Result<StatusOutput, HandlerError> {
    let status = match input.outcome {
        Outcome::Succeeded => DeploymentStatus::Succeeded,
        Outcome::RolledBack => DeploymentStatus::RolledBack,
        Outcome::Failed => DeploymentStatus::Failed,
    };
    let at = services.clock.now();
    let mut first_end = false;
    let record = store::update_record(services.store.as_ref(), &input.deployment_id, |r| {
        first_end = !r.status.is_terminal();
        if first_end {
            r.status = status;
            if r.failure.is_none() {
                r.failure = input.failure.clone();
            }
            let message = match status {
                DeploymentStatus::Succeeded => {
                    format!("succeeded: 100 % on version {}", r.target_version())
                }
                DeploymentStatus::RolledBack => format!(
                    "rolled back: version {} serves the alias again",
                    r.current_version()
                ),
                _ => "failed: the alias could not be restored; check it by hand".to_string(),
            };
            r.log(
                at,
                EventKind::Finished,
                status == DeploymentStatus::Succeeded,
                message,
            );
        }
    })
    .await?;
    store::release_lock(
        services.store.as_ref(),
        record.function_name(),
        record.alias(),
        &record.deployment_id,
    )
    .await?;
    store::index_history(services.store.as_ref(), &record).await?;
    if first_end {
        let (kind, headline) = match record.status {
            DeploymentStatus::Succeeded => (NotificationKind::Succeeded, "Deployment succeeded"),
            DeploymentStatus::RolledBack => {
                (NotificationKind::RolledBack, "Deployment rolled back")
            }
            _ => (
                NotificationKind::Failed,
                "Deployment FAILED: rollback did not complete",
            ),
        };
        let details = record
            .failure
            .as_ref()
            .map(|f| format!("Reason: {}", f.reason()))
            .unwrap_or_default();
        notify::lifecycle(services, &record, kind, headline, &details).await;
        tracing::info!(deployment_id = %record.deployment_id, status = ?record.status, "deployment ended");
    }
    Ok(StatusOutput {
        deployment_id: record.deployment_id,
        status: record.status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{request_json, Harness};

    #[tokio::test]
    async fn finalize_releases_the_lock_so_the_next_deployment_can_start() {
        let h = Harness::new();
        let id = h
            .prepare(request_json("AllAtOnce"))
            .await
            .unwrap()
            .deployment_id;
        let out = finalize(
            &h.services,
            FinalizeInput {
                deployment_id: id.clone(),
                outcome: Outcome::RolledBack,
                failure: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(out.status, DeploymentStatus::RolledBack);
        assert!(
            store::lock_holder(h.services.store.as_ref(), "checkout", "live")
                .await
                .unwrap()
                .is_none()
        );
        // Repeating keeps the first end.
        let again = finalize(
            &h.services,
            FinalizeInput {
                deployment_id: id.clone(),
                outcome: Outcome::Succeeded,
                failure: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(again.status, DeploymentStatus::RolledBack);
        let history = store::history(h.services.store.as_ref(), "checkout", "live")
            .await
            .unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].status, DeploymentStatus::RolledBack);
        // The alias is free again.
        h.prepare(request_json("AllAtOnce")).await.unwrap();
    }

    #[tokio::test]
    async fn a_lock_left_by_an_ended_deployment_is_taken_over() {
        let h = Harness::new();
        let id = h
            .prepare(request_json("AllAtOnce"))
            .await
            .unwrap()
            .deployment_id;
        // The record ended but the lock was never released (e.g. a crash).
        store::update_record(h.services.store.as_ref(), &id, |r| {
            r.status = DeploymentStatus::Succeeded;
        })
        .await
        .unwrap();
        let next = h.prepare(request_json("AllAtOnce")).await.unwrap();
        let holder = store::lock_holder(h.services.store.as_ref(), "checkout", "live")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(holder.deployment_id, next.deployment_id);
    }
}
