//! What a person sees during `shiftgate local run`: the timeline as it happens,
//! requests and errors per version, a live status line on a terminal, or one
//! JSON object per event with `--json`. It also acts on approval links.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use shiftgate_asl::{Clock as AslClock, EventKind as AslEvent, ExecutionEvent};
use shiftgate_core::adapters::memory::SimulatedFleet;
use shiftgate_core::notify::NotificationKind;
use shiftgate_core::ports::{Notification, ObjectStore};
use shiftgate_core::record::DeploymentRecord;
use shiftgate_core::store;
use tokio::sync::mpsc::UnboundedReceiver;

use super::approver::{self, ApproveMode};

/// Something the view shows.
#[derive(Debug, Clone)]
pub enum LocalEvent {
    /// An interpreter event.
    Execution(ExecutionEvent),
    /// A notification was published.
    Notification(Notification),
    /// The execution ended; everything before this was shown.
    Finished,
}

/// How the view shows things.
pub struct ViewOptions {
    /// One JSON object per line.
    pub json: bool,
    /// What to do with approval links.
    pub approve: ApproveMode,
    /// The function whose traffic is counted.
    pub function: String,
}

/// Shared things the view reads.
pub struct ViewContext {
    /// The records.
    pub store: Arc<dyn ObjectStore>,
    /// Traffic counts and the alias.
    pub fleet: SimulatedFleet,
    /// Virtual time.
    pub clock: Arc<dyn AslClock>,
}

