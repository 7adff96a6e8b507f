//! Operator commands against a running `shiftgate local run`.
//!
//! A local run's workflow lives in its process: the embedded interpreter holds
//! the task tokens, so `shiftgate abort|hold|resume|promote|approve|reject
//! --state-dir D` cannot resume it from outside the way `SendTaskSuccess`
//! resumes Step Functions. Each run therefore writes
//! `D/runs/<execution name>.json` (its control URL on 127.0.0.1 and a random
//! secret, readable by its user only), and its approval server answers
//! `POST /_control` carrying that secret. The command sends its request there,
//! and the run carries it out with its own services: the same
//! [`operator::act`] and [`approval::decide_as_operator`] the AWS path calls,
//! on the run's virtual clock, notifier and workflow callbacks.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};
use shiftgate_core::adapters::fs_store::FsObjectStore;
use shiftgate_core::approval;
use shiftgate_core::operator::{self, Command};
use shiftgate_core::ports::Services;
use shiftgate_core::store;

use super::http;

/// The path the approval server routes to [`serve`].
pub const CONTROL_PATH: &str = "/_control";
/// The request header that carries the run's control secret.
pub const SECRET_HEADER: &str = "x-shiftgate-control-secret";

/// What an operator asks a local run to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ControlAction {
    /// `shiftgate abort`.
    Abort,
    /// `shiftgate hold`.
    Hold,
    /// `shiftgate resume`.
    Resume,
    /// `shiftgate promote`.
    Promote,
    /// `shiftgate promote --full`.
    PromoteFull,
    /// `shiftgate approve`.
    Approve,
    /// `shiftgate reject`.
    Reject,
}

/// The body of `POST /_control`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlRequest {
    /// The deployment the command is for (the command line's argument).
    pub deployment_id: String,
    /// What to do.
    pub action: ControlAction,
    /// Who asks: `local:<user>@<host>` ([`local_actor`]).
    pub actor: String,
    /// `--reason` of abort, `--comment` of approve/reject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The answer of `POST /_control`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlReply {
    /// Whether the command was carried out (or had nothing left to do).
    pub ok: bool,
    /// One line for the operator: what happened, or why not.
    pub message: String,
}

/// Where a running local run can be reached: `runs/<execution name>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunFile {
    /// The process id of the run.
    pub pid: u32,
    /// The control URL (`http://127.0.0.1:<port>/_control`).
    pub url: String,
    /// 64 random hex digits; a control request must carry them.
    pub secret: String,
}

/// `<state dir>/runs/<execution name>.json`.
pub fn run_file_path(state_dir: &Path, execution_name: &str) -> PathBuf {
    state_dir
        .join("runs")
        .join(format!("{execution_name}.json"))
}

/// The run file of a running local run; removed when dropped (the run ended).
#[derive(Debug)]
pub struct RunFileGuard(PathBuf);

impl Drop for RunFileGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Write the run file, readable by this user only (it holds the secret).
pub fn publish_run(
    state_dir: &Path,
    execution_name: &str,
    run: &RunFile,
) -> std::io::Result<RunFileGuard> {
    let path = run_file_path(state_dir, execution_name);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    std::io::Write::write_all(&mut file, &serde_json::to_vec(run).unwrap_or_default())?;
    Ok(RunFileGuard(path))
}

