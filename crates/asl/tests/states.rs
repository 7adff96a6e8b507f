//! Each state type and each input/output field, on the virtual clock.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use serde_json::{json, Value};
use shiftgate_asl::testing::*;
use shiftgate_asl::{EventKind, TaskError};

#[tokio::test(start_paused = true)]
async fn pass_result_parameters_and_result_path() {
    // GIVEN Pass states using Result, Parameters with paths/intrinsics, and ResultPath forms
    let def = json!({
        "StartAt": "Fixed",
        "States": {
            "Fixed": {"Type": "Pass", "Comment": "c", "Result": {"x": 1}, "ResultPath": "$.fixed.deep", "Next": "Params"},
            "Params": {
                "Type": "Pass",
                "Parameters": {
                    "copy.$": "$.fixed.deep.x",
                    "literal": [1, {"k": "v"}],
                    "msg.$": "States.Format('x={} name={}', $.fixed.deep.x, $$.Execution.Name)",
                    "state.$": "$$.State.Name"
                },
                "ResultPath": "$.params",
                "Next": "Discard"
            },
            "Discard": {"Type": "Pass", "Result": "ignored", "ResultPath": null, "Next": "Replace"},
            "Replace": {"Type": "Pass", "InputPath": "$.params", "End": true}
        }
    });
    // WHEN it runs
    let outcome = run_def(def, json!({"keep": true})).await;
    // THEN each field shaped the data as in Step Functions
    assert_eq!(
        output(&outcome),
        json!({"copy": 1, "literal": [1, {"k": "v"}], "msg": "x=1 name=exec-1", "state": "Params"})
    );
    assert_eq!(outcome.state_transitions, 4);
}

#[tokio::test(start_paused = true)]
async fn input_path_output_path_and_null_paths() {
    let def = json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "InputPath": "$.inner", "ResultPath": "$.added", "OutputPath": "$.added", "Next": "B"},
            "B": {"Type": "Pass", "InputPath": null, "ResultPath": "$.empty", "Next": "C"},
            "C": {"Type": "Pass", "OutputPath": null, "End": true}
        }
    });
    // GIVEN InputPath selecting a sub-object: ResultPath still combines with the raw input
    let outcome = run_def(def.clone(), json!({"inner": {"v": 2}})).await;
    // THEN OutputPath null yields {}
    assert_eq!(output(&outcome), json!({}));

    let def2 = json!({
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "InputPath": "$.inner", "ResultPath": "$.added", "End": true}}
    });
    assert_eq!(
        output(&run_def(def2, json!({"inner": {"v": 2}})).await),
        json!({"inner": {"v": 2}, "added": {"v": 2}})
    );
    let def3 = json!({
        "StartAt": "B",
        "States": {"B": {"Type": "Pass", "InputPath": null, "ResultPath": "$.empty", "End": true}}
    });
    assert_eq!(
        output(&run_def(def3, json!({"a": 1})).await),
        json!({"a": 1, "empty": {}})
    );
}

#[tokio::test(start_paused = true)]
async fn missing_input_path_is_a_terminal_runtime_error_naming_state_and_path() {
    let def = json!({
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "InputPath": "$.nope", "End": true}}
    });
    let (error, cause) = failure(&run_def(def, json!({})).await);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("'A'") && cause.contains("$.nope"), "{cause}");
}

#[tokio::test(start_paused = true)]
async fn result_path_cannot_write_into_a_scalar() {
    let def = json!({
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Result": 1, "ResultPath": "$.s.x", "End": true}}
    });
    let (error, _) = failure(&run_def(def, json!({"s": "text"})).await);
    assert_eq!(error, "States.ResultPathMatchFailure");
}

