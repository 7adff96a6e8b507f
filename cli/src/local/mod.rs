//! `shiftgate local run`: a whole deployment on one machine.
//!
//! The project's own `state-machines/deployment.asl.json` (the file SAM
//! deploys, embedded at build time) runs in the embedded interpreter; its Task
//! states call the same handlers the Lambda binaries run, bound to local
//! stand-ins: a directory with S3's conditional writes, a simulated Lambda
//! fleet with weighted aliases and live traffic, notifications in the terminal
//! and a log file, and the real approval endpoint served on 127.0.0.1.

pub mod approval_server;
pub mod approver;
pub mod control;
pub mod http;
pub mod notifier;
pub mod traffic;
pub mod view;
pub mod wiring;

use shiftgate_core::error::WorkflowError;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use shiftgate_asl::{Clock as AslClock, ExecutionStatus, Interpreter, ScaledClock, StateMachine};
use shiftgate_core::adapters::fs_store::FsObjectStore;
use shiftgate_core::adapters::memory::{Behaviour, SimulatedFleet};
use shiftgate_core::ports::{AliasState, ObjectStore, Services, Settings};
use shiftgate_core::record::{keys, Failure};
use shiftgate_core::request::DeploymentRequest;
use shiftgate_core::{handlers, store};

pub use approver::ApproveMode;

/// The workflow definition SAM deploys, embedded so the binary runs anywhere.
pub const DEFINITION: &str = include_str!("../../../state-machines/deployment.asl.json");
/// The request `shiftgate local run` uses when given none.
pub const DEFAULT_REQUEST: &str = include_str!("../../../events/request-canary.json");

/// Options of `shiftgate local run`.
#[derive(Debug, Clone, clap::Args)]
pub struct LocalRunArgs {
    /// The deployment request (JSON). Default: a canary of checkout:live (events/request-canary.json).
    pub request: Option<PathBuf>,
    /// How many times faster than real time Wait states, health intervals and timeouts run.
    #[arg(long, default_value_t = 30.0)]
    pub speed: f64,
    /// What happens at approval gates: approve or reject through the approval page, or wait for you.
    #[arg(long, value_enum, default_value_t = ApproveMode::Auto)]
    pub approve: ApproveMode,
    /// Fraction (0–1) of requests the new version fails.
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// A hook function that answers Failed (repeatable).
    #[arg(long = "fail-hook")]
    pub fail_hooks: Vec<String>,
    /// Requests per virtual second sent through the alias.
    #[arg(long, default_value_t = 10.0)]
    pub requests_per_second: f64,
    /// Print one JSON object per event and a summary on the last line.
    #[arg(long)]
    pub json: bool,
    /// Where local state lives (records, locks, history, notifications).
    #[arg(long, default_value = ".shiftgate")]
    pub state_dir: PathBuf,
    /// Run another definition instead of the embedded one.
    #[arg(long)]
    pub definition: Option<PathBuf>,
}

/// How a local run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum RunStatus {
    /// All traffic on the new version.
    Succeeded,
    /// The alias is back where it was.
    RolledBack,
    /// Refused or failed without a clean rollback.
    Failed,
}

impl RunStatus {
    /// The process exit code: 0, 1 or 2.
    pub fn exit_code(self) -> u8 {
        match self {
            RunStatus::Succeeded => 0,
            RunStatus::RolledBack => 1,
            RunStatus::Failed => 2,
        }
    }
}

/// The last line of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// How it ended.
    pub status: RunStatus,
    /// The deployment.
    pub deployment_id: Option<String>,
    /// The alias at the end.
    pub final_alias: Option<AliasState>,
    /// The workflow's error, when it did not succeed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// States entered.
    pub state_transitions: u64,
    /// Virtual seconds the deployment took.
    pub virtual_seconds: i64,
    /// Requests and errors per version.
    pub traffic: Value,
}

/// Why a local run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// Bad options or request; nothing ran.
    #[error("{0}")]
    Invalid(String),
    /// The machine failed us (files, sockets).
    #[error("{0}")]
    Io(String),
}

fn read_request(path: Option<&Path>) -> Result<(String, String), LocalError> {
    match path {
        None => Ok((
            DEFAULT_REQUEST.to_string(),
            "events/request-canary.json (built in)".into(),
        )),
        Some(path) => std::fs::read_to_string(path)
            .map(|text| (text, path.display().to_string()))
            .map_err(|e| LocalError::Invalid(format!("cannot read {}: {e}", path.display()))),
    }
}

