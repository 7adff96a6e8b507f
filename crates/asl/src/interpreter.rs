//! Executing a loaded [`StateMachine`]: the state loop, input/output processing,
//! Lambda tasks through a [`TaskHandler`], callbacks, Retry/Catch, Parallel and
//! Map concurrency, all on a [`Clock`].

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::callbacks::{Callbacks, Signal, TokenGuard};
use crate::clock::Clock;
use crate::definition::{
    parse_machine, substitute, DataPath, Machine, Processing, Resource, Seconds, State, StateKind,
    Text, WaitFor,
};
use crate::error::{error_matches, names, AslError, Failure, TaskError};
use crate::observer::{EventKind, ExecutionEvent, Observer};
use crate::path::Query;

/// Region and account used in the ARNs the local interpreter makes up.
const LOCAL_ARN_PREFIX: &str = "arn:aws:states:local:000000000000";

/// A loaded and validated state machine definition.
#[derive(Debug, Clone)]
pub struct StateMachine {
    root: Arc<Machine>,
    timeout_seconds: Option<u64>,
}

impl StateMachine {
    /// Substitutes every `${Name}` (like SAM's `DefinitionSubstitutions`), parses
    /// and validates the definition, including Map processors and Parallel branches.
    ///
    /// Anything the interpreter cannot run faithfully is refused here, with an
    /// error naming the state and the field.
    pub fn from_json(
        definition: &str,
        substitutions: &BTreeMap<String, String>,
    ) -> Result<Self, AslError> {
        let text = substitute(definition, substitutions)?;
        let value: Value = serde_json::from_str(&text)?;
        let timeout_seconds = match value.get("TimeoutSeconds") {
            None => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| AslError::Invalid {
                        state: None,
                        field: "TimeoutSeconds".into(),
                        message: "must be a positive integer".into(),
                    })?,
            ),
        };
        if let Some(v) = value.get("Version") {
            if v.as_str() != Some("1.0") {
                return Err(AslError::Invalid {
                    state: None,
                    field: "Version".into(),
                    message: "must be \"1.0\"".into(),
                });
            }
        }
        let root = parse_machine(&value, None, "", &["Version", "TimeoutSeconds"])?;
        Ok(Self {
            root: Arc::new(root),
            timeout_seconds,
        })
    }

    /// Names of the top-level states (sorted), e.g. for listing in the CLI.
    pub fn state_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.root.states.keys().cloned().collect();
        names.sort();
        names
    }
}

/// What a [`TaskHandler`] learns about the task it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskContext {
    /// The Task state's name.
    pub state_name: String,
    /// The execution's name.
    pub execution_name: String,
    /// The execution's (local) ARN, as `$$.Execution.Id`.
    pub execution_id: String,
    /// The task token for `waitForTaskToken` tasks.
    pub task_token: Option<String>,
    /// How many times this state has been retried so far (`$$.State.RetryCount`).
    pub retry_count: u32,
}

/// Runs the Lambda functions named by Task states, in process.
#[async_trait]
pub trait TaskHandler: Send + Sync {
    /// Invokes `function_arn` with `payload`; an `Err` fails the task with that error name.
    async fn invoke(
        &self,
        function_arn: &str,
        payload: Value,
        ctx: &TaskContext,
    ) -> Result<Value, TaskError>;
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecutionStatus {
    /// Reached a Succeed state or an end state.
    Succeeded {
        /// The execution output.
        output: Value,
    },
    /// A Fail state, or an error no Catcher handled.
    Failed {
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
}

/// The result of [`Interpreter::execute`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionOutcome {
    /// Success with output, or failure with error and cause.
    pub status: ExecutionStatus,
    /// States entered, counting states inside Map iterations and Parallel
    /// branches as well as the Map/Parallel state itself (what Step Functions bills).
    pub state_transitions: u64,
}

/// Runs executions of one state machine with in-process handlers and a clock.
pub struct Interpreter {
    machine: StateMachine,
    handler: Arc<dyn TaskHandler>,
    clock: Arc<dyn Clock>,
    callbacks: Callbacks,
    state_machine_name: String,
}

impl Interpreter {
    /// An interpreter for `machine` whose tasks call `handler` and whose time is `clock`.
    pub fn new(
        machine: StateMachine,
        handler: Arc<dyn TaskHandler>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            machine,
            handler,
            clock,
            callbacks: Callbacks::default(),
            state_machine_name: "shiftgate-deployment".to_string(),
        }
    }