#[tokio::test(start_paused = true)]
async fn task_with_function_arn_parameters_result_selector_and_context() {
    // GIVEN a Task on a plain Lambda ARN with Parameters, ResultSelector and ResultPath
    let handler = FnHandler::new(|_, payload, ctx| {
        Ok(json!({"echo": payload, "state": ctx.state_name, "noise": 1}))
    });
    let def = json!({
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": FN_A,
                "Parameters": {
                    "id.$": "$.id",
                    "execId.$": "$$.Execution.Id",
                    "execInput.$": "$$.Execution.Input",
                    "start.$": "$$.Execution.StartTime",
                    "entered.$": "$$.State.EnteredTime",
                    "machine.$": "$$.StateMachine.Id"
                },
                "ResultSelector": {"payload.$": "$.echo", "state.$": "$.state"},
                "ResultPath": "$.result",
                "End": true
            }
        }
    });
    let interp = interpreter(load(def), handler.clone());
    // WHEN it runs
    let (outcome, events) = run(&interp, json!({"id": "x"})).await;
    // THEN the function saw the effective input and the context object
    let out = output(&outcome);
    assert_eq!(out["id"], json!("x"));
    assert_eq!(out["result"]["state"], json!("Call"));
    let payload = &out["result"]["payload"];
    assert_eq!(payload["id"], json!("x"));
    assert_eq!(payload["execInput"], json!({"id": "x"}));
    assert_eq!(payload["start"], json!("2024-05-01T12:00:00.000Z"));
    assert_eq!(payload["entered"], json!("2024-05-01T12:00:00.000Z"));
    assert!(payload["execId"]
        .as_str()
        .unwrap()
        .ends_with(":execution:shiftgate-deployment:exec-1"));
    assert!(payload["machine"]
        .as_str()
        .unwrap()
        .ends_with(":stateMachine:shiftgate-deployment"));
    assert_eq!(handler.calls()[0].0, FN_A);
    assert!(events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::TaskScheduled { state, .. } if state == "Call")));
    assert!(events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::TaskSucceeded { state, .. } if state == "Call")));
}

#[tokio::test(start_paused = true)]
async fn lambda_invoke_wraps_the_output_and_sends_only_payload() {
    let handler = FnHandler::new(|arn, payload, _| Ok(json!({"got": payload, "arn": arn})));
    let def = json!({
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": FN_A, "Payload": {"n.$": "$.n"}},
                "End": true
            }
        }
    });
    let (outcome, _) = run(&interpreter(load(def), handler), json!({"n": 3})).await;
    assert_eq!(
        output(&outcome),
        json!({"Payload": {"got": {"n": 3}, "arn": FN_A}, "StatusCode": 200, "ExecutedVersion": "$LATEST"})
    );
}

#[tokio::test(start_paused = true)]
async fn wait_states_sleep_in_virtual_time() {
    // GIVEN four Wait states: 10 s, SecondsPath 20 s, a Timestamp at +60 s, a TimestampPath at +90 s
    let def = json!({
        "StartAt": "W1",
        "States": {
            "W1": {"Type": "Wait", "Seconds": 10, "Next": "W2"},
            "W2": {"Type": "Wait", "SecondsPath": "$.s", "Next": "W3"},
            "W3": {"Type": "Wait", "Timestamp": "2024-05-01T12:01:00Z", "Next": "W4"},
            "W4": {"Type": "Wait", "TimestampPath": "$.ts", "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    });
    let (outcome, events) = run(
        &interpreter(load(def), no_tasks()),
        json!({"s": 20, "ts": "2024-05-01T12:01:30Z"}),
    )
    .await;
    assert_eq!(
        output(&outcome),
        json!({"s": 20, "ts": "2024-05-01T12:01:30Z"})
    );
    // THEN each state was entered at the expected virtual time
    let entered: Vec<(String, f64)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::StateEntered { state, .. } => Some((state.clone(), secs_since_t0(e.at))),
            _ => None,
        })
        .collect();
    assert_eq!(
        entered,
        vec![
            ("W1".into(), 0.0),
            ("W2".into(), 10.0),
            ("W3".into(), 30.0),
            ("W4".into(), 60.0),
            ("Done".into(), 90.0)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn clock_speed_makes_waits_shorter_in_real_time() {
    let def =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 300, "End": true}}});
    let clock = Arc::new(shiftgate_asl::ScaledClock::starting_at(30.0, t0()));
    let interp = shiftgate_asl::Interpreter::new(load(def), no_tasks(), clock);
    let real = tokio::time::Instant::now();
    let (_, events) = run(&interp, json!({})).await;
    // 300 virtual seconds at 30x take 10 real seconds
    assert_eq!(real.elapsed(), std::time::Duration::from_secs(10));
    assert_eq!(secs_since_t0(events.last().unwrap().at), 300.0);
}

#[tokio::test(start_paused = true)]
async fn fail_state_with_literal_and_path_error_and_cause() {
    let def = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad", "Cause": "because"}}});
    assert_eq!(
        failure(&run_def(def, json!({})).await),
        ("Bad".into(), "because".into())
    );
    let def = json!({
        "StartAt": "F",
        "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('code {}', $.c)"}}
    });
    assert_eq!(
        failure(&run_def(def, json!({"e": "Dyn", "c": 7})).await),
        ("Dyn".into(), "code 7".into())
    );
}

