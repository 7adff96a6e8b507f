//! Loading a definition: `${Name}` substitution, then parsing and validating
//! every state into a typed model, refusing at load time whatever the local
//! interpreter cannot run faithfully.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::choice::{parse_timestamp, rule_next, Rule};
use crate::error::{names, AslError};
use crate::path::{Query, RefPath};
use crate::template::{Expr, Template};

/// Fields that are valid Step Functions but that this interpreter refuses.
const REFUSED: &[&str] = &[
    "Arguments",
    "Output",
    "Assign",
    "Items",
    "ItemReader",
    "ResultWriter",
    "ItemBatcher",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "Label",
    "Credentials",
];

/// `InputPath` / `OutputPath`: absent means `$`, `null` means `{}`.
#[derive(Debug, Clone)]
pub(crate) enum DataPath {
    Identity,
    Empty,
    Path(Query),
}

/// `ResultPath`: `null` discards the result; a reference path places it.
#[derive(Debug, Clone)]
pub(crate) enum ResultPath {
    Discard,
    At(RefPath),
}

impl ResultPath {
    /// Combines the state's raw input with a result.
    pub fn apply(&self, input: Value, result: Value) -> Result<Value, String> {
        match self {
            Self::Discard => Ok(input),
            Self::At(path) => path.set(input, result),
        }
    }
}

/// A duration given either literally or through a reference path.
#[derive(Debug, Clone)]
pub(crate) enum Seconds {
    Fixed(u64),
    Path(Query),
}

/// One Retrier.
#[derive(Debug, Clone)]
pub(crate) struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub full_jitter: bool,
}

/// One Catcher.
#[derive(Debug, Clone)]
pub(crate) struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    pub result_path: ResultPath,
}

/// Result processing and error handling shared by Task, Parallel and Map.
#[derive(Debug, Clone)]
pub(crate) struct Processing {
    pub result_selector: Option<Template>,
    pub result_path: ResultPath,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub next: Option<String>,
}

/// The supported Task resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resource {
    /// A plain Lambda function ARN: the effective input is the payload.
    Function(String),
    /// `arn:aws:states:::lambda:invoke`.
    Invoke,
    /// `arn:aws:states:::lambda:invoke.waitForTaskToken`.
    InvokeWaitForToken,
}

#[derive(Debug, Clone)]
pub(crate) enum WaitFor {
    Seconds(u64),
    SecondsPath(Query),
    Timestamp(DateTime<Utc>),
    TimestampPath(Query),
}

/// `Error`/`Cause` of a Fail state: literal or `ErrorPath`/`CausePath`.
#[derive(Debug, Clone)]
pub(crate) enum Text {
    Literal(String),
    Dynamic(Expr),
}

#[derive(Debug, Clone)]
pub(crate) enum StateKind {
    Pass {
        parameters: Option<Template>,
        result: Option<Value>,
        result_path: ResultPath,
        next: Option<String>,
    },
    Task {
        resource: Resource,
        parameters: Option<Template>,
        timeout: Option<Seconds>,
        heartbeat: Option<Seconds>,
        processing: Processing,
    },
    Choice {
        choices: Vec<(Rule, String)>,
        default: Option<String>,
    },
    Wait {
        wait: WaitFor,
        next: Option<String>,
    },
    Succeed,
    Fail {
        error: Option<Text>,
        cause: Option<Text>,
    },
    Parallel {
        branches: Vec<Arc<Machine>>,
        parameters: Option<Template>,
        processing: Processing,
    },
    Map {
        items_path: Option<Query>,
        item_selector: Option<Template>,
        processor: Arc<Machine>,
        max_concurrency: Seconds,
        processing: Processing,
    },
}

/// One validated state.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub name: String,
    pub input_path: DataPath,
    pub output_path: DataPath,
    pub kind: StateKind,
}

/// A validated set of states: the top-level machine, a Parallel branch or a Map processor.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub start_at: String,
    pub states: HashMap<String, State>,
}