/// Requests and errors per version, e.g. `v7 1203 req/0 err · v8 134 req/67 err`.
pub fn traffic_summary(fleet: &SimulatedFleet, function: &str) -> String {
    fleet
        .served_by_version(function)
        .iter()
        .map(|(version, (requests, errors))| format!("v{version} {requests} req/{errors} err"))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Traffic per version as JSON.
pub fn traffic_json(fleet: &SimulatedFleet, function: &str) -> serde_json::Value {
    let counts: BTreeMap<String, serde_json::Value> = fleet
        .served_by_version(function)
        .into_iter()
        .map(|(version, (requests, errors))| {
            (version, json!({"requests": requests, "errors": errors}))
        })
        .collect();
    json!(counts)
}

struct View {
    options: ViewOptions,
    context: ViewContext,
    deployment_id: Option<String>,
    printed: usize,
    status_shown: bool,
    terminal: bool,
    start: chrono::DateTime<chrono::Utc>,
    record: Option<DeploymentRecord>,
}

impl View {
    fn elapsed(&self) -> String {
        let seconds = (self.context.clock.now() - self.start).num_seconds().max(0) as u64;
        format!("{:>2}:{:02}", seconds / 60, seconds % 60)
    }

    fn line(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        if self.status_shown {
            let _ = write!(out, "\r\x1b[2K");
            self.status_shown = false;
        }
        let _ = writeln!(out, "{text}");
    }

    fn json_line(&mut self, value: serde_json::Value) {
        println!("{value}");
    }

    async fn refresh_timeline(&mut self) {
        let Some(id) = self.deployment_id.clone() else {
            return;
        };
        let Ok((record, _)) = store::load_record(self.context.store.as_ref(), &id).await else {
            return;
        };
        let new: Vec<_> = record.timeline.iter().skip(self.printed).cloned().collect();
        self.printed = record.timeline.len();
        for event in new {
            if self.options.json {
                self.json_line(json!({"event": "timeline", "at": event.at, "kind": event.kind, "ok": event.ok, "message": event.message}));
            } else {
                let mark = if event.ok { " " } else { "✗" };
                let mut text = format!("{} {mark} {}", self.elapsed(), event.message);
                if matches!(event.kind, shiftgate_core::record::EventKind::HealthChecked) {
                    text.push_str(&format!(
                        "  [{}]",
                        traffic_summary(&self.context.fleet, &self.options.function)
                    ));
                }
                self.line(&text);
            }
        }
        self.record = Some(record);
    }

    fn status_line(&mut self) {
        if self.options.json || !self.terminal {
            return;
        }
        let Some(record) = &self.record else { return };
        let step = record.current_step.map_or(0, |s| s + 1);
        let text = format!(
            "{} step {step}/{} · {} % on v{} · {}",
            self.elapsed(),
            record.plan.steps.len(),
            record.current_weight_percent,
            record.target_version(),
            traffic_summary(&self.context.fleet, &self.options.function)
        );
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "\r\x1b[2K\x1b[2m{text}\x1b[0m");
        let _ = out.flush();
        self.status_shown = true;
    }

    async fn on_notification(&mut self, notification: Notification) {
        let kind = notification
            .attributes
            .get("kind")
            .cloned()
            .unwrap_or_default();
        if self.options.json {
            self.json_line(json!({"event": "notification", "kind": kind, "subject": notification.subject, "attributes": notification.attributes}));
        }
        if kind != NotificationKind::Approval.as_str() {
            return;
        }
        let Some(link) = approver::link_in(&notification.body) else {
            return;
        };
        let reviewer = notification.attributes.get("reviewer").cloned();
        match self.options.approve {
            ApproveMode::Manual => {
                let who = reviewer
                    .as_ref()
                    .map(|r| format!(" for {r}"))
                    .unwrap_or_default();
                if self.options.json {
                    println!(
                        "{}",
                        json!({"event": "approval-link", "url": link, "reviewer": reviewer})
                    );
                } else {
                    self.line(&format!("{}   approval link{who}: {link}", self.elapsed()));
                    self.line("        open it in a browser to approve or reject");
                }
            }
            mode => {
                let approve = mode == ApproveMode::Auto;
                let name = reviewer.unwrap_or_else(|| "local-reviewer".to_string());
                let comment = format!("--approve {}", if approve { "auto" } else { "reject" });
                // Decide off the view's task: the POST waits on the server, which waits on nothing of ours.
                let json = self.options.json;
                tokio::spawn(async move {
                    match approver::submit(&link, approve, &name, &comment).await {
                        Ok(reply) if json => println!(
                            "{}",
                            json!({"event": "approval-post", "status": reply.status})
                        ),
                        Ok(_) => {}
                        Err(error) => eprintln!("approval POST failed: {error}"),
                    }
                });
            }
        }
    }

    async fn on_execution(&mut self, event: ExecutionEvent) {
        if self.options.json {
            let summary = match &event.kind {
                AslEvent::StateEntered { state, .. } => {
                    Some(json!({"event": "state", "state": state, "type": "entered"}))
                }
                AslEvent::TaskFailed { state, error, .. } => Some(
                    json!({"event": "state", "state": state, "type": "failed", "error": error}),
                ),
                AslEvent::RetryScheduled {
                    state,
                    error,
                    attempt,
                    delay_seconds,
                } => Some(
                    json!({"event": "state", "state": state, "type": "retry", "error": error, "attempt": attempt, "delaySeconds": delay_seconds}),
                ),
                AslEvent::ErrorCaught { state, error, next } => Some(
                    json!({"event": "state", "state": state, "type": "caught", "error": error, "next": next}),
                ),
                _ => None,
            };
            if let Some(mut value) = summary {
                value["at"] = json!(event.at);
                self.json_line(value);
            }
        }
        match &event.kind {
            AslEvent::StateExited { state, output } if state == "Prepare" => {
                self.deployment_id = output
                    .get("deploymentId")
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
                self.refresh_timeline().await;
            }
            AslEvent::StateExited { .. }
            | AslEvent::TaskFailed { .. }
            | AslEvent::ExecutionSucceeded { .. }
            | AslEvent::ExecutionFailed { .. } => {
                self.refresh_timeline().await;
            }
            AslEvent::ErrorCaught { state, error, .. } if !self.options.json => {
                let text = format!("{}   {state} failed with {error}", self.elapsed());
                self.line(&text);
            }
            _ => {}
        }
    }
}

/// Show events until the execution finishes; returns the deployment id seen.
pub async fn run(
    options: ViewOptions,
    context: ViewContext,
    mut events: UnboundedReceiver<LocalEvent>,
) -> Option<String> {
    let start = context.clock.now();
    let terminal = std::io::stdout().is_terminal();
    let mut view = View {
        options,
        context,
        deployment_id: None,
        printed: 0,
        status_shown: false,
        terminal,
        start,
        record: None,
    };
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(LocalEvent::Execution(event)) => view.on_execution(event).await,
                Some(LocalEvent::Notification(n)) => view.on_notification(n).await,
                Some(LocalEvent::Finished) | None => break,
            },
            _ = ticker.tick() => {
                if view.terminal && !view.options.json {
                    view.refresh_timeline().await;
                    view.status_line();
                }
            }
        }
    }
    view.refresh_timeline().await;
    if view.status_shown {
        print!("\r\x1b[2K");
    }
    view.deployment_id
}