#[tokio::test(start_paused = true)]
async fn succeed_applies_input_and_output_paths() {
    let def = json!({"StartAt": "S", "States": {"S": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}}});
    assert_eq!(
        output(&run_def(def, json!({"a": {"b": 5}})).await),
        json!(5)
    );
}

#[tokio::test(start_paused = true)]
async fn parallel_runs_branches_concurrently_and_collects_outputs_in_order() {
    // GIVEN two branches waiting 30 s and 10 s
    let def = json!({
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Parameters": {"v.$": "$.v"},
                "Branches": [
                    {"StartAt": "Slow", "States": {
                        "Slow": {"Type": "Wait", "Seconds": 30, "Next": "S1"},
                        "S1": {"Type": "Pass", "Parameters": {"slow.$": "$.v"}, "End": true}}},
                    {"StartAt": "Fast", "States": {
                        "Fast": {"Type": "Wait", "Seconds": 10, "Next": "F1"},
                        "F1": {"Type": "Pass", "Result": "fast", "End": true}}}
                ],
                "ResultPath": "$.results",
                "Next": "Done"
            },
            "Done": {"Type": "Succeed"}
        }
    });
    let (outcome, events) = run(&interpreter(load(def), no_tasks()), json!({"v": 1})).await;
    // THEN outputs are in branch order and the whole took 30 s, not 40 s
    assert_eq!(
        output(&outcome),
        json!({"v": 1, "results": [{"slow": 1}, "fast"]})
    );
    assert_eq!(secs_since_t0(events.last().unwrap().at), 30.0);
    // P + 2 + 2 + Done
    assert_eq!(outcome.state_transitions, 6);
}

#[tokio::test(start_paused = true)]
async fn parallel_branch_failure_fails_the_state_and_can_be_caught() {
    let def = json!({
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "BranchBoom", "Cause": "c"}}},
                    {"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 1000, "End": true}}}
                ],
                "Catch": [{"ErrorEquals": ["BranchBoom"], "ResultPath": "$.err", "Next": "Handled"}],
                "End": true
            },
            "Handled": {"Type": "Succeed"}
        }
    });
    let (outcome, events) = run(&interpreter(load(def), no_tasks()), json!({})).await;
    assert_eq!(
        output(&outcome),
        json!({"err": {"Error": "BranchBoom", "Cause": "c"}})
    );
    // the other branch was cancelled rather than waited for
    assert_eq!(secs_since_t0(events.last().unwrap().at), 0.0);
}

#[tokio::test(start_paused = true)]
async fn map_with_max_concurrency_one_runs_items_strictly_in_order() {
    // GIVEN items whose tasks would finish in reverse order if run concurrently
    let handler = FnHandler::new(|_, payload, _| Ok(payload));
    let def = json!({
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 1,
                "ItemSelector": {
                    "index.$": "$$.Map.Item.Index",
                    "value.$": "$$.Map.Item.Value",
                    "delay.$": "$$.Map.Item.Value.delay",
                    "tag.$": "$.tag"
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Delay",
                    "States": {
                        "Delay": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Work"},
                        "Work": {"Type": "Task", "Resource": FN_A, "Parameters": {"i.$": "$.index", "tag.$": "$.tag"}, "End": true}
                    }
                },
                "ResultPath": "$.out",
                "End": true
            }
        }
    });
    let interp = interpreter(load(def), handler.clone());
    let (outcome, events) = run(
        &interp,
        json!({"tag": "t", "items": [{"delay": 30}, {"delay": 20}, {"delay": 10}]}),
    )
    .await;
    // THEN results keep item order, calls happened in item order, and time adds up (60 s)
    assert_eq!(
        output(&outcome)["out"],
        json!([{"i": 0, "tag": "t"}, {"i": 1, "tag": "t"}, {"i": 2, "tag": "t"}])
    );
    let order: Vec<i64> = handler
        .calls()
        .iter()
        .map(|(_, p)| p["i"].as_i64().unwrap())
        .collect();
    assert_eq!(order, vec![0, 1, 2]);
    let iteration_events: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::MapIterationStarted { index, .. } => Some(format!("start{index}")),
            EventKind::MapIterationEnded {
                index, error: None, ..
            } => Some(format!("end{index}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        iteration_events,
        ["start0", "end0", "start1", "end1", "start2", "end2"]
    );
    assert_eq!(secs_since_t0(events.last().unwrap().at), 60.0);
    // Map + 3 × (Delay + Work)
    assert_eq!(outcome.state_transitions, 7);
}

