//! Operator controls: abort, hold, resume and promote a deployment in flight.
//!
//! A command must act within seconds, not at the next health check, and must
//! never be lost or delivered twice. It works in two halves:
//!
//! 1. **Durable intent.** The command is written into the deployment record
//!    ([`OperatorState`]) under If-Match, with who asked and when, and logged in
//!    the timeline. Tasks of the forward path read it: an abort fails the next
//!    one with `DeploymentAborted` (the state machine's Catch rolls back); a hold
//!    makes `shift-traffic` refuse to move (`DeploymentHeld`, caught into a held
//!    loop that keeps checking health) and `check-health` stop the step's clock.
//! 2. **Wake-up.** Every wait of the workflow (the pause between health checks,
//!    the bake, the held loop) is an `operator-wait` task that waits for a task
//!    token and times out after the wait's seconds, so when nobody acts it is a
//!    Wait state. `operator-wait` writes its token into the record; a command
//!    ends that wait at once with `SendTaskFailure` (abort) or `SendTaskSuccess`
//!    (`{"action":"promote"|"promoteFull"|"resume"}`).
//!
//! Both the command and `operator-wait` write the record with If-Match, so
//! whichever writes second sees the other: either the command finds the open
//! wait's token, or `operator-wait` finds the command and ends its own wait. A
//! promotion is marked with the token it is delivered to before it is sent, so
//! exactly one wait ever acts on it; a delivery to a wait that has meanwhile
//! timed out is handed to the next wait (see [`redeliver`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::approval;
use crate::error::HandlerError;
use crate::notify::{self, NotificationKind};
use crate::ports::Services;
use crate::record::{keys, DeploymentRecord, EventKind};
use crate::store::{self, ConflictRetries};

/// The error a task fails with once an operator has aborted the deployment.
pub const ABORTED_ERROR: &str = "DeploymentAborted";

/// What an operator asks of a deployment in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Roll back now.
    Abort {
        /// Why, for the record and the notification.
        reason: Option<String>,
    },
    /// Stay at the current weight, still watching health, until resumed.
    Hold,
    /// Undo a hold: the step's clock runs again.
    Resume,
    /// End the current step's wait now; with `full`, go to 100 % now (the
    /// afterAllowTraffic hooks and the bake still run).
    Promote {
        /// Skip every remaining step.
        full: bool,
    },
}

impl Command {
    /// The command's name, as on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Abort { .. } => "abort",
            Command::Hold => "hold",
            Command::Resume => "resume",
            Command::Promote { full: false } => "promote",
            Command::Promote { full: true } => "promote --full",
        }
    }
}

/// Who asked and when, as the record keeps an operator's request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Requested {
    /// The caller: an IAM ARN (from `sts:GetCallerIdentity`) on AWS, or
    /// `local:<user>@<host>` for a local state directory.
    pub by: String,
    /// When the command was recorded (the deployment's clock, UTC).
    pub at: DateTime<Utc>,
    /// The operator's reason, if given (`--reason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A promotion asked for, until a wait of the workflow acts on it.
///
/// `Debug` is written by hand so a task token never reaches a log line.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Promotion {
    /// Who asked and when.
    pub requested: Requested,
    /// `true` for `promote --full`: all traffic now, remaining steps skipped.
    pub full: bool,
    /// The task token of the wait this promotion was handed to; `None` while
    /// no wait has it yet. Only that wait may act on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_to: Option<String>,
}

/// The wait the workflow entered last (an `operator-wait` task).
///
/// `Debug` is written by hand so its task token never reaches a log line.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Waiting {
    /// The Step Functions task token that ends this wait (`$$.Task.Token`).
    /// Never shown by `status`, never logged.
    pub task_token: String,
    /// The step whose wait it is; `None` while baking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_index: Option<usize>,
    /// When the wait began.
    pub since: DateTime<Utc>,
}

impl std::fmt::Debug for Promotion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Promotion")
            .field("requested", &self.requested)
            .field("full", &self.full)
            .field("delivered", &self.delivered_to.is_some())
            .finish()
    }
}

impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting")
            .field("task_token", &"<redacted>")
            .field("step_index", &self.step_index)
            .field("since", &self.since)
            .finish()
    }
}

/// The operator's part of a deployment record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperatorState {
    /// An abort asked for: every later task of the forward path fails with
    /// `DeploymentAborted`, and the workflow rolls back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort: Option<Requested>,
    /// A hold in force: traffic stays at its weight until resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Requested>,
    /// A promotion not yet acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promote: Option<Promotion>,
    /// The wait the workflow entered last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<Waiting>,
}

impl OperatorState {
    /// Whether nothing was ever asked or waited for (it is then not written).
    pub fn is_empty(&self) -> bool {
        self == &OperatorState::default()
    }

    /// The same state without task tokens, for what operators print and paste
    /// (`status --json`): a token could end a wait of the workflow.
    pub fn without_tokens(&self) -> OperatorState {
        let mut state = self.clone();
        if let Some(waiting) = state.waiting.as_mut() {
            waiting.task_token = "<redacted>".into();
        }
        if let Some(promotion) = state.promote.as_mut() {
            if promotion.delivered_to.is_some() {
                promotion.delivered_to = Some("<redacted>".into());
            }
        }
        state
    }

    /// One line on what operators asked that is still in force, if anything.
    pub fn summary(&self) -> Option<String> {
        if let Some(abort) = &self.abort {
            return Some(format!("rolling back: {}", abort_cause(abort)));
        }
        if let Some(hold) = &self.hold {
            return Some(format!(
                "held by {} since {} (shiftgate resume to go on)",
                hold.by,
                hold.at.to_rfc3339()
            ));
        }
        None
    }
}

/// Fail a task of the forward path when an operator has aborted the deployment.
pub fn refuse_if_aborted(record: &DeploymentRecord) -> Result<(), HandlerError> {
    match &record.operator.abort {
        Some(abort) => Err(HandlerError::DeploymentAborted(abort_cause(abort))),
        None => Ok(()),
    }
}

fn abort_cause(abort: &Requested) -> String {
    match &abort.reason {
        Some(reason) => format!("aborted by {}: {reason}", abort.by),
        None => format!("aborted by {}", abort.by),
    }
}

/// What an operator command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acted {
    /// The line the timeline got, or why nothing needed doing.
    pub message: String,
    /// Whether the record changed (a repeated hold or abort changes nothing).
    pub recorded: bool,
    /// Whether a waiting workflow task was ended at once; otherwise the
    /// workflow acts at its next task or wait.
    pub woke_workflow: bool,
}

/// Carry out `command` on deployment `deployment_id` as `actor`.
///
/// Refused (nothing changes) with `InvalidRequest` when the deployment has
/// ended, when resuming what is not held, or when promoting a deployment that
/// is aborting or waits for an approval (approve it instead).
pub async fn act(
    services: &Services,
    deployment_id: &str,
    command: Command,
    actor: &str,
) -> Result<Acted, HandlerError> {
    let store = services.store.as_ref();
    if matches!(command, Command::Promote { .. }) {
        let open = approval::pending(store, deployment_id).await?;
        if let Some(open) = open.filter(|a| a.expires_at > services.clock.now()) {
            return Err(HandlerError::InvalidRequest(format!(
                "deployment {deployment_id} waits for approval {} (step {}); approve it with `shiftgate approve {deployment_id}` instead of promoting",
                open.approval_id,
                open.step_index + 1
            )));
        }
    }
    let key = keys::record(deployment_id);
    let mut retries = ConflictRetries::new(&key);
    let (record, message) = loop {
        retries.next_attempt()?;
        let (mut record, etag) = store::load_record(store, deployment_id).await?;
        let now = services.clock.now();
        let message = match apply(&mut record, &command, actor, now)? {
            Applied::Changed(message) => message,
            Applied::AlreadySo(message) => {
                return Ok(Acted {
                    message,
                    recorded: false,
                    woke_workflow: false,
                })
            }
        };
        record.log(now, EventKind::OperatorAction, true, message.clone());
        if store::replace(store, &key, &record, etag).await?.is_some() {
            break (record, message);
        }
    };
    tracing::info!(
        deployment_id,
        command = command.name(),
        "operator command recorded"
    );
    notify::lifecycle(
        services,
        &record,
        NotificationKind::OperatorAction,
        &message,
        "",
    )
    .await;
    let woke_workflow = wake(services, &record, &command).await?;
    Ok(Acted {
        message,
        recorded: true,
        woke_workflow,
    })
}

