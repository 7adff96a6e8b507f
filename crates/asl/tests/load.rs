//! Load-time validation: unsupported features and invalid definitions are
//! refused with an error naming the state and the field.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use serde_json::{json, Value};
use shiftgate_asl::testing::*;
use shiftgate_asl::StateMachine;

fn one_state(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state, "Next1": {"Type": "Succeed"}}})
}

fn map_with(extra: Value) -> Value {
    let mut map = json!({
        "Type": "Map",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true
    });
    for (k, v) in extra.as_object().unwrap() {
        map[k] = v.clone();
    }
    one_state(map)
}

#[test]
fn unsupported_map_features_name_state_and_field() {
    assert_eq!(
        load_err(map_with(
            json!({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject"}})
        )),
        "state \"S\": field \"ItemReader\" is not supported by the local interpreter"
    );
    for field in [
        "ResultWriter",
        "ItemBatcher",
        "ToleratedFailurePercentage",
        "Label",
    ] {
        let err = load_err(map_with(json!({field: {}})));
        assert!(
            err.contains(&format!("field \"{field}\" is not supported")),
            "{err}"
        );
    }
    let distributed = map_with(json!({"ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}));
    let err = load_err(distributed);
    assert!(
        err.contains("state \"S\"")
            && err.contains("ProcessorConfig")
            && err.contains("not supported"),
        "{err}"
    );
}

#[test]
fn jsonata_variables_and_credentials_are_refused() {
    let err = load_err(
        json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {"Type": "Succeed"}}}),
    );
    assert!(
        err.contains("\"QueryLanguage\" is not supported") && err.contains("JSONata"),
        "{err}"
    );
    for (field, value) in [
        ("QueryLanguage", json!("JSONata")),
        ("Arguments", json!({})),
        ("Output", json!({})),
        ("Assign", json!({"x": 1})),
        ("Credentials", json!({"RoleArn": "arn"})),
    ] {
        let mut state = json!({"Type": "Task", "Resource": FN_A, "End": true});
        state[field] = value;
        let err = load_err(one_state(state));
        assert!(err.starts_with("state \"S\": field \""), "{err}");
        assert!(
            err.contains(field) && err.contains("not supported by the local interpreter"),
            "{err}"
        );
    }
}

#[test]
fn other_resources_and_unknown_types_are_refused() {
    let err = load_err(one_state(
        json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true}),
    ));
    assert!(
        err.contains("state \"S\": field \"Resource\" is not supported"),
        "{err}"
    );
    assert!(err.contains("sqs:sendMessage"), "{err}");
    let err = load_err(one_state(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.sync", "Parameters": {"FunctionName": FN_A}, "End": true}),
    ));
    assert!(err.contains("\"Resource\""), "{err}");
    let err = load_err(one_state(json!({"Type": "Activity", "End": true})));
    assert!(
        err.contains("state \"S\": field \"Type\" is not supported"),
        "{err}"
    );
    let err = load_err(one_state(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": FN_A, "InvocationType": "Event"}, "End": true}),
    ));
    assert!(err.contains("Parameters.InvocationType"), "{err}");
}

#[test]
fn unknown_fields_and_missing_targets_are_invalid() {
    let err = load_err(one_state(json!({"Type": "Pass", "Resutl": 1, "End": true})));
    assert_eq!(
        err,
        "state \"S\": field \"Resutl\": unknown field for a Pass state"
    );
    let err = load_err(one_state(json!({"Type": "Pass", "Next": "Nowhere"})));
    assert!(
        err.contains("field \"Next\"") && err.contains("Nowhere"),
        "{err}"
    );
    let err = load_err(json!({"StartAt": "X", "States": {"S": {"Type": "Succeed"}}}));
    assert!(err.contains("field \"StartAt\""), "{err}");
    let err = load_err(one_state(
        json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true, "Next": "S"}], "Default": "Gone"}),
    ));
    assert!(err.contains("field \"Default\""), "{err}");
    let err = load_err(one_state(
        json!({"Type": "Task", "Resource": FN_A, "Catch": [{"ErrorEquals": ["X"], "Next": "Gone"}], "End": true}),
    ));
    assert!(err.contains("Catch[0].Next"), "{err}");
    let err = load_err(one_state(json!({"Type": "Pass"})));
    assert!(err.contains("Next"), "{err}");
    let err = load_err(map_with(
        json!({"ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Q"}}}}),
    ));
    assert!(
        err.contains("state \"P\"") && err.contains("\"Q\""),
        "{err}"
    );
}