/// Replaces every `${Name}` like SAM's `DefinitionSubstitutions`.
pub(crate) fn substitute(
    definition: &str,
    substitutions: &BTreeMap<String, String>,
) -> Result<String, AslError> {
    let mut out = String::with_capacity(definition.len());
    let mut rest = definition;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').filter(|&end| {
            end > 0
                && after[..end]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        match end {
            Some(end) => {
                let name = &after[..end];
                let value =
                    substitutions
                        .get(name)
                        .ok_or_else(|| AslError::UnknownSubstitution {
                            name: name.to_string(),
                            known: substitutions.keys().cloned().collect::<Vec<_>>().join(", "),
                        })?;
                out.push_str(value);
                rest = &after[end + 1..];
            }
            None => {
                // Not a substitution (e.g. "${" inside free text): keep it verbatim.
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Where an error is reported: a state (or the enclosing state for nested
/// machine-level fields) and a field prefix.
#[derive(Clone)]
struct Site<'a> {
    state: Option<&'a str>,
    prefix: String,
}

impl Site<'_> {
    fn invalid(&self, field: &str, message: impl Into<String>) -> AslError {
        AslError::Invalid {
            state: self.state.map(str::to_string),
            field: format!("{}{field}", self.prefix),
            message: message.into(),
        }
    }

    fn unsupported(&self, field: &str, detail: impl Into<String>) -> AslError {
        AslError::Unsupported {
            state: self.state.map(str::to_string),
            field: format!("{}{field}", self.prefix),
            detail: detail.into(),
        }
    }
}

/// Parses a (top-level or nested) machine: `StartAt`, `States` and their transitions.
pub(crate) fn parse_machine(
    value: &Value,
    owner: Option<&str>,
    prefix: &str,
    extra_fields: &[&str],
) -> Result<Machine, AslError> {
    let site = Site {
        state: owner,
        prefix: prefix.to_string(),
    };
    let map = value
        .as_object()
        .ok_or_else(|| site.invalid("", "must be a JSON object"))?;
    for key in map.keys() {
        if key == "QueryLanguage" {
            check_query_language(&site, &map[key])?;
        } else if !["StartAt", "States", "Comment"].contains(&key.as_str())
            && !extra_fields.contains(&key.as_str())
        {
            return Err(site.invalid(key, "unknown field"));
        }
    }
    let start_at = map
        .get("StartAt")
        .and_then(Value::as_str)
        .ok_or_else(|| site.invalid("StartAt", "is required and must be a string"))?
        .to_string();
    let states_map = map
        .get("States")
        .and_then(Value::as_object)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| site.invalid("States", "is required and must be a non-empty object"))?;
    let mut states = HashMap::new();
    for (name, state) in states_map {
        states.insert(name.clone(), parse_state(name, state)?);
    }
    if !states.contains_key(&start_at) {
        return Err(site.invalid("StartAt", format!("state \"{start_at}\" does not exist")));
    }
    let machine = Machine { start_at, states };
    check_transitions(&machine)?;
    Ok(machine)
}

fn check_query_language(site: &Site<'_>, value: &Value) -> Result<(), AslError> {
    match value.as_str() {
        Some("JSONPath") => Ok(()),
        Some("JSONata") => Err(site.unsupported("QueryLanguage", "JSONata")),
        _ => Err(site.invalid("QueryLanguage", "must be \"JSONPath\" or \"JSONata\"")),
    }
}

fn check_transitions(machine: &Machine) -> Result<(), AslError> {
    for state in machine.states.values() {
        let site = Site {
            state: Some(&state.name),
            prefix: String::new(),
        };
        let mut targets: Vec<(String, &str)> = Vec::new();
        let processing = match &state.kind {
            StateKind::Pass { next, .. } | StateKind::Wait { next, .. } => {
                targets.extend(next.iter().map(|n| ("Next".to_string(), n.as_str())));
                None
            }
            StateKind::Task { processing, .. }
            | StateKind::Parallel { processing, .. }
            | StateKind::Map { processing, .. } => Some(processing),
            StateKind::Choice { choices, default } => {
                for (i, (_, next)) in choices.iter().enumerate() {
                    targets.push((format!("Choices[{i}].Next"), next));
                }
                targets.extend(default.iter().map(|d| ("Default".to_string(), d.as_str())));
                None
            }
            StateKind::Succeed | StateKind::Fail { .. } => None,
        };
        if let Some(p) = processing {
            targets.extend(p.next.iter().map(|n| ("Next".to_string(), n.as_str())));
            for (i, c) in p.catch.iter().enumerate() {
                targets.push((format!("Catch[{i}].Next"), &c.next));
            }
        }
        for (field, target) in targets {
            if !machine.states.contains_key(target) {
                return Err(site.invalid(&field, format!("state \"{target}\" does not exist")));
            }
        }
    }
    Ok(())
}

fn allowed_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pass" => &["Parameters", "Result", "ResultPath", "Next", "End"],
        "Task" => &[
            "Resource",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Next",
            "End",
        ],
        "Choice" => &["Choices", "Default"],
        "Wait" => &[
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
            "Next",
            "End",
        ],
        "Succeed" => &[],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Branches",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Next",
            "End",
        ],
        "Map" => &[
            "ItemsPath",
            "ItemSelector",
            "Parameters",
            "ItemProcessor",
            "Iterator",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Next",
            "End",
        ],
        _ => &[],
    }
}