/// A fresh control secret: 256 random bits as hex.
pub fn new_secret() -> String {
    (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// Who runs this command, as the record keeps it: `local:<user>@<host>`.
pub fn local_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    format!("local:{user}@{host}")
}

/// Carry out a control request with the run's services: one line saying what
/// happened, or why not.
pub async fn carry_out(services: &Services, request: ControlRequest) -> Result<String, String> {
    let id = request.deployment_id.as_str();
    let command = match request.action {
        ControlAction::Approve | ControlAction::Reject => {
            let approve = request.action == ControlAction::Approve;
            let decided = approval::decide_as_operator(
                services,
                id,
                &request.actor,
                approve,
                request.reason.clone(),
            )
            .await
            .map_err(|e| e.to_string())?;
            return Ok(format!(
                "{} {} approval {} of {id}: now {:?}",
                request.actor,
                if approve { "approved" } else { "rejected" },
                decided.approval_id,
                decided.status
            ));
        }
        ControlAction::Abort => Command::Abort {
            reason: request.reason.clone(),
        },
        ControlAction::Hold => Command::Hold,
        ControlAction::Resume => Command::Resume,
        ControlAction::Promote => Command::Promote { full: false },
        ControlAction::PromoteFull => Command::Promote { full: true },
    };
    let acted = operator::act(services, id, command, &request.actor)
        .await
        .map_err(|e| e.to_string())?;
    Ok(describe(id, &acted))
}

/// The operator's line for what a command did.
pub fn describe(deployment_id: &str, acted: &operator::Acted) -> String {
    let when = if !acted.recorded {
        ""
    } else if acted.woke_workflow {
        " (the workflow acted on it at once)"
    } else {
        " (recorded; the workflow acts on it at its next step)"
    };
    format!("{deployment_id}: {}{when}", acted.message)
}

/// Answer `POST /_control`: (HTTP status, JSON body).
pub async fn serve(
    services: &Services,
    secret: Option<&str>,
    presented: Option<&str>,
    body: &[u8],
) -> (u16, String) {
    let reply = |status: u16, ok: bool, message: String| {
        let body = serde_json::to_string(&ControlReply { ok, message }).unwrap_or_default();
        (status, body)
    };
    let authorised = matches!((secret, presented), (Some(s), Some(p)) if same_secret(s, p));
    if !authorised {
        return reply(403, false, "not authorised".into());
    }
    let request: ControlRequest = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(error) => return reply(400, false, format!("not a control request: {error}")),
    };
    match carry_out(services, request).await {
        Ok(message) => reply(200, true, message),
        Err(message) => reply(409, false, message),
    }
}

/// Compare secrets in time independent of where they differ.
fn same_secret(expected: &str, presented: &str) -> bool {
    expected.len() == presented.len()
        && expected
            .bytes()
            .zip(presented.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Send `request` to the local run that drives its deployment, found through
/// the deployment record in `state_dir`; returns the run's answer.
pub async fn send(state_dir: &Path, request: &ControlRequest) -> anyhow::Result<String> {
    let root = state_dir.join("bucket");
    if !root.exists() {
        bail!(
            "no local state in {} (run `shiftgate local run` first, or pass --bucket)",
            state_dir.display()
        );
    }
    let store =
        FsObjectStore::new(root).with_context(|| format!("opening {}", state_dir.display()))?;
    let id = &request.deployment_id;
    let (record, _) = store::load_record(&store, id)
        .await
        .with_context(|| format!("reading deployment {id} in {}", state_dir.display()))?;
    if record.status.is_terminal() {
        bail!(
            "deployment {id} has already ended ({:?}); there is nothing to do",
            record.status
        );
    }
    let execution = record
        .execution_id
        .as_deref()
        .and_then(|arn| arn.rsplit(':').next())
        .with_context(|| format!("deployment {id} names no local run"))?;
    let path = run_file_path(state_dir, execution);
    let run: RunFile = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a run file", path.display()))?,
        Err(_) => bail!(
            "no local run is driving deployment {id} (its process ended without finishing it); `shiftgate unlock {} {} --state-dir {}` finishes it",
            record.function_name(),
            record.alias(),
            state_dir.display()
        ),
    };
    let body = serde_json::to_string(request)?;
    let reply = http::post(
        &run.url,
        "application/json",
        &[(SECRET_HEADER, &run.secret)],
        &body,
    )
    .await
    .map_err(|e| {
        anyhow::anyhow!(
            "the local run driving {id} (process {}) does not answer: {e}",
            run.pid
        )
    })?;
    let answer: ControlReply = serde_json::from_str(&reply.body).with_context(|| {
        format!(
            "the local run answered HTTP {}: {}",
            reply.status, reply.body
        )
    })?;
    if answer.ok {
        Ok(answer.message)
    } else {
        bail!("{}", answer.message)
    }
}
