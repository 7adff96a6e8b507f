//! `reconcile`: finish a deployment whose execution ended without finishing it.
//!
//! The state machine's own `Catch` handles every error a task raises, but not an
//! execution stopped from the console or the CLI, one that timed out, or one
//! that failed with an error no `Catch` can take (`States.DataLimitExceeded`,
//! `States.Runtime`), nor a `Finalize` that exhausted its retries. An
//! EventBridge rule sends each such end here. If the deployment is still in
//! progress, this does what the workflow's rollback path would have done:
//! restore the captured alias exactly, run the onRollback hooks, end the record
//! with the real cause, release the lock and notify.
//!
//! Events arrive at least once and in any order, so every outcome is reached by
//! steps that are each safe to repeat, and an execution only ever finishes the
//! deployment it drives: a refused start that reused a deployment id ends
//! `FAILED` too, and must never touch the deployment that holds the alias.

use crate::contracts::{
    ExecutionStatusChange, FinalizeInput, HookPhase, Outcome, ReconcileOutput, Reconciliation,
    RollbackInput, RunHooksInput,
};
use crate::error::HandlerError;
use crate::handlers::{finalize, rollback, run_hooks};
use crate::ports::Services;
use crate::record::{keys, DeploymentRecord, Failure, LockRecord};
use crate::store;

/// The execution statuses that end an execution without it finishing its
/// deployment necessarily. `SUCCEEDED` always went through `Finalize`.
const ABNORMAL_ENDS: [&str; 3] = ["ABORTED", "TIMED_OUT", "FAILED"];

/// Finish what the ended execution left, if anything. Safe to repeat.
pub async fn reconcile(
    services: &Services,
    event: ExecutionStatusChange,
) -> Result<ReconcileOutput, HandlerError> {
    let detail = &event.detail;
    let request: Option<serde_json::Value> = detail
        .input
        .as_deref()
        .and_then(|input| serde_json::from_str(input).ok());
    let deployment_id = request
        .as_ref()
        .and_then(|r| r.get("deploymentId"))
        .and_then(|id| id.as_str())
        .unwrap_or(&detail.name)
        .to_string();
    let done = |action| {
        Ok(ReconcileOutput {
            deployment_id: deployment_id.clone(),
            action,
        })
    };
    if !ABNORMAL_ENDS.contains(&detail.status.as_str()) {
        return done(Reconciliation::NothingLeft);
    }
    let store = services.store.as_ref();
    let record = store::read::<DeploymentRecord>(store, &keys::record(&deployment_id)).await?;
    let Some((record, _)) = record else {
        return done(release_orphan_lock(services, request.as_ref(), &detail.execution_arn).await?);
    };
    if record.execution_id.as_deref() != Some(detail.execution_arn.as_str()) {
        // Another execution's deployment (this one was refused, or reused the id).
        return done(Reconciliation::NothingLeft);
    }
    if record.status.is_terminal() {
        // Finalize recorded the end but may have given up before unlocking.
        let held = store::lock_holder(store, record.function_name(), record.alias())
            .await?
            .is_some_and(|lock| lock.deployment_id == deployment_id);
        if !held {
            return done(Reconciliation::NothingLeft);
        }
        store::release_lock(
            store,
            record.function_name(),
            record.alias(),
            &deployment_id,
        )
        .await?;
        return done(Reconciliation::LockReleased);
    }

    let failure = Failure {
        error: format!("Execution{}", pascal_case(&detail.status)),
        cause: cause(detail),
    };
    tracing::warn!(deployment_id = %deployment_id, status = %detail.status, "execution ended mid-deployment; finishing it");
    done(finish_interrupted(services, &deployment_id, failure).await?)
}