#[test]
fn retry_and_catch_must_be_well_formed() {
    let task = |retry: Value| {
        one_state(json!({"Type": "Task", "Resource": FN_A, "Retry": retry, "End": true}))
    };
    let err = load_err(task(
        json!([{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]),
    ));
    assert!(
        err.contains("Retry[0].ErrorEquals") && err.contains("last"),
        "{err}"
    );
    let err = load_err(task(json!([{"ErrorEquals": ["States.ALL", "X"]}])));
    assert!(err.contains("alone"), "{err}");
    let err = load_err(task(json!([{"ErrorEquals": []}])));
    assert!(err.contains("Retry[0].ErrorEquals"), "{err}");
    let err = load_err(task(json!([{"ErrorEquals": ["X"], "BackoffRate": 0.5}])));
    assert!(err.contains("Retry[0].BackoffRate"), "{err}");
    let err = load_err(task(json!([{"ErrorEquals": ["X"], "IntervalSeconds": 0}])));
    assert!(err.contains("Retry[0].IntervalSeconds"), "{err}");
    let err = load_err(one_state(
        json!({"Type": "Task", "Resource": FN_A, "End": true,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Next1"}, {"ErrorEquals": ["X"], "Next": "Next1"}]}),
    ));
    assert!(err.contains("Catch[0].ErrorEquals"), "{err}");
    let err = load_err(one_state(
        json!({"Type": "Task", "Resource": FN_A, "End": true,
        "Catch": [{"ErrorEquals": ["X"]}]}),
    ));
    assert!(err.contains("Catch[0].Next"), "{err}");
}

#[test]
fn bad_paths_templates_and_intrinsics_are_refused() {
    let err = load_err(one_state(
        json!({"Type": "Pass", "ResultPath": "$.a[*]", "End": true}),
    ));
    assert!(err.contains("field \"ResultPath\""), "{err}");
    let err = load_err(one_state(
        json!({"Type": "Pass", "Parameters": {"x.$": "States.Nope($.a)"}, "End": true}),
    ));
    assert!(
        err.contains("field \"Parameters\"") && err.contains("States.Nope"),
        "{err}"
    );
    let err = load_err(one_state(
        json!({"Type": "Pass", "InputPath": "a.b", "End": true}),
    ));
    assert!(err.contains("field \"InputPath\""), "{err}");
    let err = load_err(one_state(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": FN_A, "Payload": {}}, "End": true}),
    ));
    assert!(err.contains("$$.Task.Token"), "{err}");
    let err = load_err(one_state(
        json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "NumericEquals": "1", "Next": "Next1"}]}),
    ));
    assert!(
        err.contains("Choices[0]") && err.contains("NumericEquals"),
        "{err}"
    );
    let err = load_err(one_state(
        json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "StringEquals": "x"}]}),
    ));
    assert!(err.contains("Choices[0].Next"), "{err}");
    let err = load_err(one_state(
        json!({"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true}),
    ));
    assert!(err.contains("exactly one"), "{err}");
}

#[test]
fn substitutions_must_all_be_known() {
    let def = r#"{"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "${FnArn}", "End": true}}}"#;
    let err = StateMachine::from_json(def, &BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("${FnArn}"), "{err}");
    let subs = BTreeMap::from([("FnArn".to_string(), FN_A.to_string())]);
    assert!(StateMachine::from_json(def, &subs).is_ok());
}