fn parse_state(name: &str, value: &Value) -> Result<State, AslError> {
    let site = Site {
        state: Some(name),
        prefix: String::new(),
    };
    let map = value
        .as_object()
        .ok_or_else(|| site.invalid("", "a state must be a JSON object"))?;
    let kind = map
        .get("Type")
        .and_then(Value::as_str)
        .ok_or_else(|| site.invalid("Type", "is required and must be a string"))?;
    if !matches!(
        kind,
        "Pass" | "Task" | "Choice" | "Wait" | "Succeed" | "Fail" | "Parallel" | "Map"
    ) {
        return Err(site.unsupported("Type", format!("unknown state type \"{kind}\"")));
    }
    let allowed = allowed_fields(kind);
    let has_io_paths = kind != "Fail";
    for key in map.keys() {
        let key = key.as_str();
        if key == "QueryLanguage" {
            check_query_language(&site, &map[key])?;
        } else if REFUSED.contains(&key) {
            return Err(site.unsupported(key, ""));
        } else if !(matches!(key, "Type" | "Comment")
            || (has_io_paths && matches!(key, "InputPath" | "OutputPath"))
            || allowed.contains(&key))
        {
            return Err(site.invalid(key, format!("unknown field for a {kind} state")));
        }
    }
    let f = Fields { site, map };
    let state_kind = match kind {
        "Pass" => StateKind::Pass {
            parameters: f.template("Parameters")?,
            result: map.get("Result").cloned(),
            result_path: f.result_path("ResultPath", map.get("ResultPath"))?,
            next: f.transition()?,
        },
        "Task" => parse_task(&f)?,
        "Choice" => parse_choice(&f)?,
        "Wait" => parse_wait(&f)?,
        "Succeed" => StateKind::Succeed,
        "Fail" => StateKind::Fail {
            error: f.text("Error", "ErrorPath")?,
            cause: f.text("Cause", "CausePath")?,
        },
        "Parallel" => {
            let branches = map
                .get("Branches")
                .and_then(Value::as_array)
                .filter(|b| !b.is_empty())
                .ok_or_else(|| {
                    f.site
                        .invalid("Branches", "is required and must be a non-empty array")
                })?;
            let branches = branches
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    parse_machine(b, Some(name), &format!("Branches[{i}]."), &[]).map(Arc::new)
                })
                .collect::<Result<Vec<_>, _>>()?;
            StateKind::Parallel {
                branches,
                parameters: f.template("Parameters")?,
                processing: f.processing()?,
            }
        }
        "Map" => parse_map(&f)?,
        _ => unreachable!("state types checked above"),
    };
    Ok(State {
        name: name.to_string(),
        input_path: f.data_path("InputPath")?,
        output_path: f.data_path("OutputPath")?,
        kind: state_kind,
    })
}