/// The change a command makes to a record.
enum Applied {
    /// The record changed; the timeline line.
    Changed(String),
    /// Nothing to change; why.
    AlreadySo(String),
}

fn apply(
    record: &mut DeploymentRecord,
    command: &Command,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Applied, HandlerError> {
    let id = record.deployment_id.clone();
    if record.status.is_terminal() {
        return Err(HandlerError::InvalidRequest(format!(
            "deployment {id} has already ended ({:?}); there is nothing to {}",
            record.status,
            command.name()
        )));
    }
    let requested = |reason: Option<String>| Requested {
        by: actor.to_string(),
        at: now,
        reason,
    };
    let state = &mut record.operator;
    if let Some(abort) = &state.abort {
        return match command {
            Command::Abort { .. } => Ok(Applied::AlreadySo(format!(
                "deployment {id} is already rolling back ({})",
                abort_cause(abort)
            ))),
            _ => Err(HandlerError::InvalidRequest(format!(
                "deployment {id} is rolling back ({}); it cannot {}",
                abort_cause(abort),
                command.name()
            ))),
        };
    }
    let message = match command {
        Command::Abort { reason } => {
            let abort = requested(reason.clone());
            let message = format!("abort requested: {}", abort_cause(&abort));
            state.abort = Some(abort);
            state.hold = None;
            state.promote = None;
            message
        }
        Command::Hold => {
            if let Some(hold) = &state.hold {
                return Ok(Applied::AlreadySo(format!(
                    "deployment {id} is already held (by {} since {})",
                    hold.by,
                    hold.at.to_rfc3339()
                )));
            }
            state.hold = Some(requested(None));
            format!(
                "held by {actor} at {} % on version {}",
                record.current_weight_percent, record.request.target.target_version
            )
        }
        Command::Resume => {
            if state.hold.take().is_none() {
                return Err(HandlerError::InvalidRequest(format!(
                    "deployment {id} is not held; there is nothing to resume"
                )));
            }
            format!("resumed by {actor}")
        }
        Command::Promote { full } => {
            state.hold = None;
            state.promote = Some(Promotion {
                requested: requested(None),
                full: *full,
                delivered_to: None,
            });
            if *full {
                format!("promote --full requested by {actor}: all traffic to the new version now")
            } else {
                format!("promote requested by {actor}: the current wait ends now")
            }
        }
    };
    Ok(Applied::Changed(message))
}

/// End the wait the workflow is in, if any, so the command acts now. Returns
/// whether a waiting task was ended. A token whose task has already ended is
/// not an error: the intent is in the record, and the next task acts on it.
async fn wake(
    services: &Services,
    record: &DeploymentRecord,
    command: &Command,
) -> Result<bool, HandlerError> {
    let id = &record.deployment_id;
    let waiting = record.operator.waiting.as_ref();
    match command {
        Command::Hold => Ok(false),
        Command::Resume => match waiting {
            Some(wait) => Ok(send_action(services, id, &wait.task_token, "resume").await),
            None => Ok(false),
        },
        Command::Abort { .. } => {
            let cause = record
                .operator
                .abort
                .as_ref()
                .map(abort_cause)
                .unwrap_or_default();
            let mut woke = false;
            if let Some(wait) = waiting {
                woke |= send_failure(services, id, &wait.task_token, &cause).await;
            }
            // An approval gate waits on its own token.
            if let Some(open) = approval::pending(services.store.as_ref(), id).await? {
                woke |= send_failure(services, id, &open.task_token, &cause).await;
            }
            Ok(woke)
        }
        Command::Promote { .. } => redeliver(services, id, None).await,
    }
}

/// Hand a pending promotion to the wait the record names, and send it. When the
/// send fails because that wait has ended meanwhile, the promotion is handed to
/// whatever wait the record names now, or left for the next `operator-wait`.
/// `failed_token` is the token of a delivery that just failed.
async fn redeliver(
    services: &Services,
    deployment_id: &str,
    mut failed_token: Option<String>,
) -> Result<bool, HandlerError> {
    let store = services.store.as_ref();
    let key = keys::record(deployment_id);
    let mut retries = ConflictRetries::new(&key);
    loop {
        retries.next_attempt()?;
        let (mut record, etag) = store::load_record(store, deployment_id).await?;
        let state = &mut record.operator;
        let Some(promotion) = state.promote.as_mut() else {
            return Ok(false); // a wait took it
        };
        let delivered = promotion.delivered_to.clone();
        if delivered.is_some() && delivered != failed_token {
            return Ok(false); // another delivery owns it
        }
        let next = state
            .waiting
            .as_ref()
            .map(|w| w.task_token.clone())
            .filter(|token| Some(token) != failed_token.as_ref());
        promotion.delivered_to = next.clone();
        let action = if promotion.full {
            "promoteFull"
        } else {
            "promote"
        };
        if store::replace(store, &key, &record, etag).await?.is_none() {
            continue;
        }
        let Some(token) = next else {
            return Ok(false); // the next operator-wait takes it
        };
        if send_action(services, deployment_id, &token, action).await {
            return Ok(true);
        }
        failed_token = Some(token);
    }
}

async fn send_action(services: &Services, id: &str, token: &str, action: &str) -> bool {
    let output = serde_json::json!({ "action": action });
    match services.workflow.send_task_success(token, &output).await {
        Ok(()) => true,
        Err(error) => {
            tracing::info!(deployment_id = %id, %error, "the wait had already ended");
            false
        }
    }
}

async fn send_failure(services: &Services, id: &str, token: &str, cause: &str) -> bool {
    match services
        .workflow
        .send_task_failure(token, ABORTED_ERROR, cause)
        .await
    {
        Ok(()) => true,
        Err(error) => {
            tracing::info!(deployment_id = %id, %error, "the wait had already ended");
            false
        }
    }
}

/// What a wait of the workflow is (the `operator-wait` task's input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitEntry {
    /// The deployment.
    pub deployment_id: String,
    /// The step; `None` while baking.
    pub step_index: Option<usize>,
    /// The token that ends this wait.
    pub task_token: String,
}

