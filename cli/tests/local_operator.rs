//! Operator commands against a running `shiftgate local run`, end to end: the
//! real binary runs a deployment, and the real binary's `abort`, `hold`,
//! `resume`, `promote [--full]`, `approve` and `reject` steer it through the
//! run's control endpoint, found through the state directory, as an operator
//! in a second terminal would.
//!
//! "Acts at once" is shown by the order of the timeline, never by timing:
//! health checks are due only every 300 virtual seconds, and the command's
//! effect comes before any of them.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A local run of `request` in its own state directory.
struct LocalRun {
    dir: tempfile::TempDir,
    child: Child,
}

impl LocalRun {
    fn start(request: &Value, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("request.json");
        std::fs::write(&path, request.to_string()).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_shiftgate"))
            .args(["local", "run", "--json", "--speed", "20", "--state-dir"])
            .arg(dir.path().join("state"))
            .args(extra)
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // A run the command failed to steer would go on for minutes: end it hard.
        let pid = child.id();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(120));
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        });
        Self { dir, child }
    }

    fn state_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("state")
    }

    /// The deployment record, once there is one.
    fn record(&self) -> Option<Value> {
        record(&self.state_dir())
    }

    /// Wait until the record satisfies `ready` (30 s at most).
    fn wait_for(&self, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(record) = self.record().filter(|r| ready(r)) {
                return record;
            }
            assert!(
                Instant::now() < deadline,
                "never {what}: {:?}",
                self.record()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Run `shiftgate <args> <deployment id> --state-dir <dir>`: (exit code, stdout + stderr).
    fn operate(&self, args: &[&str]) -> (i32, String) {
        let id = self.record().unwrap()["deploymentId"]
            .as_str()
            .unwrap()
            .to_string();
        let (command, rest) = args.split_first().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_shiftgate"))
            .arg(command)
            .arg(&id)
            .args(rest)
            .arg("--state-dir")
            .arg(self.state_dir())
            .env("USER", "ana")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    /// Wait for the run to end: (exit code, every stdout line, the record).
    fn finish(&mut self) -> (i32, Vec<String>, Value) {
        let lines: Vec<String> = BufReader::new(self.child.stdout.take().unwrap())
            .lines()
            .map_while(Result::ok)
            .collect();
        let status = self.child.wait().unwrap();
        let record = self.record().unwrap();
        (status.code().unwrap_or(-1), lines, record)
    }
}

fn record(state_dir: &Path) -> Option<Value> {
    let deployments = state_dir.join("bucket/deployments");
    let entry = std::fs::read_dir(deployments).ok()?.flatten().next()?;
    let text = std::fs::read_to_string(entry.path().join("record.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Steps of 10 %, 50 % and 100 %, 30 virtual minutes each before the last,
/// health checked every 300 s, a one-minute bake.
fn three_steps() -> Value {
    json!({
        "target": {"functionName": "checkout", "alias": "live", "targetVersion": "8"},
        "strategy": {"type": "steps", "steps": [
            {"weightPercent": 10, "pauseMinutes": 30},
            {"weightPercent": 50, "pauseMinutes": 30},
            {"weightPercent": 100}
        ]},
        "bakeMinutes": 1,
        "healthCheckIntervalSeconds": 300,
        "hooks": {"afterAllowTraffic": ["checkout-post-traffic"], "onRollback": ["checkout-page-oncall"]},
        "health": {"maxErrorRate": 0.05, "minInvocations": 1}
    })
}

/// The timeline as (kind, message) pairs.
fn timeline(record: &Value) -> Vec<(String, String)> {
    record["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn position(events: &[(String, String)], kind: &str, text: &str) -> usize {
    events
        .iter()
        .position(|(k, m)| k == kind && m.contains(text))
        .unwrap_or_else(|| panic!("no {kind} event with {text:?} in {events:#?}"))
}

fn waiting_at(weight: f64) -> impl Fn(&Value) -> bool {
    move |r: &Value| {
        r["currentWeightPercent"].as_f64() == Some(weight) && !r["operator"]["waiting"].is_null()
    }
}

#[test]
fn abort_rolls_back_at_once_before_any_health_check() {
    // GIVEN a deployment at 10 %, waiting for its first health check
    let mut run = LocalRun::start(&three_steps(), &[]);
    run.wait_for("at 10 % and waiting", waiting_at(10.0));
    // WHEN an operator aborts it from another terminal
    let (code, out) = run.operate(&["abort", "--reason", "orders look wrong"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("abort requested"), "{out}");
    assert!(out.contains("at once"), "{out}");
    // THEN the run rolls back, the alias exactly as it was
    let (code, lines, record) = run.finish();
    assert_eq!(code, 1, "{lines:?}");
    let summary: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(summary["status"], "RolledBack");
    assert_eq!(summary["finalAlias"]["functionVersion"], "7");
    assert_eq!(summary["finalAlias"]["additionalVersionWeights"], json!({}));
    assert!(
        summary["cause"]
            .as_str()
            .unwrap()
            .contains("orders look wrong"),
        "{summary}"
    );
    // AND the timeline says who aborted, then the rollback, and no health
    // check ran at all (the first was due 300 s in)
    let events = timeline(&record);
    let aborted = position(&events, "OperatorAction", "aborted by local:ana@");
    let rolled_back = position(&events, "RolledBack", "");
    assert!(aborted < rolled_back, "{events:#?}");
    assert!(
        !events.iter().any(|(k, _)| k == "HealthChecked"),
        "{events:#?}"
    );
    assert!(events
        .iter()
        .any(|(k, m)| k == "Hook" && m.contains("checkout-page-oncall")));
    assert_eq!(record["failure"]["Error"], "DeploymentAborted");
    // AND people were told who aborted
    let notifications = std::fs::read_to_string(run.state_dir().join("notifications.log")).unwrap();
    assert!(notifications.contains("operator-action"), "{notifications}");
    // AND a command on the ended deployment says so in one line, exit 2
    let (code, out) = run.operate(&["hold"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("already ended (RolledBack)"), "{out}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");
}

#[test]
fn promote_ends_the_step_at_once_and_promote_full_goes_to_100_percent() {
    // GIVEN a deployment at 10 %, waiting
    let mut run = LocalRun::start(&three_steps(), &[]);
    run.wait_for("at 10 % and waiting", waiting_at(10.0));
    // WHEN an operator promotes: the next step (50 %) comes at once
    let (code, out) = run.operate(&["promote"]);
    assert_eq!(code, 0, "{out}");
    run.wait_for("at 50 % and waiting", waiting_at(50.0));
    // AND then promotes fully: 100 % at once, without the rest of step 2
    let (code, out) = run.operate(&["promote", "--full"]);
    assert_eq!(code, 0, "{out}");
    let (code, lines, record) = run.finish();
    assert_eq!(code, 0, "{lines:?}");
    let summary: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(summary["status"], "Succeeded");
    assert_eq!(summary["finalAlias"]["functionVersion"], "8");
    // THEN the timeline reads: promote, 50 %, promote --full, 100 %, with no
    // health check of a step in between (the bake's checks come after)
    let events = timeline(&record);
    let promote = position(&events, "OperatorAction", "promote requested by local:ana@");
    let fifty = position(&events, "StepShifted", "shifted: 50 %");
    let full = position(&events, "OperatorAction", "promote --full requested");
    let hundred = position(&events, "StepShifted", "promoted: 100 %");
    assert!(
        promote < fifty && fifty < full && full < hundred,
        "{events:#?}"
    );
    assert!(
        !events[..hundred].iter().any(|(k, _)| k == "HealthChecked"),
        "{events:#?}"
    );
    // AND the afterAllowTraffic hook and the bake still ran after the promotion
    let hook = position(&events, "Hook", "checkout-post-traffic");
    let bake = position(&events, "HealthChecked", "bake");
    assert!(hundred < hook && hook < bake, "{events:#?}");
}

#[test]
fn hold_keeps_the_weight_while_health_is_watched_until_resume() {
    // GIVEN a deployment whose first step lasts 2 virtual minutes, checked every 30 s
    let mut request = three_steps();
    request["strategy"]["steps"][0]["pauseMinutes"] = json!(2);
    request["healthCheckIntervalSeconds"] = json!(30);
    let mut run = LocalRun::start(&request, &[]);
    run.wait_for("at 10 % and waiting", waiting_at(10.0));
    // WHEN an operator holds it
    let (code, out) = run.operate(&["hold"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run.operate(&["hold"]);
    assert_eq!(code, 0, "a second hold changes nothing: {out}");
    assert!(out.contains("already held"), "{out}");
    // THEN health keeps being checked at 10 % well past the step's 2 minutes
    let held = run.wait_for("checked six times while held", |r| {
        timeline(r)
            .iter()
            .filter(|(k, m)| k == "HealthChecked" && m.contains("(held)"))
            .count()
            >= 6
    });
    assert_eq!(held["currentWeightPercent"], json!(10.0));
    // AND status says who holds it
    let status = Command::new(env!("CARGO_BIN_EXE_shiftgate"))
        .args([
            "status",
            held["deploymentId"].as_str().unwrap(),
            "--state-dir",
        ])
        .arg(run.state_dir())
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(status.contains("held by local:ana@"), "{status}");
    // WHEN resumed, it goes on to 50 %
    let (code, out) = run.operate(&["resume"]);
    assert_eq!(code, 0, "{out}");
    let moved = run.wait_for("at 50 %", |r| r["currentWeightPercent"] == json!(50.0));
    let events = timeline(&moved);
    let hold = position(&events, "OperatorAction", "held by local:ana@");
    let resume = position(&events, "OperatorAction", "resumed by local:ana@");
    let fifty = position(&events, "StepShifted", "shifted: 50 %");
    assert!(hold < resume && resume < fifty, "{events:#?}");
    assert!(
        !events[hold..resume].iter().any(|(k, _)| k == "StepShifted"),
        "{events:#?}"
    );
    let (code, out) = run.operate(&["abort"]);
    assert_eq!(code, 0, "{out}");
    let (code, _, _) = run.finish();
    assert_eq!(code, 1);
}

#[test]
fn approve_and_reject_work_on_a_local_run_and_links_show_in_json() {
    for approve in [true, false] {
        // GIVEN a run waiting at an approval gate, links printed as JSON
        let mut request = three_steps();
        request["approval"] = json!({"gates": ["beforeFirstShift"], "timeoutMinutes": 600});
        let mut run = LocalRun::start(&request, &["--approve", "manual"]);
        run.wait_for("waiting for approval", |r| {
            timeline(r).iter().any(|(k, _)| k == "ApprovalRequested")
        });
        // WHEN an operator decides from another terminal
        let verb = if approve { "approve" } else { "reject" };
        let (code, out) = run.operate(&[verb, "--comment", "checked the dashboards"]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("local:ana@"), "{out}");
        if approve {
            // (then lets it go fast)
            run.wait_for("at 10 % and waiting", waiting_at(10.0));
            let (code, out) = run.operate(&["promote", "--full"]);
            assert_eq!(code, 0, "{out}");
        }
        let (code, lines, record) = run.finish();
        // THEN the link was printed as a JSON event
        let link = lines
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|e| e["event"] == "approval-link")
            .unwrap_or_else(|| panic!("no approval-link event in {lines:#?}"));
        assert!(link["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"));
        // AND the decision is in the timeline before what it caused
        let events = timeline(&record);
        let decided = position(&events, "ApprovalDecided", "local:ana@");
        if approve {
            assert_eq!(code, 0, "{lines:?}");
            let shifted = position(&events, "StepShifted", "shifted: 10 %");
            assert!(decided < shifted, "{events:#?}");
        } else {
            assert_eq!(code, 1, "{lines:?}");
            let rolled_back = position(&events, "RolledBack", "");
            assert!(decided < rolled_back, "{events:#?}");
            assert!(!events.iter().any(|(k, _)| k == "StepShifted"));
        }
    }
}
