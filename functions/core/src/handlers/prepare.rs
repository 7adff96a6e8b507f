//! `prepare`: validate, lock, capture, plan, record, notify.

use crate::contracts::{ApprovalSettings, PrepareInput, PrepareOutput};
use crate::error::HandlerError;
use crate::notify::{self, NotificationKind};
use crate::plan::Watch;
use crate::ports::Services;
use crate::record::{keys, DeploymentRecord, DeploymentStatus, EventKind};
use crate::request::{validate_deployment_id, DeploymentRequest};
use crate::store::{self, StoreError};

/// The deployment id: the request's, else the execution's name, else a new one.
fn deployment_id(request: &DeploymentRequest, execution_id: Option<&str>) -> String {
    if let Some(id) = &request.deployment_id {
        return id.clone();
    }
    // An execution ARN ends with its name, unique per state machine.
    let from_execution = execution_id
        .and_then(|arn| arn.rsplit(':').next())
        .filter(|name| validate_deployment_id(name).is_ok());
    match from_execution {
        Some(name) => name.to_string(),
        None => uuid::Uuid::new_v4().to_string(),
    }
}

/// Accept a deployment: nothing changes unless every check passes, and a
/// failure after the lock is taken releases it.
pub async fn prepare(
    services: &Services,
    input: PrepareInput,
) -> Result<PrepareOutput, HandlerError> {
    let request = DeploymentRequest::from_value(input.request)
        .map_err(|e| HandlerError::InvalidRequest(e.0))?;
    let plan = request
        .validate()
        .map_err(|e| HandlerError::InvalidRequest(e.0))?;
    let id = deployment_id(&request, input.execution_id.as_deref());
    let target = request.target.clone();
    let store = services.store.as_ref();

    if !services
        .aliases
        .version_exists(&target.function_name, &target.target_version)
        .await?
    {
        return Err(HandlerError::InvalidRequest(format!(
            "version {} of {} is not published",
            target.target_version, target.function_name
        )));
    }

    let now = services.clock.now();
    let execution_id = input.execution_id;
    // The lock decides which of racing starts runs; everything after it that
    // fails releases exactly the lock this start wrote, never another's.
    let lock = store::acquire_lock(
        store,
        &target.function_name,
        &target.alias,
        &id,
        execution_id.as_deref(),
        now,
    )
    .await?;
    match start(services, &id, &request, plan, execution_id).await {
        Ok(Started::New(record)) => {
            tracing::info!(deployment_id = %id, function = %target.function_name, alias = %target.alias, "deployment started");
            let details = format!("Plan: {}", describe_plan(&record));
            notify::lifecycle(
                services,
                &record,
                NotificationKind::Started,
                "Deployment started",
                &details,
            )
            .await;
            Ok(output(&record, &request))
        }
        Ok(Started::Again(record)) => Ok(output(&record, &request)),
        Err(error) => {
            store::release_own_lock(store, &target.function_name, &target.alias, &lock).await?;
            Err(error)
        }
    }
}

/// What a start under the lock found.
enum Started {
    /// A new deployment record.
    New(DeploymentRecord),
    /// This execution's own record: a retried prepare (the Lambda ran but its
    /// answer was lost) answers again.
    Again(DeploymentRecord),
}

async fn start(
    services: &Services,
    id: &str,
    request: &DeploymentRequest,
    plan: crate::plan::Plan,
    execution_id: Option<String>,
) -> Result<Started, HandlerError> {
    let store = services.store.as_ref();
    if let Some((existing, _)) = store::read::<DeploymentRecord>(store, &keys::record(id)).await? {
        if existing.execution_id == execution_id && &existing.request == request {
            return Ok(Started::Again(existing));
        }
        // A deployment id names one deployment: a collision is refused, never merged.
        return Err(StoreError::IdTaken(id.to_string()).into());
    }
    record_start(services, id, request.clone(), plan, execution_id)
        .await
        .map(Started::New)
}