fn parse_task(f: &Fields<'_>) -> Result<StateKind, AslError> {
    let resource_text = f
        .map
        .get("Resource")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            f.site
                .invalid("Resource", "is required and must be a string")
        })?;
    let resource = match resource_text {
        "arn:aws:states:::lambda:invoke" => Resource::Invoke,
        "arn:aws:states:::lambda:invoke.waitForTaskToken" => Resource::InvokeWaitForToken,
        arn if arn.starts_with("arn:aws:lambda:") && arn.contains(":function:") => {
            Resource::Function(arn.to_string())
        }
        other => {
            return Err(f
                .site
                .unsupported("Resource", format!("resource \"{other}\"")))
        }
    };
    let parameters = f.template("Parameters")?;
    if resource != Resource::Function(resource_text.to_string()) {
        let keys = parameters
            .as_ref()
            .map(Template::top_level_keys)
            .unwrap_or_default();
        if !keys.contains(&"FunctionName") {
            return Err(f.site.invalid(
                "Parameters",
                "a lambda:invoke task needs Parameters.FunctionName",
            ));
        }
        if let Some(other) = keys
            .iter()
            .find(|k| !matches!(**k, "FunctionName" | "Payload"))
        {
            return Err(f.site.unsupported(&format!("Parameters.{other}"), ""));
        }
    }
    if resource == Resource::InvokeWaitForToken
        && !parameters
            .as_ref()
            .is_some_and(|p| p.mentions("$$.Task.Token"))
    {
        return Err(f.site.invalid(
            "Parameters",
            "a waitForTaskToken task must pass \"$$.Task.Token\" to the function",
        ));
    }
    let timeout = f.seconds("TimeoutSeconds", "TimeoutSecondsPath", 1)?;
    let heartbeat = f.seconds("HeartbeatSeconds", "HeartbeatSecondsPath", 1)?;
    if let (Some(Seconds::Fixed(t)), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat) {
        if h >= t {
            return Err(f
                .site
                .invalid("HeartbeatSeconds", "must be smaller than TimeoutSeconds"));
        }
    }
    Ok(StateKind::Task {
        resource,
        parameters,
        timeout,
        heartbeat,
        processing: f.processing()?,
    })
}

fn parse_choice(f: &Fields<'_>) -> Result<StateKind, AslError> {
    let list = f
        .map
        .get("Choices")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            f.site
                .invalid("Choices", "is required and must be a non-empty array")
        })?;
    let mut choices = Vec::with_capacity(list.len());
    for (i, rule) in list.iter().enumerate() {
        let field = format!("Choices[{i}]");
        let parsed = Rule::parse(rule, true).map_err(|m| {
            if m.contains("not supported by the local interpreter") {
                f.site.unsupported(&field, m)
            } else {
                f.site.invalid(&field, m)
            }
        })?;
        let next = rule
            .as_object()
            .and_then(rule_next)
            .ok_or_else(|| f.site.invalid(&format!("{field}.Next"), "is required"))?;
        choices.push((parsed, next.to_string()));
    }
    let default = match f.map.get("Default") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(f.site.invalid("Default", "must be a state name")),
    };
    Ok(StateKind::Choice { choices, default })
}

fn parse_wait(f: &Fields<'_>) -> Result<StateKind, AslError> {
    let present: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
        .into_iter()
        .filter(|k| f.map.contains_key(*k))
        .collect();
    let [field] = present.as_slice() else {
        return Err(f.site.invalid(
            "Seconds",
            "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
        ));
    };
    let value = &f.map[*field];
    let wait = match *field {
        "Seconds" => WaitFor::Seconds(
            value
                .as_u64()
                .ok_or_else(|| f.site.invalid("Seconds", "must be a non-negative integer"))?,
        ),
        "Timestamp" => WaitFor::Timestamp(
            value
                .as_str()
                .and_then(parse_timestamp)
                .ok_or_else(|| f.site.invalid("Timestamp", "must be an RFC 3339 timestamp"))?
                .with_timezone(&Utc),
        ),
        "SecondsPath" => WaitFor::SecondsPath(f.query(field)?),
        _ => WaitFor::TimestampPath(f.query(field)?),
    };
    Ok(StateKind::Wait {
        wait,
        next: f.transition()?,
    })
}