/// Finish a deployment whose workflow stopped mid-way, as the workflow's own
/// rollback path would: restore the captured alias exactly, run the
/// onRollback hooks (a failing one is recorded, and cannot undo the rollback),
/// end the record with `failure` and release the lock, notifying people. When
/// the alias cannot be restored the record ends `Failed` and says so. Used by
/// `reconcile` on AWS and by a local run that is interrupted.
pub async fn finish_interrupted(
    services: &Services,
    deployment_id: &str,
    failure: Failure,
) -> Result<Reconciliation, HandlerError> {
    let restored = rollback(
        services,
        RollbackInput {
            deployment_id: deployment_id.to_string(),
            failure: Some(failure.clone()),
        },
    )
    .await;
    let (outcome, action) = match &restored {
        Ok(_) => {
            let hooks = run_hooks(
                services,
                RunHooksInput {
                    deployment_id: deployment_id.to_string(),
                    phase: HookPhase::OnRollback,
                    step_index: None,
                },
            )
            .await;
            if let Err(error) = hooks {
                tracing::warn!(deployment_id = %deployment_id, %error, "an onRollback hook failed");
            }
            (Outcome::RolledBack, Reconciliation::RolledBack)
        }
        Err(error) => {
            tracing::error!(deployment_id = %deployment_id, %error, "the alias could not be restored");
            (Outcome::Failed, Reconciliation::RollbackFailed)
        }
    };
    finalize(
        services,
        FinalizeInput {
            deployment_id: deployment_id.to_string(),
            outcome,
            failure: Some(failure),
        },
    )
    .await?;
    Ok(action)
}