    /// Sets the name used in `$$.StateMachine.Id` and `$$.Execution.Id`.
    pub fn with_state_machine_name(mut self, name: impl Into<String>) -> Self {
        self.state_machine_name = name.into();
        self
    }

    /// The handle to complete `waitForTaskToken` tasks of this interpreter's executions.
    pub fn callbacks(&self) -> Callbacks {
        self.callbacks.clone()
    }

    /// Runs one execution to its end and reports its outcome; `observer` sees every event.
    pub async fn execute(
        &self,
        input: Value,
        execution_name: &str,
        observer: Arc<dyn Observer>,
    ) -> ExecutionOutcome {
        let start = self.clock.now();
        let state_machine_id = format!(
            "{LOCAL_ARN_PREFIX}:stateMachine:{}",
            self.state_machine_name
        );
        let execution_id = format!(
            "{LOCAL_ARN_PREFIX}:execution:{}:{execution_name}",
            self.state_machine_name
        );
        let run = Arc::new(Run {
            handler: self.handler.clone(),
            clock: self.clock.clone(),
            callbacks: self.callbacks.clone(),
            observer,
            transitions: AtomicU64::new(0),
            execution_name: execution_name.to_string(),
            execution_id: execution_id.clone(),
            context: json!({
                "Execution": {
                    "Id": execution_id,
                    "Input": input,
                    "Name": execution_name,
                    "RoleArn": "arn:aws:iam::000000000000:role/shiftgate-local",
                    "StartTime": timestamp(start),
                    "RedriveCount": 0
                },
                "StateMachine": {"Id": state_machine_id, "Name": self.state_machine_name}
            }),
        });
        run.emit(EventKind::ExecutionStarted {
            name: execution_name.to_string(),
            input: input.clone(),
        });
        let body = run_machine(run.clone(), self.machine.root.clone(), input);
        let result = match self.machine.timeout_seconds {
            None => body.await,
            Some(limit) => {
                tokio::select! {
                    r = body => r,
                    _ = self.clock.sleep(Duration::from_secs(limit)) => Err(Failure::new(
                        names::TIMEOUT,
                        format!("The execution exceeded its TimeoutSeconds of {limit}"),
                    )),
                }
            }
        };
        let status = match result {
            Ok(output) => {
                run.emit(EventKind::ExecutionSucceeded {
                    output: output.clone(),
                });
                ExecutionStatus::Succeeded { output }
            }
            Err(f) => {
                run.emit(EventKind::ExecutionFailed {
                    error: f.error.clone(),
                    cause: f.cause.clone(),
                });
                ExecutionStatus::Failed {
                    error: f.error,
                    cause: f.cause,
                }
            }
        };
        ExecutionOutcome {
            status,
            state_transitions: run.transitions.load(Ordering::SeqCst),
        }
    }
}

/// Everything shared by the states of one execution, including Map/Parallel tasks.
struct Run {
    handler: Arc<dyn TaskHandler>,
    clock: Arc<dyn Clock>,
    callbacks: Callbacks,
    observer: Arc<dyn Observer>,
    transitions: AtomicU64,
    execution_name: String,
    execution_id: String,
    /// `Execution` and `StateMachine` parts of the context object.
    context: Value,
}

/// Per-state data for the context object.
struct Entry<'a> {
    state: &'a State,
    entered: String,
    retry_count: u32,
}

impl Run {
    fn emit(&self, kind: EventKind) {
        self.observer.on_event(&ExecutionEvent {
            at: self.clock.now(),
            kind,
        });
    }