fn parse_map(f: &Fields<'_>) -> Result<StateKind, AslError> {
    let name = f.site.state.unwrap_or_default();
    let processor = match (f.map.get("ItemProcessor"), f.map.get("Iterator")) {
        (Some(p), None) => {
            if let Some(config) = p.get("ProcessorConfig") {
                let config = config.as_object().ok_or_else(|| {
                    f.site
                        .invalid("ItemProcessor.ProcessorConfig", "must be an object")
                })?;
                for (key, v) in config {
                    match (key.as_str(), v.as_str()) {
                        ("Mode", Some("INLINE")) => {}
                        ("Mode", Some(mode)) => {
                            return Err(f.site.unsupported(
                                "ItemProcessor.ProcessorConfig.Mode",
                                format!("mode \"{mode}\""),
                            ))
                        }
                        ("ExecutionType", _) => {
                            return Err(f
                                .site
                                .unsupported("ItemProcessor.ProcessorConfig.ExecutionType", ""))
                        }
                        _ => {
                            return Err(f.site.invalid(
                                &format!("ItemProcessor.ProcessorConfig.{key}"),
                                "unknown or invalid field",
                            ))
                        }
                    }
                }
            }
            parse_machine(p, Some(name), "ItemProcessor.", &["ProcessorConfig"])?
        }
        (None, Some(it)) => parse_machine(it, Some(name), "Iterator.", &[])?,
        _ => {
            return Err(f.site.invalid(
                "ItemProcessor",
                "a Map state needs exactly one of ItemProcessor or Iterator",
            ))
        }
    };
    let item_selector = match (f.template("ItemSelector")?, f.template("Parameters")?) {
        (Some(_), Some(_)) => {
            return Err(f
                .site
                .invalid("ItemSelector", "cannot be used together with Parameters"))
        }
        (a, b) => a.or(b),
    };
    let items_path = match f.map.get("ItemsPath") {
        None => None,
        Some(_) => Some(f.query("ItemsPath")?),
    };
    let max_concurrency = f
        .seconds("MaxConcurrency", "MaxConcurrencyPath", 0)?
        .unwrap_or(Seconds::Fixed(0));
    Ok(StateKind::Map {
        items_path,
        item_selector,
        processor: Arc::new(processor),
        max_concurrency,
        processing: f.processing()?,
    })
}