/// An execution that took the lock and died before writing its record leaves
/// the lock naming it; nobody else will ever release it.
async fn release_orphan_lock(
    services: &Services,
    request: Option<&serde_json::Value>,
    execution_arn: &str,
) -> Result<Reconciliation, HandlerError> {
    let target = request.and_then(|r| r.get("target"));
    let field = |name: &str| {
        target
            .and_then(|t| t.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let (Some(function), Some(alias)) = (field("functionName"), field("alias")) else {
        return Ok(Reconciliation::NothingLeft);
    };
    let store = services.store.as_ref();
    let key = keys::lock(&function, &alias);
    let Some((lock, etag)) = store::read::<LockRecord>(store, &key).await? else {
        return Ok(Reconciliation::NothingLeft);
    };
    if lock.execution_id.as_deref() != Some(execution_arn) {
        return Ok(Reconciliation::NothingLeft);
    }
    store::release_own_lock(store, &function, &alias, &etag).await?;
    Ok(Reconciliation::OrphanLockReleased)
}

/// `TIMED_OUT` → `TimedOut`, for an error name like `ExecutionTimedOut`.
fn pascal_case(status: &str) -> String {
    status
        .split('_')
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// What the record says about why the execution ended.
fn cause(detail: &crate::contracts::ExecutionStatusDetail) -> String {
    let what = match detail.status.as_str() {
        "ABORTED" => "the execution was stopped before the deployment finished".to_string(),
        "TIMED_OUT" => "the execution timed out before the deployment finished".to_string(),
        _ => "the execution failed before the deployment finished".to_string(),
    };
    match (&detail.error, &detail.cause) {
        (Some(error), Some(cause)) if !cause.is_empty() => format!("{what} ({error}: {cause})"),
        (Some(error), _) => format!("{what} ({error})"),
        _ => what,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::contracts::{ExecutionStatusDetail, ShiftTrafficInput};
    use crate::handlers::{prepare, shift_traffic};
    use crate::ports::{AliasState, Clock};
    use crate::record::DeploymentStatus;
    use crate::testing::{request_json, Harness};

    const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:shiftgate:exec-1";

    fn ended(status: &str, input: &serde_json::Value, name: &str) -> ExecutionStatusChange {
        ExecutionStatusChange {
            id: "315c1398-40ff-a850-213b-158f73e60175".into(),
            detail: ExecutionStatusDetail {
                execution_arn: EXECUTION.into(),
                name: name.into(),
                status: status.into(),
                input: Some(input.to_string()),
                error: None,
                cause: None,
            },
        }
    }

    /// checkout:live on 7 with 5 % already on 6, a canary of 8 shifted to 10 %
    /// by execution `exec-1`, and its onRollback hook.
    async fn mid_canary(h: &Harness) -> (serde_json::Value, String) {
        h.fleet.set_alias(
            "checkout",
            "live",
            AliasState {
                function_version: "7".into(),
                additional_version_weights: BTreeMap::from([("6".to_string(), 0.05)]),
                revision_id: None,
            },
        );
        h.fleet.add_function("page-oncall", 1, "live", "1");
        let mut request = request_json("Canary10Percent5Minutes");
        request["hooks"] = serde_json::json!({"onRollback": "page-oncall"});
        let id = h.prepare(request.clone()).await.unwrap().deployment_id;
        shift_traffic(
            &h.services,
            ShiftTrafficInput {
                deployment_id: id.clone(),
                step_index: 0,
                weight_percent: 10.0,
                operator_promotion: false,
            },
        )
        .await
        .unwrap();
        (request, id)
    }

    #[tokio::test]
    async fn a_stopped_execution_mid_canary_is_rolled_back_exactly_once() {
        // GIVEN a canary at 10 %, whose execution is then stopped
        let h = Harness::new();
        let (request, id) = mid_canary(&h).await;
        let event = ended("ABORTED", &request, "exec-1");
        // WHEN the status change arrives
        let out = reconcile(&h.services, event.clone()).await.unwrap();
        // THEN the alias is exactly as captured, the hook ran, the record says
        // why, the lock is free and people are told
        assert_eq!(out.action, Reconciliation::RolledBack);
        let alias = h.fleet.alias("checkout", "live").unwrap();
        assert_eq!(alias.function_version, "7");
        assert_eq!(
            alias.additional_version_weights,
            BTreeMap::from([("6".to_string(), 0.05)])
        );
        assert!(h
            .fleet
            .invocations()
            .iter()
            .any(|(function, _, _)| function == "page-oncall"));
        let (record, _) = store::load_record(h.services.store.as_ref(), &id)
            .await
            .unwrap();
        assert_eq!(record.status, DeploymentStatus::RolledBack);
        let failure = record.failure.clone().unwrap();
        assert_eq!(failure.error, "ExecutionAborted");
        assert!(failure.cause.contains("stopped"), "{failure:?}");
        assert!(
            store::lock_holder(h.services.store.as_ref(), "checkout", "live")
                .await
                .unwrap()
                .is_none()
        );
        assert!(h
            .notifier
            .published()
            .iter()
            .any(|n| n.attributes["kind"] == "rolled-back"));
        // AND delivering the event again changes nothing more
        let snapshot = h.store.keys();
        let (record_bytes, _) = store::load_record(h.services.store.as_ref(), &id)
            .await
            .unwrap();
        let published = h.notifier.published().len();
        let invocations = h.fleet.invocations().len();
        let again = reconcile(&h.services, event).await.unwrap();
        assert_eq!(again.action, Reconciliation::NothingLeft);
        assert_eq!(h.store.keys(), snapshot);
        assert_eq!(
            store::load_record(h.services.store.as_ref(), &id)
                .await
                .unwrap()
                .0,
            record_bytes
        );
        assert_eq!(h.notifier.published().len(), published);
        assert_eq!(h.fleet.invocations().len(), invocations);
    }

    #[tokio::test]
    async fn a_refused_start_that_reused_the_id_never_touches_the_running_deployment() {
        // GIVEN a running deployment named release-42
        let h = Harness::new();
        let mut request = request_json("Canary10Percent5Minutes");
        request["deploymentId"] = "release-42".into();
        h.prepare(request.clone()).await.unwrap();
        let keys = h.store.keys();
        let (before, _) = store::load_record(h.services.store.as_ref(), "release-42")
            .await
            .unwrap();
        // WHEN another execution with the same id was refused and ended FAILED
        let mut event = ended("FAILED", &request, "other");
        event.detail.execution_arn =
            "arn:aws:states:us-east-1:123456789012:execution:shiftgate:other".into();
        let out = reconcile(&h.services, event).await.unwrap();
        // THEN nothing changes
        assert_eq!(out.action, Reconciliation::NothingLeft);
        assert_eq!(h.store.keys(), keys);
        let (after, _) = store::load_record(h.services.store.as_ref(), "release-42")
            .await
            .unwrap();
        assert_eq!(after, before);
    }

    #[tokio::test]
    async fn a_lock_left_by_an_execution_that_died_before_recording_is_released() {
        // GIVEN exec-1 took the lock and died before writing its record
        let h = Harness::new();
        let request = request_json("AllAtOnce");
        store::acquire_lock(
            h.services.store.as_ref(),
            "checkout",
            "live",
            "exec-1",
            Some(EXECUTION),
            h.clock.now(),
        )
        .await
        .unwrap();
        // WHEN its timeout is reported
        let out = reconcile(&h.services, ended("TIMED_OUT", &request, "exec-1"))
            .await
            .unwrap();
        // THEN the lock is free and the next start runs
        assert_eq!(out.action, Reconciliation::OrphanLockReleased);
        let next = prepare(
            &h.services,
            crate::contracts::PrepareInput {
                request,
                execution_id: Some(
                    "arn:aws:states:us-east-1:123456789012:execution:shiftgate:exec-2".into(),
                ),
            },
        )
        .await;
        assert!(next.is_ok(), "{next:?}");
    }

    #[tokio::test]
    async fn an_ended_deployment_still_holding_its_lock_is_unlocked_and_nothing_else() {
        // GIVEN a deployment that Finalize recorded as succeeded, but whose lock
        // release never happened (Finalize gave up)
        let h = Harness::new();
        let request = request_json("AllAtOnce");
        let id = h.prepare(request.clone()).await.unwrap().deployment_id;
        store::update_record(h.services.store.as_ref(), &id, |r| {
            r.status = DeploymentStatus::Succeeded;
        })
        .await
        .unwrap();
        let alias = h.fleet.alias("checkout", "live");
        // WHEN the execution's failure is reported
        let out = reconcile(&h.services, ended("FAILED", &request, &id))
            .await
            .unwrap();
        // THEN the lock is released; the alias and the record's end stay
        assert_eq!(out.action, Reconciliation::LockReleased);
        assert!(
            store::lock_holder(h.services.store.as_ref(), "checkout", "live")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(h.fleet.alias("checkout", "live"), alias);
        let (record, _) = store::load_record(h.services.store.as_ref(), &id)
            .await
            .unwrap();
        assert_eq!(record.status, DeploymentStatus::Succeeded);
    }

    #[tokio::test]
    async fn a_succeeded_or_running_execution_needs_nothing() {
        let h = Harness::new();
        let (request, _) = mid_canary(&h).await;
        let keys = h.store.keys();
        for status in ["SUCCEEDED", "RUNNING", "PENDING_REDRIVE"] {
            let out = reconcile(&h.services, ended(status, &request, "exec-1"))
                .await
                .unwrap();
            assert_eq!(out.action, Reconciliation::NothingLeft, "{status}");
        }
        assert_eq!(h.store.keys(), keys);
        assert_eq!(
            h.fleet
                .alias("checkout", "live")
                .unwrap()
                .additional_version_weights["8"],
            0.1
        );
    }

    #[tokio::test]
    async fn an_event_without_input_or_with_garbage_finds_the_deployment_by_execution_name() {
        // GIVEN a canary mid-way, whose execution name is its deployment id
        let h = Harness::new();
        let (_, id) = mid_canary(&h).await;
        // WHEN events for an unknown execution, with odd inputs, arrive
        let keys = h.store.keys();
        for input in [
            None,
            Some("not json".to_string()),
            Some("[1,2]".to_string()),
        ] {
            let mut event = ended("ABORTED", &serde_json::Value::Null, "no-such-deployment");
            event.detail.input = input;
            let out = reconcile(&h.services, event).await.unwrap();
            assert_eq!(out.action, Reconciliation::NothingLeft);
        }
        // THEN nothing changed
        assert_eq!(h.store.keys(), keys);
        // AND an event without input still finds its own deployment by name
        let mut event = ended("TIMED_OUT", &serde_json::Value::Null, &id);
        event.detail.input = None;
        let out = reconcile(&h.services, event).await.unwrap();
        assert_eq!(out.action, Reconciliation::RolledBack);
    }

    #[test]
    fn status_names_become_error_names() {
        assert_eq!(pascal_case("TIMED_OUT"), "TimedOut");
        assert_eq!(pascal_case("ABORTED"), "Aborted");
    }
}
