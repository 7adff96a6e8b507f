//! Every sample event in `events/` parses into the input type of the function
//! it is named after, and every sample request is valid and plans.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use shiftgate_core::contracts::{
    CheckHealthInput, ExecutionStatusChange, FinalizeInput, OperatorWaitInput, PrepareInput,
    RequestApprovalInput, RollbackInput, RunHooksInput, ShiftTrafficInput,
};
use shiftgate_core::functions::Function;
use shiftgate_core::request::DeploymentRequest;
use shiftgate_tests::{files, read};

fn parses_as(function: Function, text: &str) -> Result<(), String> {
    fn check<T: serde::de::DeserializeOwned>(text: &str) -> Result<(), String> {
        serde_json::from_str::<T>(text)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
    match function {
        Function::Prepare => check::<PrepareInput>(text),
        Function::RunHooks => check::<RunHooksInput>(text),
        Function::ShiftTraffic => check::<ShiftTrafficInput>(text),
        Function::CheckHealth => check::<CheckHealthInput>(text),
        Function::Finalize => check::<FinalizeInput>(text),
        Function::Rollback => check::<RollbackInput>(text),
        Function::RequestApproval => check::<RequestApprovalInput>(text),
        Function::OperatorWait => check::<OperatorWaitInput>(text),
    }
}

#[test]
fn every_function_has_a_sample_event_that_parses_into_its_input() {
    for function in Function::ALL {
        let path = format!("events/{}.json", function.bin_name());
        let text = read(&path);
        parses_as(function, &text).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}

#[test]
fn the_prepare_sample_holds_a_valid_request() {
    let input: PrepareInput = serde_json::from_str(&read("events/prepare.json")).unwrap();
    let request = DeploymentRequest::from_value(input.request).unwrap();
    request.validate().unwrap();
}

#[test]
fn every_sample_request_is_valid_and_plans() {
    let requests: Vec<_> = files("events", ".json")
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("request-")
                && !p.ends_with("request-approval.json")
        })
        .collect();
    assert!(
        requests.len() >= 4,
        "canary, linear, all-at-once and steps samples: {requests:?}"
    );
    for path in requests {
        let text = std::fs::read_to_string(&path).unwrap();
        let request = DeploymentRequest::from_json(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let plan = request
            .validate()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(plan.steps.last().unwrap().weight_percent, 100.0);
    }
}

#[test]
fn every_event_file_belongs_to_a_function_or_is_a_request() {
    for path in files("events", ".json") {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let known = Function::from_name(&stem).is_some()
            || stem.starts_with("request-")
            || stem == "approval-endpoint"
            || stem == "reconcile";
        assert!(
            known,
            "events/{stem}.json is neither a function's sample event nor a request"
        );
    }
}

#[test]
fn the_reconcile_sample_is_an_execution_status_change_carrying_a_valid_request() {
    let event: ExecutionStatusChange =
        serde_json::from_str(&read("events/reconcile.json")).unwrap();
    assert_eq!(event.detail.status, "ABORTED");
    assert!(event
        .detail
        .execution_arn
        .ends_with(&format!(":{}", event.detail.name)));
    let request = DeploymentRequest::from_json(event.detail.input.as_deref().unwrap()).unwrap();
    request.validate().unwrap();
}
