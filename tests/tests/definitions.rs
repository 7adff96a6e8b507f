//! The state machine definitions and the SAM template agree: every `${Name}` in
//! a definition has a `DefinitionSubstitutions` key and every key is used; every
//! function the state machine runs is in the template, built from its binary.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use serde_yaml::Value;
use shiftgate_core::functions::Function;
use shiftgate_tests::{files, placeholders, read, template};

fn resources() -> serde_yaml::Mapping {
    template()["Resources"]
        .as_mapping()
        .expect("template has Resources")
        .clone()
}

fn state_machines() -> Vec<(String, Value)> {
    resources()
        .into_iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::StateMachine")
        .map(|(id, r)| (id.as_str().unwrap().to_string(), r))
        .collect()
}

#[test]
fn every_placeholder_has_a_substitution_and_every_substitution_is_used() {
    let machines = state_machines();
    assert!(
        !machines.is_empty(),
        "template.yaml declares a state machine"
    );
    for (id, machine) in machines {
        let uri = machine["Properties"]["DefinitionUri"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} uses DefinitionUri"));
        let used = placeholders(&read(uri));
        let declared: BTreeSet<String> = machine["Properties"]["DefinitionSubstitutions"]
            .as_mapping()
            .unwrap_or_else(|| panic!("{id} has DefinitionSubstitutions"))
            .keys()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            used, declared,
            "{id}: placeholders of {uri} vs DefinitionSubstitutions"
        );
    }
}