/// Register a wait of the workflow so operators can end it, and act at once on
/// an abort or a promotion recorded before it began (by ending the wait with
/// the same callback an operator would send). Safe to repeat.
pub async fn enter_wait(services: &Services, entry: WaitEntry) -> Result<(), HandlerError> {
    let store = services.store.as_ref();
    let key = keys::record(&entry.deployment_id);
    let mut retries = ConflictRetries::new(&key);
    let (record, claimed) = loop {
        retries.next_attempt()?;
        let (mut record, etag) = store::load_record(store, &entry.deployment_id).await?;
        let now = services.clock.now();
        let state = &mut record.operator;
        state.waiting = Some(Waiting {
            task_token: entry.task_token.clone(),
            step_index: entry.step_index,
            since: now,
        });
        let mut claimed = None;
        if let Some(promotion) = state.promote.as_mut() {
            if promotion.delivered_to.is_none() {
                // Promoting a bake ends the bake; `--full` during the bake has
                // nothing left to skip, so it ends the bake too.
                claimed = Some(if promotion.full && entry.step_index.is_some() {
                    "promoteFull"
                } else {
                    "promote"
                });
                promotion.delivered_to = Some(entry.task_token.clone());
            }
        }
        if store::replace(store, &key, &record, etag).await?.is_some() {
            break (record, claimed);
        }
    };
    if let Some(abort) = &record.operator.abort {
        send_failure(
            services,
            &entry.deployment_id,
            &entry.task_token,
            &abort_cause(abort),
        )
        .await;
    } else if let Some(action) = claimed {
        if !send_action(services, &entry.deployment_id, &entry.task_token, action).await {
            redeliver(
                services,
                &entry.deployment_id,
                Some(entry.task_token.clone()),
            )
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::adapters::memory::Callback;
    use crate::contracts::{CheckHealthInput, ShiftTrafficInput};
    use crate::handlers::{check_health, shift_traffic};
    use crate::testing::{request_json, Harness, InterleavingStore, TASK_TOKEN};

    const ANA: &str = "arn:aws:sts::123456789012:assumed-role/release/ana";

    async fn canary(h: &Harness) -> String {
        let id = h
            .prepare(request_json("Canary10Percent30Minutes"))
            .await
            .unwrap()
            .deployment_id;
        shift(h, &id, 0, 10.0).await.unwrap();
        id
    }

    async fn shift(
        h: &Harness,
        id: &str,
        step_index: usize,
        weight_percent: f64,
    ) -> Result<(), HandlerError> {
        shift_traffic(
            &h.services,
            ShiftTrafficInput {
                deployment_id: id.into(),
                step_index,
                weight_percent,
                operator_promotion: false,
            },
        )
        .await
        .map(|_| ())
    }

    async fn wait(h: &Harness, id: &str, step_index: Option<usize>, token: &str) {
        enter_wait(
            &h.services,
            WaitEntry {
                deployment_id: id.into(),
                step_index,
                task_token: token.into(),
            },
        )
        .await
        .unwrap();
    }

    async fn record(h: &Harness, id: &str) -> DeploymentRecord {
        store::load_record(h.services.store.as_ref(), id)
            .await
            .unwrap()
            .0
    }

    fn successes(h: &Harness) -> Vec<(String, String)> {
        h.callback
            .calls()
            .into_iter()
            .filter_map(|c| match c {
                Callback::Success(token, output) => {
                    Some((token, output["action"].as_str().unwrap_or("").to_string()))
                }
                Callback::Failure(..) => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn an_abort_ends_the_open_wait_at_once_and_every_later_task_refuses() {
        // GIVEN a canary at 10 % waiting before its next health check
        let h = Harness::new();
        let id = canary(&h).await;
        wait(&h, &id, Some(0), "wait-1").await;
        // WHEN an operator aborts it
        let acted = act(
            &h.services,
            &id,
            Command::Abort {
                reason: Some("bad data in orders".into()),
            },
            ANA,
        )
        .await
        .unwrap();
        // THEN the wait fails with DeploymentAborted right away (the workflow's
        // Catch rolls back), naming who and why
        assert!(acted.recorded && acted.woke_workflow, "{acted:?}");
        assert_eq!(
            h.callback.calls(),
            vec![Callback::Failure(
                "wait-1".into(),
                ABORTED_ERROR.into(),
                format!("aborted by {ANA}: bad data in orders")
            )]
        );
        // AND the timeline and a notification say who did it
        let r = record(&h, &id).await;
        let last = r.timeline.last().unwrap();
        assert_eq!(last.kind, EventKind::OperatorAction);
        assert!(last.message.contains(ANA), "{}", last.message);
        assert!(h
            .notifier
            .published()
            .iter()
            .any(|n| n.attributes["kind"] == "operator-action" && n.subject.contains("abort")));
        // AND any task of the forward path that still runs refuses to go on
        let err = shift(&h, &id, 1, 100.0).await.unwrap_err();
        assert_eq!(err.error_type(), "DeploymentAborted");
        let err = check_health(
            &h.services,
            CheckHealthInput {
                deployment_id: id.clone(),
                step_index: Some(0),
                watch: r.plan.steps[0].watch,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.error_type(), "DeploymentAborted");
        assert_eq!(
            h.fleet
                .alias("checkout", "live")
                .unwrap()
                .additional_version_weights["8"],
            0.1
        );
        // AND a wait entered later fails at once too; a second abort changes nothing
        wait(&h, &id, Some(0), "wait-2").await;
        assert!(
            matches!(&h.callback.calls()[1], Callback::Failure(t, e, _) if t == "wait-2" && e == ABORTED_ERROR)
        );
        let again = act(&h.services, &id, Command::Abort { reason: None }, ANA)
            .await
            .unwrap();
        assert!(!again.recorded, "{again:?}");
        assert_eq!(record(&h, &id).await.timeline.len(), r.timeline.len());
    }

    #[tokio::test]
    async fn an_abort_also_ends_an_approval_gate_that_waits() {
        let h = Harness::new();
        let id = h.gate_for(&["alice@example.com"]).await;
        let acted = act(&h.services, &id, Command::Abort { reason: None }, ANA)
            .await
            .unwrap();
        assert!(acted.woke_workflow);
        assert!(h.callback.calls().iter().any(
            |c| matches!(c, Callback::Failure(t, e, _) if t == TASK_TOKEN && e == ABORTED_ERROR)
        ));
    }

    #[tokio::test]
    async fn a_promotion_recorded_before_a_wait_is_acted_on_by_that_wait_only() {
        // GIVEN a canary between tasks (no wait registered yet)
        let h = Harness::new();
        let id = h
            .prepare(request_json("Canary10Percent30Minutes"))
            .await
            .unwrap()
            .deployment_id;
        // WHEN an operator promotes, then the workflow reaches its wait, and another
        let acted = act(&h.services, &id, Command::Promote { full: false }, ANA)
            .await
            .unwrap();
        assert!(acted.recorded && !acted.woke_workflow);
        wait(&h, &id, Some(0), "wait-1").await;
        wait(&h, &id, Some(1), "wait-2").await;
        // THEN exactly the first wait ended, with "promote"
        assert_eq!(successes(&h), vec![("wait-1".into(), "promote".into())]);
    }

    #[tokio::test]
    async fn a_promotion_sent_to_a_wait_that_just_timed_out_goes_to_the_next_wait() {
        // GIVEN a wait that times out just as the operator promotes
        let h = Harness::new();
        let id = canary(&h).await;
        wait(&h, &id, Some(0), "wait-1").await;
        h.callback.close("wait-1");
        let acted = act(&h.services, &id, Command::Promote { full: true }, ANA)
            .await
            .unwrap();
        // THEN nothing acted yet, and the next wait ends at once with promoteFull
        assert!(!acted.woke_workflow);
        assert!(successes(&h).is_empty());
        wait(&h, &id, Some(0), "wait-2").await;
        wait(&h, &id, Some(0), "wait-3").await;
        assert_eq!(successes(&h), vec![("wait-2".into(), "promoteFull".into())]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_promotions_and_waits_end_exactly_one_wait() {
        // Promote and a new wait race on a multi-threaded runtime through a
        // store that interleaves every call: whoever writes second delivers,
        // never both, and the promotion is never lost.
        for round in 0..200 {
            let h = Harness::new();
            let id = canary(&h).await;
            wait(&h, &id, Some(0), "wait-1").await;
            // wait-1 times out in some rounds, so deliveries must move on.
            if round % 2 == 0 {
                h.callback.close("wait-1");
            }
            let (services, _) = InterleavingStore::around(&h.services, h.store.clone());
            let promote = {
                let services = services.clone();
                let id = id.clone();
                tokio::spawn(async move {
                    act(&services, &id, Command::Promote { full: false }, ANA).await
                })
            };
            let next = {
                let services = services.clone();
                let id = id.clone();
                tokio::spawn(async move {
                    enter_wait(
                        &services,
                        WaitEntry {
                            deployment_id: id,
                            step_index: Some(0),
                            task_token: "wait-2".into(),
                        },
                    )
                    .await
                })
            };
            promote.await.unwrap().unwrap();
            next.await.unwrap().unwrap();
            let delivered = successes(&h);
            assert_eq!(delivered.len(), 1, "round {round}: {delivered:?}");
        }
    }

    #[tokio::test]
    async fn a_hold_stops_shifts_and_the_step_clock_until_resumed() {
        let h = Harness::new();
        let id = canary(&h).await;
        let watch = record(&h, &id).await.plan.steps[0].watch;
        act(&h.services, &id, Command::Hold, ANA).await.unwrap();
        let again = act(&h.services, &id, Command::Hold, ANA).await.unwrap();
        assert!(!again.recorded);
        // The next shift is refused while held; traffic stays at 10 %.
        let err = shift(&h, &id, 1, 100.0).await.unwrap_err();
        assert_eq!(err.error_type(), "DeploymentHeld");
        assert!(err.to_string().contains("shiftgate resume"), "{err}");
        assert_eq!(
            h.fleet.alias("checkout", "live").unwrap().function_version,
            "7"
        );
        // Health is still checked, but the step's clock stands still.
        h.clock.advance(Duration::seconds(60));
        let input = CheckHealthInput {
            deployment_id: id.clone(),
            step_index: Some(0),
            watch,
        };
        assert_eq!(
            check_health(&h.services, input.clone()).await.unwrap(),
            watch
        );
        // Resumed: the clock runs and the shift goes through.
        act(&h.services, &id, Command::Resume, ANA).await.unwrap();
        assert_eq!(
            check_health(&h.services, input).await.unwrap(),
            watch.advance()
        );
        shift(&h, &id, 1, 100.0).await.unwrap();
        let err = act(&h.services, &id, Command::Resume, ANA)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not held"), "{err}");
    }

    #[tokio::test]
    async fn promote_full_ignores_a_hold_on_its_own_shift() {
        let h = Harness::new();
        let id = canary(&h).await;
        act(&h.services, &id, Command::Hold, ANA).await.unwrap();
        shift_traffic(
            &h.services,
            ShiftTrafficInput {
                deployment_id: id.clone(),
                step_index: 1,
                weight_percent: 100.0,
                operator_promotion: true,
            },
        )
        .await
        .unwrap();
        assert_eq!(
            h.fleet.alias("checkout", "live").unwrap().function_version,
            "8"
        );
    }

    #[tokio::test]
    async fn commands_that_cannot_apply_are_refused_and_change_nothing() {
        let h = Harness::new();
        // Promote while an approval waits: approve it instead.
        let gated = h.gate_for(&["alice@example.com"]).await;
        let err = act(&h.services, &gated, Command::Promote { full: false }, ANA)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("shiftgate approve"), "{err}");
        // Anything on an ended deployment.
        let h = Harness::new();
        let id = canary(&h).await;
        crate::handlers::finalize(
            &h.services,
            crate::contracts::FinalizeInput {
                deployment_id: id.clone(),
                outcome: crate::contracts::Outcome::Succeeded,
                failure: None,
            },
        )
        .await
        .unwrap();
        let before = record(&h, &id).await;
        for command in [
            Command::Abort { reason: None },
            Command::Hold,
            Command::Promote { full: true },
        ] {
            let err = act(&h.services, &id, command, ANA).await.unwrap_err();
            assert_eq!(err.error_type(), "InvalidRequest");
            assert!(err.to_string().contains("already ended"), "{err}");
        }
        // Unknown deployments are named.
        let err = act(&h.services, "nope", Command::Hold, ANA)
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "DeploymentNotFound");
        assert_eq!(record(&h, &id).await, before);
    }

    #[test]
    fn task_tokens_stay_out_of_debug_output_and_printed_state() {
        let state = OperatorState {
            waiting: Some(Waiting {
                task_token: "secret-token".into(),
                step_index: Some(0),
                since: chrono::Utc::now(),
            }),
            promote: Some(Promotion {
                requested: Requested {
                    by: ANA.into(),
                    at: chrono::Utc::now(),
                    reason: None,
                },
                full: false,
                delivered_to: Some("secret-token".into()),
            }),
            ..OperatorState::default()
        };
        assert!(!format!("{state:?}").contains("secret-token"));
        let printed = serde_json::to_string(&state.without_tokens()).unwrap();
        assert!(!printed.contains("secret-token"), "{printed}");
    }
}