async fn record_start(
    services: &Services,
    id: &str,
    request: DeploymentRequest,
    plan: crate::plan::Plan,
    execution_id: Option<String>,
) -> Result<DeploymentRecord, HandlerError> {
    let target = &request.target;
    let captured = services
        .aliases
        .get_alias(&target.function_name, &target.alias)
        .await?;
    if captured.function_version == target.target_version {
        return Err(HandlerError::InvalidRequest(format!(
            "{}:{} already serves version {}",
            target.function_name, target.alias, target.target_version
        )));
    }
    let now = services.clock.now();
    let mut record = DeploymentRecord {
        deployment_id: id.to_string(),
        execution_id,
        plan,
        captured_alias: captured,
        status: DeploymentStatus::InProgress,
        current_weight_percent: 0.0,
        current_step: None,
        failure: None,
        created_at: now,
        updated_at: now,
        timeline: Vec::new(),
        operator: Default::default(),
        request,
    };
    let message = format!(
        "started: {} version {} → {} in {} steps",
        record.alias(),
        record.current_version(),
        record.target_version(),
        record.plan.steps.len()
    );
    record.log(now, EventKind::Started, true, message);
    store::create_record(services.store.as_ref(), &record).await?;
    store::index_history(services.store.as_ref(), &record).await?;
    Ok(record)
}

