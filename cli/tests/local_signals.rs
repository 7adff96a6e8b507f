//! A local run stopped by SIGTERM or SIGHUP, as by Ctrl-C, finishes its
//! deployment before it exits: the alias exactly as it was, the onRollback
//! hooks run, the record ended with the signal as its cause, the lock free.
//! The real `shiftgate` binary is run and signalled, as a user's shell would.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The deployment record in a local state directory, once there is one.
fn record(state_dir: &Path) -> Option<serde_json::Value> {
    let deployments = state_dir.join("bucket/deployments");
    let entry = std::fs::read_dir(deployments).ok()?.flatten().next()?;
    let text = std::fs::read_to_string(entry.path().join("record.json")).ok()?;
    serde_json::from_str(&text).ok()
}

#[test]
fn sigterm_and_sighup_finish_the_deployment_before_the_run_exits() {
    for signal in ["TERM", "HUP"] {
        // GIVEN the sample canary running at real speed, 10 % already shifted
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_shiftgate"))
            .args(["local", "run", "--json", "--speed", "1", "--state-dir"])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // A run that ignored the signal would go on for minutes: end it hard.
        let pid = child.id();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(90));
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let shifted = record(dir.path())
                .is_some_and(|r| r["currentWeightPercent"].as_f64() == Some(10.0));
            if shifted {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "SIG{signal}: the canary never shifted"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // WHEN the run is signalled
        let killed = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let last = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map_while(Result::ok)
            .last()
            .unwrap_or_default();
        let status = child.wait().unwrap();
        // THEN it ends rolled back, the alias exactly as captured
        assert_eq!(status.code(), Some(1), "SIG{signal}: {last}");
        let summary: serde_json::Value = serde_json::from_str(&last).unwrap();
        assert_eq!(summary["status"], "RolledBack", "SIG{signal}: {summary}");
        assert_eq!(summary["finalAlias"]["functionVersion"], "7");
        assert_eq!(
            summary["finalAlias"]["additionalVersionWeights"],
            serde_json::json!({})
        );
        assert!(summary["cause"]
            .as_str()
            .unwrap()
            .contains(&format!("SIG{signal}")));
        // AND the record ended with that cause, the onRollback hook ran, the lock is free
        let record = record(dir.path()).unwrap();
        assert_eq!(record["status"], "RolledBack", "SIG{signal}");
        assert!(record["failure"]["Cause"]
            .as_str()
            .unwrap()
            .contains(&format!("SIG{signal}")));
        let hook_ran = record["timeline"].as_array().unwrap().iter().any(|e| {
            e["kind"] == "Hook"
                && e["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("page-oncall")
        });
        assert!(hook_ran, "SIG{signal}: {}", record["timeline"]);
        assert!(!dir.path().join("bucket/locks/checkout/live.json").exists());
    }
}