#[test]
fn every_definition_file_is_deployed_by_the_template() {
    let deployed: BTreeSet<String> = state_machines()
        .into_iter()
        .filter_map(|(_, m)| {
            m["Properties"]["DefinitionUri"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    for path in files("state-machines", ".asl.json") {
        let relative = format!(
            "state-machines/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        assert!(
            deployed.contains(&relative),
            "{relative} is not deployed by template.yaml"
        );
    }
}

#[test]
fn every_workflow_function_is_in_the_template_built_from_its_binary() {
    let resources = resources();
    for function in Function::ALL {
        let id = function.logical_id();
        let resource = resources
            .get(Value::from(id.as_str()))
            .unwrap_or_else(|| panic!("template.yaml has no {id}"));
        assert_eq!(
            resource["Type"],
            Value::from("AWS::Serverless::Function"),
            "{id}"
        );
        assert_eq!(
            resource["Metadata"]["BuildMethod"],
            Value::from("rust-cargolambda"),
            "{id}"
        );
        assert_eq!(
            resource["Metadata"]["BuildProperties"]["Binary"],
            Value::from(function.bin_name()),
            "{id}"
        );
        let manifest = read(&format!("functions/{}/Cargo.toml", function.bin_name()));
        assert!(
            manifest.contains(&format!("name = \"{}\"", function.bin_name())),
            "{id}: package name"
        );
    }
}

#[test]
fn every_function_in_the_template_has_a_crate() {
    for (id, resource) in resources() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{id:?} names its Binary"));
        let manifest = read(&format!("functions/{binary}/Cargo.toml"));
        assert!(manifest.contains(&format!("name = \"{binary}\"")), "{id:?}");
    }
}

#[test]
fn no_custom_error_name_in_a_definition_starts_with_states() {
    for path in files("state-machines", ".asl.json") {
        let definition: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut stack = vec![definition];
        while let Some(value) = stack.pop() {
            match value {
                serde_json::Value::Object(map) => {
                    if map.get("Type").and_then(|t| t.as_str()) == Some("Fail") {
                        let error = map
                            .get("Error")
                            .and_then(|e| e.as_str())
                            .unwrap_or_default();
                        assert!(
                            !error.starts_with("States."),
                            "{}: Fail error {error}",
                            path.display()
                        );
                    }
                    stack.extend(map.into_values());
                }
                serde_json::Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
    }
}

#[test]
fn every_function_may_publish_notifications_to_the_stack_topic() {
    // Each handler can notify (started, shifted, health failure, decisions, ends);
    // a missing sns:Publish would only show as a warning in production logs.
    // operator-wait only records a task token, and is granted nothing more.
    const NEVER_NOTIFIES: [&str; 1] = ["OperatorWaitFunction"];
    for (id, resource) in resources() {
        if resource["Type"] != "AWS::Serverless::Function"
            || NEVER_NOTIFIES.iter().any(|name| id == *name)
        {
            continue;
        }
        let policies = serde_yaml::to_string(&resource["Properties"]["Policies"]).unwrap();
        assert!(
            policies.contains("sns:Publish"),
            "{id:?} cannot publish notifications"
        );
        assert!(
            policies.contains("NotificationTopic"),
            "{id:?} cannot publish to the stack's topic"
        );
    }
}

#[test]
fn the_state_machine_may_invoke_exactly_the_workflow_functions() {
    // A function missing here fails only at run time, with AccessDenied on its Task.
    for (id, machine) in state_machines() {
        let invokable: BTreeSet<String> = machine["Properties"]["Policies"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{id} has Policies"))
            .iter()
            .filter_map(|p| {
                p["LambdaInvokePolicy"]["FunctionName"]["!Ref"]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| match &p["LambdaInvokePolicy"]["FunctionName"] {
                        Value::Tagged(tagged) if tagged.tag == "!Ref" => {
                            tagged.value.as_str().map(str::to_string)
                        }
                        _ => None,
                    })
            })
            .collect();
        let catalogue: BTreeSet<String> = Function::ALL.iter().map(|f| f.logical_id()).collect();
        assert_eq!(
            invokable, catalogue,
            "{id}: LambdaInvokePolicy list vs the function catalogue"
        );
    }
}

#[test]
fn the_state_machine_runs_every_hook_phase_and_no_other() {
    use shiftgate_core::contracts::HookPhase;
    let definition: serde_json::Value =
        serde_json::from_str(&read("state-machines/deployment.asl.json")).unwrap();
    let mut phases = BTreeSet::new();
    let mut stack = vec![definition];
    while let Some(value) = stack.pop() {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(phase) = map.get("phase").and_then(|p| p.as_str()) {
                    phases.insert(phase.to_string());
                }
                stack.extend(map.into_values());
            }
            serde_json::Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    let known: BTreeSet<String> = HookPhase::ALL
        .iter()
        .map(|p| p.as_str().to_string())
        .collect();
    assert_eq!(phases, known);
}

#[test]
fn every_error_name_a_definition_uses_is_known_to_rust() {
    use shiftgate_core::error::{HandlerError, WorkflowError};
    let workflow: BTreeSet<String> = WorkflowError::ALL
        .iter()
        .map(|e| e.name().to_string())
        .collect();
    for path in files("state-machines", ".asl.json") {
        let definition: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let (mut raised, mut matched) = (BTreeSet::new(), BTreeSet::new());
        let mut stack = vec![definition];
        while let Some(value) = stack.pop() {
            match value {
                serde_json::Value::Object(map) => {
                    if map.get("Type").and_then(|t| t.as_str()) == Some("Fail") {
                        if let Some(error) = map.get("Error").and_then(|e| e.as_str()) {
                            raised.insert(error.to_string());
                        }
                    }
                    if let Some(names) = map.get("ErrorEquals").and_then(|e| e.as_array()) {
                        matched.extend(names.iter().filter_map(|n| n.as_str()).map(str::to_string));
                    }
                    stack.extend(map.into_values());
                }
                serde_json::Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
        assert_eq!(
            raised,
            workflow,
            "{}: Fail errors vs WorkflowError::ALL",
            path.display()
        );
        for name in matched {
            let known = name.starts_with("States.")
                || name.starts_with("Lambda.")
                || HandlerError::ALL_TYPES.contains(&name.as_str())
                || workflow.contains(&name);
            assert!(
                known,
                "{}: ErrorEquals {name} is not a known error",
                path.display()
            );
        }
    }
}