/// A deployment id not yet used in this state directory.
async fn unused_id(store: &dyn ObjectStore, wanted: &str) -> Result<String, LocalError> {
    for n in 1.. {
        let candidate = if n == 1 {
            wanted.to_string()
        } else {
            format!("{wanted}-{n}")
        };
        let taken = store
            .get(&keys::record(&candidate))
            .await
            .map_err(|e| LocalError::Io(e.to_string()))?
            .is_some();
        if !taken {
            return Ok(candidate);
        }
    }
    unreachable!("some id is free")
}

/// Every hook function a request names.
fn hook_names(request: &DeploymentRequest) -> Vec<String> {
    let hooks = &request.hooks;
    let mut names: Vec<String> = [
        &hooks.before_allow_traffic,
        &hooks.after_allow_traffic,
        &hooks.before_each_step,
        &hooks.on_rollback,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    if let shiftgate_core::strategy::Strategy::Steps { steps } = &request.strategy {
        names.extend(steps.iter().filter_map(|s| s.hook.clone()));
    }
    names
}

/// Run a deployment locally and report how it ended.
pub async fn run(args: LocalRunArgs) -> Result<RunSummary, LocalError> {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        return Err(LocalError::Invalid(format!(
            "--speed must be a positive number, got {}",
            args.speed
        )));
    }
    if !(0.0..=1.0).contains(&args.fail_rate) {
        return Err(LocalError::Invalid(format!(
            "--fail-rate must be between 0 and 1, got {}",
            args.fail_rate
        )));
    }
    if !(args.requests_per_second.is_finite() && args.requests_per_second >= 0.0) {
        return Err(LocalError::Invalid(
            "--requests-per-second must be 0 or more".into(),
        ));
    }
    let (request_text, request_source) = read_request(args.request.as_deref())?;
    let mut request_value: Value = serde_json::from_str(&request_text)
        .map_err(|e| LocalError::Invalid(format!("{request_source} is not JSON: {e}")))?;
    let request = DeploymentRequest::from_value(request_value.clone())
        .map_err(|e| LocalError::Invalid(e.0))?;
    request.validate().map_err(|e| LocalError::Invalid(e.0))?;
    let target = request.target.clone();
    let target_version: u32 = target
        .target_version
        .parse()
        .map_err(|_| LocalError::Invalid("targetVersion must be a number".into()))?;
    if target_version < 2 {
        return Err(LocalError::Invalid("locally the alias serves the version before targetVersion, so targetVersion must be 2 or more".into()));
    }
    let definition = match &args.definition {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| LocalError::Invalid(format!("cannot read {}: {e}", path.display())))?,
        None => DEFINITION.to_string(),
    };
    let machine = StateMachine::from_json(&definition, &wiring::substitutions())
        .map_err(|e| LocalError::Invalid(e.to_string()))?;

    // Stand-ins.
    std::fs::create_dir_all(&args.state_dir)
        .map_err(|e| LocalError::Io(format!("cannot create {}: {e}", args.state_dir.display())))?;
    let store: Arc<dyn ObjectStore> = Arc::new(
        FsObjectStore::new(args.state_dir.join("bucket"))
            .map_err(|e| LocalError::Io(e.to_string()))?,
    );
    let clock: Arc<dyn AslClock> = Arc::new(ScaledClock::new(args.speed));
    let core_clock = Arc::new(wiring::SharedClock(clock.clone()));
    let fleet = SimulatedFleet::new(core_clock.clone());
    fleet.add_function(
        &target.function_name,
        target_version,
        &target.alias,
        &(target_version - 1).to_string(),
    );
    fleet.set_failure_rate(
        &target.function_name,
        &target.target_version,
        args.fail_rate,
    );
    for hook in hook_names(&request) {
        let answer = if args.fail_hooks.contains(&hook) {
            json!({"status": "Failed", "reason": "--fail-hook"})
        } else {
            json!({"status": "Succeeded"})
        };
        fleet.add_hook(&hook, Behaviour::Answer(answer));
    }
    for alarm in &request.alarms {
        fleet.set_alarm(alarm, false);
    }

    let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
    let notifier = Arc::new(
        notifier::LocalNotifier::new(args.state_dir.join("notifications.log"), events_tx.clone())
            .map_err(|e| LocalError::Io(format!("notification log: {e}")))?,
    );
    let callback = wiring::InterpreterCallback::default();
    let mut services = Services {
        store: store.clone(),
        aliases: Arc::new(fleet.clone()),
        functions: Arc::new(fleet.clone()),
        notifier,
        health: Arc::new(fleet.clone()),
        workflow: Arc::new(callback.clone()),
        clock: core_clock,
        settings: Settings {
            default_notify_topic_arn: Some("arn:aws:sns:local:000000000000:shiftgate-local".into()),
            approval_base_url: None,
        },
    };
    let control_secret = control::new_secret();
    let (server_addr, server) = approval_server::serve(
        services.clone(),
        ([127, 0, 0, 1], 0).into(),
        Some(control_secret.clone()),
    )
    .await
    .map_err(|e| LocalError::Io(format!("approval server: {e}")))?;
    services.settings.approval_base_url = Some(format!("http://{server_addr}/"));

    let functions = Arc::new(wiring::InProcessFunctions {
        services: services.clone(),
    });
    let interpreter = Interpreter::new(machine, functions, clock.clone());
    callback.connect(interpreter.callbacks());

    // The execution name becomes the deployment id unless the request names one.
    let execution_name = local_execution_name(chrono::Utc::now(), std::process::id());
    // Operator commands (`shiftgate abort … --state-dir`) find this run here.
    let _run_file = control::publish_run(
        &args.state_dir,
        &execution_name,
        &control::RunFile {
            pid: std::process::id(),
            url: format!("http://{server_addr}{}", control::CONTROL_PATH),
            secret: control_secret,
        },
    )
    .map_err(|e| LocalError::Io(format!("cannot write the run file: {e}")))?;
    if let Some(id) = &request.deployment_id {
        let free = unused_id(store.as_ref(), id).await?;
        if &free != id {
            request_value["deploymentId"] = json!(free);
        }
    }

    if !args.json {
        println!(
            "shiftgate local · {}:{} v{} → v{} · {} · {}× speed",
            target.function_name,
            target.alias,
            target_version - 1,
            target_version,
            request_source,
            args.speed
        );
        println!(
            "  approval page on http://{server_addr}/ · notifications in {}",
            args.state_dir.join("notifications.log").display()
        );
    }

    let traffic = traffic::start(
        fleet.clone(),
        clock.clone(),
        target.function_name.clone(),
        target.alias.clone(),
        args.requests_per_second,
    );
    let view = tokio::spawn(view::run(
        view::ViewOptions {
            json: args.json,
            approve: args.approve,
            function: target.function_name.clone(),
        },
        view::ViewContext {
            store: store.clone(),
            fleet: fleet.clone(),
            clock: clock.clone(),
        },
        events_rx,
    ));
    let observer_tx = events_tx.clone();
    let observer = Arc::new(move |event: &shiftgate_asl::ExecutionEvent| {
        let _ = observer_tx.send(view::LocalEvent::Execution(event.clone()));
    });
    let start = clock.now();

    let execution = interpreter.execute(request_value, &execution_name, observer);
    tokio::pin!(execution);
    let interrupted = tokio::select! {
        outcome = &mut execution => Ok(outcome),
        signal = stop_signal() => Err(signal),
    };
    traffic.abort();
    let outcome = match interrupted {
        Ok(outcome) => outcome,
        Err(signal) => {
            let _ = events_tx.send(view::LocalEvent::Finished);
            let id = view.await.ok().flatten();
            let summary = abandon(
                &services,
                &fleet,
                &target,
                id,
                start,
                clock.as_ref(),
                signal,
            )
            .await;
            server.shutdown().await;
            return Ok(summary);
        }
    };
    let _ = events_tx.send(view::LocalEvent::Finished);
    let deployment_id = view.await.ok().flatten();
    server.shutdown().await;

    let (status, error, cause) = match &outcome.status {
        ExecutionStatus::Succeeded { .. } => (RunStatus::Succeeded, None, None),
        ExecutionStatus::Failed { error, cause }
            if WorkflowError::from_name(error) == Some(WorkflowError::DeploymentRolledBack) =>
        {
            let reason = match &deployment_id {
                Some(id) => store::load_record(store.as_ref(), id)
                    .await
                    .ok()
                    .and_then(|(r, _)| r.failure.map(|f| f.reason())),
                None => None,
            };
            (
                RunStatus::RolledBack,
                Some(error.clone()),
                reason.or(Some(cause.clone())),
            )
        }
        // A refusal's cause is Prepare's own error: say who holds the alias, or
        // which field is wrong, not a pointer to somewhere else.
        ExecutionStatus::Failed { error, cause } => (
            RunStatus::Failed,
            Some(error.clone()),
            Some(shiftgate_core::record::readable_cause(cause)),
        ),
    };
    Ok(RunSummary {
        status,
        deployment_id,
        final_alias: fleet.alias(&target.function_name, &target.alias),
        error,
        cause,
        state_transitions: outcome.state_transitions,
        virtual_seconds: (clock.now() - start).num_seconds(),
        traffic: view::traffic_json(&fleet, &target.function_name),
    })
}

