//! `run-hooks`: the smoke test and the lifecycle hooks of one phase.

use crate::contracts::{HookAnswer, HookPayload, HookPhase, RunHooksInput, RunHooksOutput};
use crate::error::HandlerError;
use crate::ports::Services;
use crate::record::{DeploymentRecord, EventKind};
use crate::store;

/// Why a hook's answer fails the deployment, if it does.
fn failure_of(hook: &str, result: &crate::ports::InvocationResult) -> Option<String> {
    if let Some(kind) = &result.function_error {
        let message = result
            .payload
            .get("errorMessage")
            .and_then(|m| m.as_str())
            .map_or_else(|| result.payload.to_string(), str::to_string);
        return Some(format!("hook {hook} raised ({kind}): {message}"));
    }
    let answer: HookAnswer = serde_json::from_value(result.payload.clone()).unwrap_or_default();
    match answer.status {
        Some(status) if status.eq_ignore_ascii_case("failed") => Some(format!(
            "hook {hook} answered Failed: {}",
            answer.reason.unwrap_or_else(|| "no reason given".into())
        )),
        _ => None,
    }
}

fn hooks_of(record: &DeploymentRecord, phase: HookPhase, step_index: Option<usize>) -> Vec<String> {
    let hooks = record.request.hooks.for_phase(phase).to_vec();
    match phase {
        HookPhase::BeforeEachStep => {
            let own = step_index
                .and_then(|i| record.plan.steps.get(i))
                .and_then(|s| s.hook.clone());
            hooks.into_iter().chain(own).collect()
        }
        _ => hooks,
    }
}

async fn log(
    services: &Services,
    id: &str,
    kind: EventKind,
    ok: bool,
    message: String,
) -> Result<(), HandlerError> {
    let at = services.clock.now();
    store::update_record(services.store.as_ref(), id, |r| {
        r.log(at, kind, ok, message.clone());
    })
    .await?;
    Ok(())
}