#[tokio::test(start_paused = true)]
async fn map_unbounded_concurrency_overlaps_and_legacy_fields_work() {
    // GIVEN the legacy Iterator/Parameters fields and no MaxConcurrency
    let def = json!({
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "Parameters": {"v.$": "$$.Map.Item.Value"},
                "Iterator": {"StartAt": "W", "States": {
                    "W": {"Type": "Wait", "SecondsPath": "$.v", "Next": "P"},
                    "P": {"Type": "Pass", "InputPath": "$.v", "End": true}}},
                "End": true
            }
        }
    });
    let (outcome, events) = run(&interpreter(load(def), no_tasks()), json!([30, 10, 20])).await;
    assert_eq!(output(&outcome), json!([30, 10, 20]));
    assert_eq!(secs_since_t0(events.last().unwrap().at), 30.0);
}

#[tokio::test(start_paused = true)]
async fn map_iteration_failure_fails_the_map() {
    let handler = FnHandler::new(|_, p, _| {
        if p == json!(2) {
            Err(TaskError::new("ItemFailed", "two"))
        } else {
            Ok(p)
        }
    });
    let def = json!({
        "StartAt": "M",
        "States": {"M": {"Type": "Map", "MaxConcurrency": 1,
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN_A, "End": true}}},
            "End": true}}
    });
    let (outcome, _) = run(&interpreter(load(def), handler.clone()), json!([1, 2, 3])).await;
    assert_eq!(failure(&outcome).0, "ItemFailed");
    // the third item never started
    assert_eq!(handler.calls().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn intrinsics_in_parameters() {
    let def = json!({
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Parameters": {
            "json.$": "States.StringToJson($.s)",
            "str.$": "States.JsonToString($.o)",
            "arr.$": "States.Array($.o.a, 'x')",
            "item.$": "States.ArrayGetItem($.list, 1)",
            "len.$": "States.ArrayLength($.list)",
            "sum.$": "States.MathAdd($.o.a, 41)",
            "id.$": "States.UUID()"
        }, "End": true}}
    });
    let out = output(
        &run_def(
            def,
            json!({"s": "{\"k\":[1]}", "o": {"a": 1}, "list": [7, 8, 9]}),
        )
        .await,
    );
    assert_eq!(out["json"], json!({"k": [1]}));
    assert_eq!(out["str"], json!("{\"a\":1}"));
    assert_eq!(out["arr"], json!([1, "x"]));
    assert_eq!(out["item"], json!(8));
    assert_eq!(out["len"], json!(3));
    assert_eq!(out["sum"], json!(42));
    assert_eq!(out["id"].as_str().map(str::len), Some(36));
}

#[tokio::test(start_paused = true)]
async fn intrinsic_failures_are_states_intrinsic_failure() {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
        "Parameters": {"x.$": "States.StringToJson($.s)"}, "End": true}}});
    let (error, cause) = failure(&run_def(def, json!({"s": "not json"})).await);
    assert_eq!(error, "States.IntrinsicFailure");
    assert!(cause.contains("'P'"), "{cause}");
}

#[tokio::test(start_paused = true)]
async fn parameters_path_failure_names_state_and_path() {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
        "Parameters": {"x.$": "$.missing"}, "End": true}}});
    let (error, cause) = failure(&run_def(def, json!({})).await);
    assert_eq!(error, "States.ParameterPathFailure");
    assert!(
        cause.contains("'P'") && cause.contains("$.missing"),
        "{cause}"
    );
}

#[tokio::test(start_paused = true)]
async fn indefinite_paths_select_arrays() {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
        "Parameters": {"ids.$": "$.items[*].id"}, "End": true}}});
    let out = output(&run_def(def, json!({"items": [{"id": 1}, {"id": 2}]})).await);
    assert_eq!(out, json!({"ids": [1, 2]}));
    let _: Value = out;
}