/// The first of Ctrl-C (SIGINT), SIGTERM and SIGHUP, by name: each ends a
/// local run the same way, with the deployment finished, not left half-way.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut terminate), Ok(mut hangup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
            _ = hangup.recv() => "SIGHUP",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// Stopped by `signal`: finish the deployment as the workflow's rollback path
/// would (alias back exactly, onRollback hooks, record ended, lock released,
/// people told), so nothing is left half-done.
async fn abandon(
    services: &Services,
    fleet: &SimulatedFleet,
    target: &shiftgate_core::request::Target,
    deployment_id: Option<String>,
    start: chrono::DateTime<chrono::Utc>,
    clock: &dyn AslClock,
    signal: &str,
) -> RunSummary {
    let cause = format!("the local run was stopped by {signal}");
    if let Some(id) = &deployment_id {
        let failure = Failure {
            error: "Interrupted".into(),
            cause: cause.clone(),
        };
        if let Err(error) = handlers::finish_interrupted(services, id, failure).await {
            tracing::error!(deployment_id = %id, %error, "could not finish the interrupted deployment");
        }
    }
    RunSummary {
        status: RunStatus::RolledBack,
        deployment_id,
        final_alias: fleet.alias(&target.function_name, &target.alias),
        error: Some("Interrupted".into()),
        cause: Some(cause),
        state_transitions: 0,
        virtual_seconds: (clock.now() - start).num_seconds(),
        traffic: view::traffic_json(fleet, &target.function_name),
    }
}