    /// Builds `$$` for a state (plus `Task.Token` and `Map.Item` when they apply).
    fn context(
        &self,
        entry: &Entry<'_>,
        token: Option<&str>,
        item: Option<(usize, &Value)>,
    ) -> Value {
        let mut ctx = self.context.clone();
        let Some(map) = ctx.as_object_mut() else {
            // The context is built as an object in `new`; nothing else replaces it.
            return ctx;
        };
        map.insert(
            "State".into(),
            json!({"Name": entry.state.name, "EnteredTime": entry.entered, "RetryCount": entry.retry_count}),
        );
        if let Some(token) = token {
            map.insert("Task".into(), json!({"Token": token}));
        }
        if let Some((index, value)) = item {
            map.insert(
                "Map".into(),
                json!({"Item": {"Index": index, "Value": value}}),
            );
        }
        ctx
    }
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Runs a machine (top level, branch or Map iteration) from `StartAt` to its end.
fn run_machine(
    run: Arc<Run>,
    machine: Arc<Machine>,
    input: Value,
) -> BoxFuture<Result<Value, Failure>> {
    Box::pin(async move {
        let mut name = machine.start_at.clone();
        let mut input = input;
        loop {
            let state = &machine.states[&name];
            run.transitions.fetch_add(1, Ordering::SeqCst);
            let entered = timestamp(run.clock.now());
            run.emit(EventKind::StateEntered {
                state: name.clone(),
                input: input.clone(),
            });
            let (output, next) = run_state(&run, state, input, entered).await?;
            run.emit(EventKind::StateExited {
                state: name.clone(),
                output: output.clone(),
            });
            match next {
                Some(next) => {
                    name = next;
                    input = output;
                }
                None => return Ok(output),
            }
        }
    })
}

fn apply_data_path(
    path: &DataPath,
    state: &str,
    field: &str,
    value: &Value,
    ctx: &Value,
) -> Result<Value, Failure> {
    match path {
        DataPath::Identity => Ok(value.clone()),
        DataPath::Empty => Ok(json!({})),
        DataPath::Path(q) => q.select(value, ctx).ok_or_else(|| {
            Failure::runtime(
                state,
                format!(
                    "Invalid path '{}' : The {field} could not be found in the input",
                    q.text
                ),
            )
        }),
    }
}

/// Runs one state; returns its output and the next state (`None` at an end).
async fn run_state(
    run: &Arc<Run>,
    state: &State,
    input: Value,
    entered: String,
) -> Result<(Value, Option<String>), Failure> {
    let name = state.name.as_str();
    let entry = Entry {
        state,
        entered,
        retry_count: 0,
    };
    let ctx = run.context(&entry, None, None);
    let effective = || apply_data_path(&state.input_path, name, "InputPath", &input, &ctx);
    let output = |v: Value| apply_data_path(&state.output_path, name, "OutputPath", &v, &ctx);
    match &state.kind {
        StateKind::Pass {
            parameters,
            result,
            result_path,
            next,
        } => {
            let effective = effective()?;
            let value = match (result, parameters) {
                (Some(r), _) => r.clone(),
                (None, Some(p)) => p.eval(&effective, &ctx, name)?,
                (None, None) => effective,
            };
            let combined = result_path.apply(input.clone(), value).map_err(|m| {
                Failure::new(
                    names::RESULT_PATH_MATCH_FAILURE,
                    format!("State '{name}': {m}"),
                )
            })?;
            Ok((output(combined)?, next.clone()))
        }
        StateKind::Choice { choices, default } => {
            let effective = effective()?;
            for (rule, next) in choices {
                if rule.eval(&effective, &ctx, name)? {
                    return Ok((output(effective)?, Some(next.clone())));
                }
            }
            match default {
                Some(d) => Ok((output(effective)?, Some(d.clone()))),
                None => Err(Failure::new(
                    names::NO_CHOICE_MATCHED,
                    format!("No Choice rule of state '{name}' matched and it has no Default"),
                )),
            }
        }
        StateKind::Wait { wait, next } => {
            let effective = effective()?;
            match wait {
                WaitFor::Seconds(s) => run.clock.sleep(Duration::from_secs(*s)).await,
                WaitFor::Timestamp(t) => run.clock.sleep_until(*t).await,
                WaitFor::SecondsPath(q) => {
                    let s = non_negative_int(q, &effective, &ctx, name)?;
                    run.clock.sleep(Duration::from_secs(s)).await
                }
                WaitFor::TimestampPath(q) => {
                    let t = q
                        .select(&effective, &ctx)
                        .and_then(|v| v.as_str().and_then(crate::choice::parse_timestamp))
                        .ok_or_else(|| {
                            Failure::runtime(
                                name,
                                format!("'{}' does not designate an RFC 3339 timestamp", q.text),
                            )
                        })?;
                    run.clock.sleep_until(t.with_timezone(&Utc)).await
                }
            }
            Ok((output(effective)?, next.clone()))
        }
        StateKind::Succeed => Ok((output(effective()?)?, None)),
        StateKind::Fail { error, cause } => {
            let text = |t: &Option<Text>, field: &str| -> Result<String, Failure> {
                match t {
                    None => Ok(String::new()),
                    Some(Text::Literal(s)) => Ok(s.clone()),
                    Some(Text::Dynamic(e)) => {
                        match e.eval(&input, &ctx, name, field, names::RUNTIME)? {
                            Value::String(s) => Ok(s),
                            other => Err(Failure::runtime(
                                name,
                                format!("{field} must select a string, got {other}"),
                            )),
                        }
                    }
                }
            };
            Err(Failure::new(
                text(error, "ErrorPath")?,
                text(cause, "CausePath")?,
            ))
        }
        StateKind::Task { processing, .. }
        | StateKind::Parallel { processing, .. }
        | StateKind::Map { processing, .. } => with_recovery(run, entry, processing, input).await,
    }
}

fn non_negative_int(q: &Query, input: &Value, ctx: &Value, state: &str) -> Result<u64, Failure> {
    q.select(input, ctx)
        .and_then(|v| v.as_u64())
        .ok_or_else(|| {
            Failure::runtime(
                state,
                format!("'{}' does not designate a non-negative integer", q.text),
            )
        })
}

/// Runs attempts of a Task, Parallel or Map state under its Retry and Catch rules.
async fn with_recovery(
    run: &Arc<Run>,
    mut entry: Entry<'_>,
    processing: &Processing,
    input: Value,
) -> Result<(Value, Option<String>), Failure> {
    let name = entry.state.name.clone();
    let mut attempts_used = vec![0u32; processing.retry.len()];
    loop {
        let failure = match attempt(run, &entry, processing, &input).await {
            Ok(output) => return Ok((output, processing.next.clone())),
            Err(f) => f,
        };
        if failure.is_terminal() {
            return Err(failure);
        }
        // Only the first matching retrier applies; once it is exhausted, Catch decides.
        if let Some(i) = processing
            .retry
            .iter()
            .position(|r| error_matches(&r.error_equals, &failure.error))
        {
            let retrier = &processing.retry[i];
            if attempts_used[i] < retrier.max_attempts {
                let mut delay =
                    retrier.interval_seconds * retrier.backoff_rate.powi(attempts_used[i] as i32);
                if let Some(max) = retrier.max_delay_seconds {
                    delay = delay.min(max);
                }
                if retrier.full_jitter {
                    delay *= random_fraction();
                }
                attempts_used[i] += 1;
                entry.retry_count += 1;
                run.emit(EventKind::RetryScheduled {
                    state: name.clone(),
                    error: failure.error.clone(),
                    attempt: attempts_used[i],
                    delay_seconds: delay,
                });
                run.clock.sleep(Duration::from_secs_f64(delay)).await;
                continue;
            }
        }
        if let Some(catcher) = processing
            .catch
            .iter()
            .find(|c| error_matches(&c.error_equals, &failure.error))
        {
            let error_output = json!({"Error": failure.error, "Cause": failure.cause});
            let output = catcher
                .result_path
                .apply(input, error_output)
                .map_err(|m| {
                    Failure::new(
                        names::RESULT_PATH_MATCH_FAILURE,
                        format!("State '{name}', Catch ResultPath: {m}"),
                    )
                })?;
            run.emit(EventKind::ErrorCaught {
                state: name.clone(),
                error: failure.error,
                next: catcher.next.clone(),
            });
            return Ok((output, Some(catcher.next.clone())));
        }
        return Err(failure);
    }
}

fn random_fraction() -> f64 {
    // uuid v4 is our only randomness source; 53 random bits make a uniform fraction.
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

/// One attempt: input processing, the work itself, then result processing.
async fn attempt(
    run: &Arc<Run>,
    entry: &Entry<'_>,
    processing: &Processing,
    input: &Value,
) -> Result<Value, Failure> {
    let state = entry.state;
    let name = state.name.as_str();
    let base_ctx = run.context(entry, None, None);
    let effective = apply_data_path(&state.input_path, name, "InputPath", input, &base_ctx)?;
    let (result, ctx) = match &state.kind {
        StateKind::Task {
            resource,
            parameters,
            timeout,
            heartbeat,
            ..
        } => {
            // The token must exist before Parameters are evaluated: they pass `$$.Task.Token`.
            let issued = (*resource == Resource::InvokeWaitForToken).then(|| run.callbacks.issue());
            let (token, rx) = match issued {
                Some((token, rx)) => (Some(token), Some(rx)),
                None => (None, None),
            };
            let _guard = token.clone().map(|token| TokenGuard {
                callbacks: run.callbacks.clone(),
                token,
            });
            let ctx = run.context(entry, token.as_deref(), None);
            let payload = match parameters {
                Some(p) => p.eval(&effective, &ctx, name)?,
                None => effective.clone(),
            };
            let seconds = |s: &Option<Seconds>| -> Result<Option<u64>, Failure> {
                match s {
                    None => Ok(None),
                    Some(Seconds::Fixed(n)) => Ok(Some(*n)),
                    Some(Seconds::Path(q)) => {
                        non_negative_int(q, &effective, &ctx, name).and_then(|n| {
                            if n == 0 {
                                Err(Failure::runtime(
                                    name,
                                    format!("'{}' must be positive", q.text),
                                ))
                            } else {
                                Ok(Some(n))
                            }
                        })
                    }
                }
            };
            let timeout = seconds(timeout)?;
            let heartbeat = seconds(heartbeat)?;
            let task_ctx = TaskContext {
                state_name: name.to_string(),
                execution_name: run.execution_name.clone(),
                execution_id: run.execution_id.clone(),
                task_token: token.clone(),
                retry_count: entry.retry_count,
            };
            let work = invoke(run, name, resource, payload, &task_ctx, rx, heartbeat);
            let result = match timeout {
                None => work.await,
                Some(limit) => tokio::select! {
                    r = work => r,
                    _ = run.clock.sleep(Duration::from_secs(limit)) => Err(Failure::new(
                        names::TIMEOUT,
                        format!("State '{name}' did not finish within {limit} seconds"),
                    )),
                },
            };
            match &result {
                Ok(v) => run.emit(EventKind::TaskSucceeded {
                    state: name.to_string(),
                    result: v.clone(),
                }),
                Err(f) => run.emit(EventKind::TaskFailed {
                    state: name.to_string(),
                    error: f.error.clone(),
                    cause: f.cause.clone(),
                }),
            }
            (result?, ctx)
        }
        StateKind::Parallel {
            branches,
            parameters,
            ..
        } => {
            let branch_input = match parameters {
                Some(p) => p.eval(&effective, &base_ctx, name)?,
                None => effective.clone(),
            };
            let mut set = JoinSet::new();
            for (i, branch) in branches.iter().enumerate() {
                let (run, branch, input) = (run.clone(), branch.clone(), branch_input.clone());
                set.spawn(async move { (i, run_machine(run, branch, input).await) });
            }
            let mut outputs = vec![Value::Null; branches.len()];
            while let Some(joined) = set.join_next().await {
                let (i, result) = joined
                    .map_err(|e| Failure::runtime(name, format!("branch task failed: {e}")))?;
                // Dropping the JoinSet on error cancels the other branches, as Step Functions stops them.
                outputs[i] = result?;
            }
            (Value::Array(outputs), base_ctx)
        }
        StateKind::Map {
            items_path,
            item_selector,
            processor,
            max_concurrency,
            ..
        } => {
            let items = match items_path {
                None => Some(effective.clone()),
                Some(q) => q.select(&effective, &base_ctx),
            };
            let Some(Value::Array(items)) = items else {
                return Err(Failure::runtime(
                    name,
                    format!(
                        "ItemsPath '{}' must select an array",
                        items_path.as_ref().map_or("$", |q| q.text.as_str())
                    ),
                ));
            };
            let limit = match max_concurrency {
                Seconds::Fixed(n) => *n,
                Seconds::Path(q) => non_negative_int(q, &effective, &base_ctx, name)?,
            };
            let limit = if limit == 0 {
                items.len().max(1)
            } else {
                limit as usize
            };
            let mut inputs = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                inputs.push(match item_selector {
                    Some(selector) => {
                        let ctx = run.context(entry, None, Some((index, item)));
                        selector.eval(&effective, &ctx, name)?
                    }
                    None => item.clone(),
                });
            }
            let outputs = run_iterations(run, name, processor, inputs, limit).await?;
            (Value::Array(outputs), base_ctx)
        }
        _ => unreachable!("only Task, Parallel and Map states have attempts"),
    };
    let result = match &processing.result_selector {
        Some(selector) => selector.eval(&result, &ctx, name)?,
        None => result,
    };
    let combined = processing
        .result_path
        .apply(input.clone(), result)
        .map_err(|m| {
            Failure::new(
                names::RESULT_PATH_MATCH_FAILURE,
                format!("State '{name}': {m}"),
            )
        })?;
    apply_data_path(&state.output_path, name, "OutputPath", &combined, &ctx)
}

/// Runs Map iterations with at most `limit` in flight, starting them in item order.
async fn run_iterations(
    run: &Arc<Run>,
    name: &str,
    processor: &Arc<Machine>,
    inputs: Vec<Value>,
    limit: usize,
) -> Result<Vec<Value>, Failure> {
    let total = inputs.len();
    let mut outputs = vec![Value::Null; total];
    let mut pending = inputs.into_iter().enumerate();
    let mut set = JoinSet::new();
    let spawn = |set: &mut JoinSet<(usize, Result<Value, Failure>)>, index: usize, input: Value| {
        let (run, processor, state) = (run.clone(), processor.clone(), name.to_string());
        set.spawn(async move {
            run.emit(EventKind::MapIterationStarted {
                state: state.clone(),
                index,
            });
            let result = run_machine(run.clone(), processor, input).await;
            run.emit(EventKind::MapIterationEnded {
                state,
                index,
                error: result.as_ref().err().map(|f| f.error.clone()),
            });
            (index, result)
        });
    };
    for (index, input) in pending.by_ref().take(limit) {
        spawn(&mut set, index, input);
    }
    while let Some(joined) = set.join_next().await {
        let (index, result) =
            joined.map_err(|e| Failure::runtime(name, format!("iteration task failed: {e}")))?;
        outputs[index] = result?;
        if let Some((index, input)) = pending.next() {
            spawn(&mut set, index, input);
        }
    }
    Ok(outputs)
}

/// Calls the handler for one task attempt and, for callback tasks, waits for the token.
async fn invoke(
    run: &Arc<Run>,
    state: &str,
    resource: &Resource,
    payload: Value,
    task_ctx: &TaskContext,
    rx: Option<mpsc::UnboundedReceiver<Signal>>,
    heartbeat: Option<u64>,
) -> Result<Value, Failure> {
    let (function, payload) = match resource {
        Resource::Function(arn) => (arn.clone(), payload),
        Resource::Invoke | Resource::InvokeWaitForToken => {
            let mut params = match payload {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            let function = match params.remove("FunctionName") {
                Some(Value::String(f)) => f,
                other => {
                    return Err(Failure::runtime(
                        state,
                        format!(
                            "Parameters.FunctionName must be a string, got {}",
                            other.unwrap_or(Value::Null)
                        ),
                    ))
                }
            };
            // Without Payload, Lambda is invoked with an empty JSON object.
            (
                function,
                params.remove("Payload").unwrap_or_else(|| json!({})),
            )
        }
    };
    run.emit(EventKind::TaskScheduled {
        state: state.to_string(),
        function: function.clone(),
        payload: payload.clone(),
    });
    let output = run.handler.invoke(&function, payload, task_ctx).await?;
    match resource {
        Resource::Function(_) => Ok(output),
        Resource::Invoke => {
            Ok(json!({"Payload": output, "StatusCode": 200, "ExecutedVersion": "$LATEST"}))
        }
        Resource::InvokeWaitForToken => {
            let Some(mut rx) = rx else {
                return Err(Failure::new(
                    names::RUNTIME,
                    format!("State '{state}' waits for a task token but has no callback channel"),
                ));
            };
            loop {
                let signal = match heartbeat {
                    None => rx.recv().await,
                    Some(seconds) => tokio::select! {
                        s = rx.recv() => s,
                        _ = run.clock.sleep(Duration::from_secs(seconds)) => {
                            return Err(Failure::new(
                                names::HEARTBEAT_TIMEOUT,
                                format!("State '{state}' received no heartbeat within {seconds} seconds"),
                            ))
                        }
                    },
                };
                match signal {
                    Some(Signal::Success(v)) => return Ok(v),
                    Some(Signal::Failure { error, cause }) => {
                        return Err(Failure::new(error, cause))
                    }
                    Some(Signal::Heartbeat) => continue,
                    None => {
                        return Err(Failure::runtime(
                            state,
                            "the task token was closed while waiting",
                        ))
                    }
                }
            }
        }
    }
}