/// Run the smoke test (beforeAllowTraffic) and the phase's hooks in order;
/// the first failure stops the phase and fails the deployment.
pub async fn run_hooks(
    services: &Services,
    input: RunHooksInput,
) -> Result<RunHooksOutput, HandlerError> {
    let (record, _) = store::load_record(services.store.as_ref(), &input.deployment_id).await?;
    if input.phase != HookPhase::OnRollback {
        crate::operator::refuse_if_aborted(&record)?;
    }
    let id = record.deployment_id.clone();
    let mut passed = 0;

    if input.phase == HookPhase::BeforeAllowTraffic {
        if let Some(smoke) = &record.request.smoke_test {
            let result = services
                .functions
                .invoke(
                    record.function_name(),
                    Some(record.target_version()),
                    &smoke.payload,
                )
                .await?;
            if let Some(kind) = &result.function_error {
                let message = format!(
                    "smoke test of version {} raised ({kind}): {}",
                    record.target_version(),
                    result.payload
                );
                log(services, &id, EventKind::SmokeTest, false, message.clone()).await?;
                return Err(HandlerError::SmokeTestFailed(message));
            }
            log(
                services,
                &id,
                EventKind::SmokeTest,
                true,
                format!("smoke test of version {} passed", record.target_version()),
            )
            .await?;
            passed += 1;
        }
    }

    let step = input.step_index.and_then(|i| record.plan.steps.get(i));
    let payload = HookPayload {
        deployment_id: id.clone(),
        phase: input.phase,
        function_name: record.function_name().to_string(),
        alias: record.alias().to_string(),
        current_version: record.current_version().to_string(),
        target_version: record.target_version().to_string(),
        step_index: input.step_index,
        weight_percent: step.map(|s| s.weight_percent),
    };
    let payload = serde_json::to_value(&payload).map_err(|e| {
        HandlerError::DependencyFailed(format!("the hook payload did not serialize: {e}"))
    })?;
    for hook in hooks_of(&record, input.phase, input.step_index) {
        let outcome = match services.functions.invoke(&hook, None, &payload).await {
            Ok(result) => failure_of(&hook, &result),
            Err(error) => Some(format!("hook {hook} could not be invoked: {error}")),
        };
        if let Some(reason) = outcome {
            tracing::warn!(deployment_id = %id, hook = %hook, phase = input.phase.as_str(), "hook failed");
            log(
                services,
                &id,
                EventKind::Hook,
                false,
                format!("{}: {reason}", input.phase.as_str()),
            )
            .await?;
            return Err(HandlerError::HookFailed(reason));
        }
        log(
            services,
            &id,
            EventKind::Hook,
            true,
            format!("{}: hook {hook} passed", input.phase.as_str()),
        )
        .await?;
        passed += 1;
    }
    Ok(RunHooksOutput { passed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::Behaviour;
    use crate::testing::{request_json, Harness};

    fn input(id: &str, phase: HookPhase, step_index: Option<usize>) -> RunHooksInput {
        RunHooksInput {
            deployment_id: id.into(),
            phase,
            step_index,
        }
    }

    #[tokio::test]
    async fn hooks_run_in_order_with_the_documented_payload() {
        let h = Harness::new();
        h.fleet.add_hook(
            "warm",
            Behaviour::Answer(serde_json::json!({"status": "Succeeded"})),
        );
        h.fleet
            .add_hook("audit", Behaviour::Answer(serde_json::json!(null)));
        h.fleet
            .add_hook("step-hook", Behaviour::Answer(serde_json::json!({})));
        let mut req = request_json("AllAtOnce");
        req["strategy"] =
            serde_json::json!({"type":"steps","steps":[{"weightPercent":20,"hook":"step-hook"}]});
        req["hooks"] = serde_json::json!({"beforeEachStep": ["warm", "audit"]});
        let id = h.prepare(req).await.unwrap().deployment_id;
        let out = run_hooks(&h.services, input(&id, HookPhase::BeforeEachStep, Some(0)))
            .await
            .unwrap();
        assert_eq!(out.passed, 3);
        let calls = h.fleet.invocations();
        let names: Vec<&str> = calls.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, vec!["warm", "audit", "step-hook"]);
        assert_eq!(calls[0].2["phase"], "beforeEachStep");
        assert_eq!(calls[0].2["targetVersion"], "8");
        assert_eq!(calls[0].2["currentVersion"], "7");
        assert_eq!(calls[0].2["weightPercent"], 20.0);
        // The last step (the added 100 %) has no own hook.
        let out = run_hooks(&h.services, input(&id, HookPhase::BeforeEachStep, Some(1)))
            .await
            .unwrap();
        assert_eq!(out.passed, 2);
    }

    #[tokio::test]
    async fn a_hook_fails_by_answering_failed_or_by_raising() {
        let h = Harness::new();
        h.fleet.add_hook(
            "says-no",
            Behaviour::Answer(serde_json::json!({"status": "Failed", "reason": "stale cache"})),
        );
        h.fleet.add_hook("crashes", Behaviour::Raise("boom".into()));
        let mut req = request_json("AllAtOnce");
        req["hooks"] = serde_json::json!({"afterAllowTraffic": "says-no", "onRollback": "crashes"});
        let id = h.prepare(req).await.unwrap().deployment_id;
        let err = run_hooks(&h.services, input(&id, HookPhase::AfterAllowTraffic, None))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "HookFailed");
        assert!(err.to_string().contains("stale cache"), "{err}");
        let err = run_hooks(&h.services, input(&id, HookPhase::OnRollback, None))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
        let (record, _) = store::load_record(h.services.store.as_ref(), &id)
            .await
            .unwrap();
        assert_eq!(
            record
                .timeline
                .iter()
                .filter(|e| e.kind == EventKind::Hook && !e.ok)
                .count(),
            2
        );
    }

    #[tokio::test]
    async fn the_smoke_test_invokes_the_new_version_before_any_traffic_moves() {
        let h = Harness::new();
        let mut req = request_json("AllAtOnce");
        req["smokeTest"] = serde_json::json!({"payload": {"path": "/health"}});
        let id = h.prepare(req).await.unwrap().deployment_id;
        run_hooks(&h.services, input(&id, HookPhase::BeforeAllowTraffic, None))
            .await
            .unwrap();
        let calls = h.fleet.invocations();
        assert_eq!(calls[0].0, "checkout");
        assert_eq!(calls[0].1.as_deref(), Some("8"));
        assert_eq!(calls[0].2["path"], "/health");
        h.fleet.set_failure_rate("checkout", "8", 1.0);
        let err = run_hooks(&h.services, input(&id, HookPhase::BeforeAllowTraffic, None))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "SmokeTestFailed");
        assert!(h.fleet.alias_writes().is_empty());
    }
}