fn describe_plan(record: &DeploymentRecord) -> String {
    record
        .plan
        .steps
        .iter()
        .map(|s| {
            format!(
                "{} % at {} s{}",
                s.weight_percent,
                s.at_seconds,
                if s.approval { " (approval)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn output(record: &DeploymentRecord, request: &DeploymentRequest) -> PrepareOutput {
    PrepareOutput {
        deployment_id: record.deployment_id.clone(),
        steps: record.plan.steps.clone(),
        bake: Watch::start(
            record.plan.bake_seconds,
            record.plan.health_check_interval_seconds,
        ),
        approval: ApprovalSettings {
            timeout_seconds: request.approval_timeout_seconds(),
            on_timeout: request
                .approval
                .as_ref()
                .map(|a| a.on_timeout)
                .unwrap_or_default(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{request_json, Harness, InterleavingStore};

    #[tokio::test]
    async fn prepare_captures_the_alias_records_and_locks() {
        // GIVEN an alias on version 7 with a routing config already there
        let h = Harness::new();
        h.fleet.set_alias(
            "checkout",
            "live",
            crate::ports::AliasState {
                function_version: "7".into(),
                additional_version_weights: [("6".to_string(), 0.05)].into(),
                revision_id: None,
            },
        );
        // WHEN a canary deployment of version 8 is prepared
        let out = h
            .prepare(request_json("Canary10Percent5Minutes"))
            .await
            .unwrap();
        // THEN the record holds the alias exactly as it was, and the lock is taken
        let (record, _) = store::load_record(h.services.store.as_ref(), &out.deployment_id)
            .await
            .unwrap();
        assert_eq!(record.captured_alias.additional_version_weights["6"], 0.05);
        assert_eq!(record.status, DeploymentStatus::InProgress);
        let holder = store::lock_holder(h.services.store.as_ref(), "checkout", "live")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(holder.deployment_id, out.deployment_id);
        assert_eq!(out.steps.len(), 2);
        assert_eq!(out.steps[0].watch.remaining_seconds, 300);
        assert_eq!(h.notifier.published()[0].attributes["kind"], "started");
    }

    #[tokio::test]
    async fn a_second_deployment_of_the_same_alias_is_refused_and_changes_nothing() {
        let h = Harness::new();
        let first = h
            .prepare(request_json("Canary10Percent5Minutes"))
            .await
            .unwrap();
        let keys_before = h.store.keys();
        let err = h.prepare(request_json("AllAtOnce")).await.unwrap_err();
        assert_eq!(err.error_type(), "DeploymentLocked");
        assert!(err.to_string().contains(&first.deployment_id), "{err}");
        assert_eq!(h.store.keys(), keys_before);
    }

    #[tokio::test]
    async fn invalid_requests_are_refused_before_anything_changes() {
        let h = Harness::new();
        let mut bad = request_json("AllAtOnce");
        bad["target"]["targetVersion"] = "42".into();
        let err = h.prepare(bad).await.unwrap_err();
        assert_eq!(err.error_type(), "InvalidRequest");
        assert!(err.to_string().contains("not published"));
        let err = h.prepare(request_json("Canary7Percent")).await.unwrap_err();
        assert!(err.to_string().contains("did you mean"), "{err}");
        assert!(h.store.keys().is_empty());
    }

    #[tokio::test]
    async fn the_lock_is_released_when_prepare_fails_after_taking_it() {
        let h = Harness::new();
        let mut same = request_json("AllAtOnce");
        same["target"]["targetVersion"] = "7".into();
        let err = h.prepare(same).await.unwrap_err();
        assert!(err.to_string().contains("already serves version 7"));
        assert!(
            store::lock_holder(h.services.store.as_ref(), "checkout", "live")
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_ten_racing_starts_exactly_one_runs_and_the_others_never_touch_its_lock() {
        for shared_id in [false, true] {
            for round in 0..20 {
                // GIVEN an idle alias, and ten executions starting it at once
                // (with one deploymentId for all of them, or each its own)
                let h = Harness::new();
                let (services, store) = InterleavingStore::around(&h.services, h.store.clone());
                let tasks: Vec<_> = (0..10)
                    .map(|n| {
                        let services = services.clone();
                        let mut request = request_json("Canary10Percent5Minutes");
                        if shared_id {
                            request["deploymentId"] = "release-42".into();
                        }
                        tokio::spawn(async move {
                            prepare(
                                &services,
                                PrepareInput {
                                    request,
                                    execution_id: Some(format!(
                                        "arn:aws:states:us-east-1:123456789012:execution:shiftgate:race-{n}"
                                    )),
                                },
                            )
                            .await
                        })
                    })
                    .collect();
                let mut winners = Vec::new();
                let mut refusals = Vec::new();
                for task in tasks {
                    match task.await.unwrap() {
                        Ok(out) => winners.push(out.deployment_id),
                        Err(error) => refusals.push(error),
                    }
                }
                // THEN one runs; nine are refused as locked, naming the winner
                let context = format!("shared id: {shared_id}, round {round}");
                assert_eq!(winners.len(), 1, "{context}: {refusals:?}");
                let winner = &winners[0];
                for refusal in &refusals {
                    assert!(
                        matches!(refusal, HandlerError::DeploymentLocked { holder, .. } if holder == winner),
                        "{context}: {refusal:?}"
                    );
                }
                // AND the winner's lock and record are intact
                let lock = store::lock_holder(h.services.store.as_ref(), "checkout", "live")
                    .await
                    .unwrap()
                    .expect("the winner holds the lock");
                assert_eq!(&lock.deployment_id, winner, "{context}");
                let (record, _) = store::load_record(h.services.store.as_ref(), winner)
                    .await
                    .unwrap();
                assert_eq!(record.execution_id, lock.execution_id, "{context}");
                assert_eq!(record.status, DeploymentStatus::InProgress, "{context}");
                assert!(store.conflicts() >= 1, "{context}: the starts raced");
            }
        }
    }

    #[tokio::test]
    async fn a_deployment_id_used_before_is_refused_and_frees_the_lock_it_took() {
        // GIVEN a deployment that ran to its end under the id release-42
        let h = Harness::new();
        let mut request = request_json("AllAtOnce");
        request["deploymentId"] = "release-42".into();
        h.prepare(request.clone()).await.unwrap();
        store::update_record(h.services.store.as_ref(), "release-42", |r| {
            r.status = DeploymentStatus::Succeeded;
        })
        .await
        .unwrap();
        store::release_lock(h.services.store.as_ref(), "checkout", "live", "release-42")
            .await
            .unwrap();
        let (before, _) = store::load_record(h.services.store.as_ref(), "release-42")
            .await
            .unwrap();
        // WHEN another execution starts with the same id
        let err = h.prepare(request).await.unwrap_err();
        // THEN it is refused, the old record is untouched and the alias is free
        assert_eq!(err.error_type(), "InvalidRequest");
        assert!(
            err.to_string().contains("release-42 is already used"),
            "{err}"
        );
        let (after, _) = store::load_record(h.services.store.as_ref(), "release-42")
            .await
            .unwrap();
        assert_eq!(after, before);
        assert!(
            store::lock_holder(h.services.store.as_ref(), "checkout", "live")
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_retried_prepare_of_the_same_execution_answers_again_without_a_second_deployment() {
        let h = Harness::new();
        let input = PrepareInput {
            request: request_json("Canary10Percent5Minutes"),
            execution_id: Some(
                "arn:aws:states:us-east-1:123456789012:execution:shiftgate:once".into(),
            ),
        };
        let first = prepare(&h.services, input.clone()).await.unwrap();
        let keys = h.store.keys();
        let second = prepare(&h.services, input).await.unwrap();
        assert_eq!(first, second);
        assert_eq!(h.store.keys(), keys);
        let started = h
            .notifier
            .published()
            .iter()
            .filter(|n| n.attributes["kind"] == "started")
            .count();
        assert_eq!(started, 1);
    }
}