/// The summary a person reads at the end.
pub fn render_summary(summary: &RunSummary) -> String {
    let alias = summary.final_alias.as_ref().map_or_else(
        || "unknown".to_string(),
        |a| {
            if a.additional_version_weights.is_empty() {
                format!("version {} (no routing)", a.function_version)
            } else {
                format!(
                    "version {} with routing {:?}",
                    a.function_version, a.additional_version_weights
                )
            }
        },
    );
    let mark = match summary.status {
        RunStatus::Succeeded => "✔",
        RunStatus::RolledBack => "↩",
        RunStatus::Failed => "✗",
    };
    let mut text = format!(
        "{mark} {:?} · deployment {} · alias on {alias} · {} state transitions · {} s of virtual time",
        summary.status,
        summary.deployment_id.as_deref().unwrap_or("-"),
        summary.state_transitions,
        summary.virtual_seconds
    );
    if let Some(cause) = &summary.cause {
        if summary.status != RunStatus::Succeeded {
            text.push_str(&format!("\n  reason: {cause}"));
        }
    }
    text
}

/// A local run's execution name, which is also its deployment id unless the
/// request names one: unique across runs that start in the same millisecond
/// (two processes racing for one alias must never look like one execution),
/// and readable: `local-<UTC time to the ms>-<process id>-<random>`.
fn local_execution_name(now: chrono::DateTime<chrono::Utc>, process: u32) -> String {
    format!(
        "local-{}-{process}-{:04x}",
        now.format("%Y%m%dT%H%M%S%3f"),
        rand::random::<u16>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_starting_in_the_same_millisecond_get_different_valid_names() {
        let now = chrono::Utc::now();
        let names: std::collections::BTreeSet<String> =
            (0..64).map(|_| local_execution_name(now, 4242)).collect();
        assert!(names.len() > 60, "{names:?}");
        for name in &names {
            shiftgate_core::request::validate_deployment_id(name).unwrap();
        }
        assert_ne!(local_execution_name(now, 1), local_execution_name(now, 2));
    }
}