/// Typed access to a state's fields with errors naming the state and field.
struct Fields<'a> {
    site: Site<'a>,
    map: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn transition(&self) -> Result<Option<String>, AslError> {
        match (self.map.get("Next"), self.map.get("End")) {
            (Some(Value::String(next)), None) => Ok(Some(next.clone())),
            (None, Some(Value::Bool(true))) => Ok(None),
            (Some(_), Some(_)) => Err(self.site.invalid("Next", "cannot be used with End")),
            (Some(_), None) => Err(self.site.invalid("Next", "must be a state name")),
            (None, Some(_)) => Err(self.site.invalid("End", "must be true")),
            (None, None) => Err(self
                .site
                .invalid("Next", "one of Next or \"End\": true is required")),
        }
    }

    fn query(&self, field: &str) -> Result<Query, AslError> {
        let text = self.map[field]
            .as_str()
            .ok_or_else(|| self.site.invalid(field, "must be a path string"))?;
        Query::parse(text).map_err(|m| self.site.invalid(field, m))
    }

    fn data_path(&self, field: &str) -> Result<DataPath, AslError> {
        match self.map.get(field) {
            None => Ok(DataPath::Identity),
            Some(Value::Null) => Ok(DataPath::Empty),
            Some(_) => self.query(field).map(DataPath::Path),
        }
    }

    fn result_path(&self, field: &str, value: Option<&Value>) -> Result<ResultPath, AslError> {
        match value {
            None => RefPath::parse("$")
                .map(ResultPath::At)
                .map_err(|m| self.site.invalid(field, m)),
            Some(Value::Null) => Ok(ResultPath::Discard),
            Some(Value::String(text)) => RefPath::parse(text)
                .map(ResultPath::At)
                .map_err(|m| self.site.invalid(field, m)),
            Some(_) => Err(self.site.invalid(field, "must be a reference path or null")),
        }
    }

    fn template(&self, field: &str) -> Result<Option<Template>, AslError> {
        self.map
            .get(field)
            .map(|v| Template::parse(v).map_err(|m| self.site.invalid(field, m)))
            .transpose()
    }

    fn text(&self, literal: &str, path: &str) -> Result<Option<Text>, AslError> {
        match (self.map.get(literal), self.map.get(path)) {
            (Some(_), Some(_)) => Err(self
                .site
                .invalid(path, format!("cannot be used together with {literal}"))),
            (Some(Value::String(s)), None) => Ok(Some(Text::Literal(s.clone()))),
            (Some(_), None) => Err(self.site.invalid(literal, "must be a string")),
            (None, Some(Value::String(s))) => Expr::parse(s)
                .map(|e| Some(Text::Dynamic(e)))
                .map_err(|m| self.site.invalid(path, m)),
            (None, Some(_)) => Err(self.site.invalid(path, "must be a path string")),
            (None, None) => Ok(None),
        }
    }

    fn seconds(&self, literal: &str, path: &str, min: u64) -> Result<Option<Seconds>, AslError> {
        match (self.map.get(literal), self.map.get(path)) {
            (Some(_), Some(_)) => Err(self
                .site
                .invalid(path, format!("cannot be used together with {literal}"))),
            (Some(v), None) => v
                .as_u64()
                .filter(|n| *n >= min)
                .map(|n| Some(Seconds::Fixed(n)))
                .ok_or_else(|| {
                    self.site
                        .invalid(literal, format!("must be an integer >= {min}"))
                }),
            (None, Some(_)) => self.query(path).map(|q| Some(Seconds::Path(q))),
            (None, None) => Ok(None),
        }
    }

    fn processing(&self) -> Result<Processing, AslError> {
        Ok(Processing {
            result_selector: self.template("ResultSelector")?,
            result_path: self.result_path("ResultPath", self.map.get("ResultPath"))?,
            retry: self.retriers()?,
            catch: self.catchers()?,
            next: self.transition()?,
        })
    }

    fn error_equals(&self, field: &str, obj: &Map<String, Value>) -> Result<Vec<String>, AslError> {
        let list = obj
            .get("ErrorEquals")
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty())
            .ok_or_else(|| {
                self.site.invalid(
                    &format!("{field}.ErrorEquals"),
                    "is required and must be a non-empty array of error names",
                )
            })?;
        let names_list = list
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                self.site
                    .invalid(&format!("{field}.ErrorEquals"), "must contain strings only")
            })?;
        if names_list.iter().any(|n| n == names::ALL) && names_list.len() > 1 {
            return Err(self.site.invalid(
                &format!("{field}.ErrorEquals"),
                "States.ALL must appear alone",
            ));
        }
        Ok(names_list)
    }

    fn entries(&self, field: &str) -> Result<Vec<&Map<String, Value>>, AslError> {
        match self.map.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_object().ok_or_else(|| {
                        self.site
                            .invalid(&format!("{field}[{i}]"), "must be an object")
                    })
                })
                .collect(),
            Some(_) => Err(self.site.invalid(field, "must be an array")),
        }
    }

    fn check_all_last<T>(
        &self,
        field: &str,
        items: &[T],
        names_of: impl Fn(&T) -> &[String],
    ) -> Result<(), AslError> {
        for (i, item) in items.iter().enumerate() {
            if i + 1 < items.len() && names_of(item).iter().any(|n| n == names::ALL) {
                return Err(self.site.invalid(
                    &format!("{field}[{i}].ErrorEquals"),
                    "States.ALL must be in the last element",
                ));
            }
        }
        Ok(())
    }

    fn retriers(&self) -> Result<Vec<Retrier>, AslError> {
        let mut out = Vec::new();
        for (i, obj) in self.entries("Retry")?.into_iter().enumerate() {
            let field = format!("Retry[{i}]");
            let at = |k: &str| format!("{field}.{k}");
            for key in obj.keys() {
                if !matches!(
                    key.as_str(),
                    "ErrorEquals"
                        | "IntervalSeconds"
                        | "MaxAttempts"
                        | "BackoffRate"
                        | "MaxDelaySeconds"
                        | "JitterStrategy"
                        | "Comment"
                ) {
                    return Err(self.site.invalid(&at(key), "unknown field"));
                }
            }
            let int = |key: &str, default: u64, min: u64| -> Result<u64, AslError> {
                match obj.get(key) {
                    None => Ok(default),
                    Some(v) => v.as_u64().filter(|n| *n >= min).ok_or_else(|| {
                        self.site
                            .invalid(&at(key), format!("must be an integer >= {min}"))
                    }),
                }
            };
            let backoff_rate = match obj.get("BackoffRate") {
                None => 2.0,
                Some(v) => v.as_f64().filter(|r| *r >= 1.0).ok_or_else(|| {
                    self.site
                        .invalid(&at("BackoffRate"), "must be a number >= 1.0")
                })?,
            };
            let full_jitter = match obj.get("JitterStrategy").map(|v| v.as_str()) {
                None | Some(Some("NONE")) => false,
                Some(Some("FULL")) => true,
                Some(_) => {
                    return Err(self
                        .site
                        .invalid(&at("JitterStrategy"), "must be \"FULL\" or \"NONE\""))
                }
            };
            let max_attempts = int("MaxAttempts", 3, 0)?;
            out.push(Retrier {
                error_equals: self.error_equals(&field, obj)?,
                interval_seconds: int("IntervalSeconds", 1, 1)? as f64,
                max_attempts: u32::try_from(max_attempts).unwrap_or(u32::MAX),
                backoff_rate,
                max_delay_seconds: obj
                    .get("MaxDelaySeconds")
                    .map(|_| int("MaxDelaySeconds", 0, 1))
                    .transpose()?
                    .map(|n| n as f64),
                full_jitter,
            });
        }
        self.check_all_last("Retry", &out, |r| &r.error_equals)?;
        Ok(out)
    }

    fn catchers(&self) -> Result<Vec<Catcher>, AslError> {
        let mut out = Vec::new();
        for (i, obj) in self.entries("Catch")?.into_iter().enumerate() {
            let field = format!("Catch[{i}]");
            for key in obj.keys() {
                match key.as_str() {
                    "ErrorEquals" | "Next" | "ResultPath" | "Comment" => {}
                    "Assign" | "Output" => {
                        return Err(self.site.unsupported(&format!("{field}.{key}"), ""))
                    }
                    _ => {
                        return Err(self
                            .site
                            .invalid(&format!("{field}.{key}"), "unknown field"))
                    }
                }
            }
            let next = obj
                .get("Next")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    self.site
                        .invalid(&format!("{field}.Next"), "is required and must be a string")
                })?
                .to_string();
            out.push(Catcher {
                error_equals: self.error_equals(&field, obj)?,
                next,
                result_path: self
                    .result_path(&format!("{field}.ResultPath"), obj.get("ResultPath"))?,
            });
        }
        self.check_all_last("Catch", &out, |c| &c.error_equals)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_replaces_known_names_and_refuses_unknown_ones() {
        let subs = BTreeMap::from([("A".to_string(), "x".to_string())]);
        assert_eq!(
            substitute("${A}-${A} $ {B} ${", &subs).unwrap(),
            "x-x $ {B} ${"
        );
        let err = substitute("${B}", &subs).unwrap_err();
        assert!(err.to_string().contains("\"${B}\""), "{err}");
    }
}
