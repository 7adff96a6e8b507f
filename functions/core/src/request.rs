//! The deployment request: what a user asks shiftgate to do (JSON, camelCase).
//!
//! ```json
//! {
//!   "target": {"functionName": "checkout", "alias": "live", "targetVersion": "7"},
//!   "strategy": "Canary10Percent5Minutes",
//!   "bakeMinutes": 5,
//!   "hooks": {"beforeAllowTraffic": ["checkout-smoke"], "onRollback": ["page-oncall"]},
//!   "alarms": ["checkout-5xx"],
//!   "health": {"maxErrorRate": 0.01, "minInvocations": 20},
//!   "approval": {"gates": ["beforePromotion"], "timeoutMinutes": 60}
//! }
//! ```
//! Validation turns a request into a [`Plan`] or one line saying what is wrong.

use serde::{Deserialize, Deserializer, Serialize};

use crate::contracts::HookPhase;
use crate::plan::{self, GatePlacement, Plan, PlanOptions, DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS};
use crate::strategy::Strategy;

/// A request to deploy a new version behind one alias.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentRequest {
    /// Chosen deployment id (letters, digits, `-`, `_`; at most 64); generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// What to deploy.
    pub target: Target,
    /// How traffic moves: a catalogue name or a strategy object.
    #[serde(with = "crate::strategy::field")]
    pub strategy: Strategy,
    /// Minutes to hold 100 % with health checks after the afterAllowTraffic hooks.
    #[serde(default)]
    pub bake_minutes: f64,
    /// Seconds between health checks while a weight is held (default 60).
    #[serde(default = "default_interval")]
    pub health_check_interval_seconds: u64,
    /// Lifecycle hooks.
    #[serde(default)]
    pub hooks: Hooks,
    /// A payload invoked directly on the new version before any traffic moves;
    /// a `FunctionError` fails the deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoke_test: Option<SmokeTest>,
    /// CloudWatch alarm names: any in ALARM fails a health check.
    #[serde(default)]
    pub alarms: Vec<String>,
    /// Error-rate limit of the new version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthPolicy>,
    /// Approval gates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalPolicy>,
    /// SNS topic for lifecycle notifications (the stack's topic when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_topic_arn: Option<String>,
}

fn default_interval() -> u64 {
    DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS
}

/// The alias to move and the version to move it to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Target {
    /// Function name or ARN.
    pub function_name: String,
    /// The alias whose traffic moves (e.g. `live`).
    pub alias: String,
    /// The published version to move to (not `$LATEST`).
    #[serde(deserialize_with = "string_or_number")]
    pub target_version: String,
}

/// Hook functions (names or ARNs) per lifecycle phase, run in order.
///
/// A hook is invoked synchronously with a [`crate::contracts::HookPayload`]; it
/// fails the deployment by answering `{"status":"Failed","reason":"…"}` or by raising.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Hooks {
    /// Before any traffic moves (after the smoke test).
    #[serde(default, deserialize_with = "one_or_many")]
    pub before_allow_traffic: Vec<String>,
    /// Once all traffic is on the new version, before the bake.
    #[serde(default, deserialize_with = "one_or_many")]
    pub after_allow_traffic: Vec<String>,
    /// Before every step's shift.
    #[serde(default, deserialize_with = "one_or_many")]
    pub before_each_step: Vec<String>,
    /// After the alias is restored on rollback.
    #[serde(default, deserialize_with = "one_or_many")]
    pub on_rollback: Vec<String>,
}

impl Hooks {
    /// The hooks a request names for `phase` (a step's own hook comes from the plan).
    pub fn for_phase(&self, phase: HookPhase) -> &[String] {
        match phase {
            HookPhase::BeforeAllowTraffic => &self.before_allow_traffic,
            HookPhase::BeforeEachStep => &self.before_each_step,
            HookPhase::AfterAllowTraffic => &self.after_allow_traffic,
            HookPhase::OnRollback => &self.on_rollback,
        }
    }
}

/// A smoke test: one direct invocation of the new version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SmokeTest {
    /// The payload sent to `function:targetVersion`.
    pub payload: serde_json::Value,
}

/// Health thresholds over the new version's `AWS/Lambda` metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthPolicy {
    /// Highest tolerated `Errors / Invocations`, 0–1.
    pub max_error_rate: f64,
    /// Fewest invocations in a window before the rate is judged.
    #[serde(default)]
    pub min_invocations: u64,
}

/// Where approval gates go and how they decide. A field the request leaves
/// out takes its default (`Default` is the policy of an empty `"approval": {}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ApprovalPolicy {
    /// Gates: `beforeFirstShift`, `afterCanary`, `beforePromotion`
    /// (explicit steps also take `"approval": true` per step).
    pub gates: Vec<GateName>,
    /// Reviewers (e-mail addresses or names); each gets a personal link.
    pub reviewers: Vec<String>,
    /// How many approvals a gate needs (default [`Self::DEFAULT_QUORUM`]).
    pub quorum: u32,
    /// Minutes a gate waits for decisions (default [`Self::DEFAULT_TIMEOUT_MINUTES`]).
    pub timeout_minutes: f64,
    /// What a timeout does: `rollback` or `continue` (default
    /// [`Self::DEFAULT_ON_TIMEOUT`]).
    pub on_timeout: OnTimeout,
}

impl ApprovalPolicy {
    /// Approvals a gate needs when the request names no `quorum`.
    pub const DEFAULT_QUORUM: u32 = 1;
    /// Minutes a gate waits when the request names no `timeoutMinutes`: a day.
    pub const DEFAULT_TIMEOUT_MINUTES: f64 = 1440.0;
    /// What a timeout does when the request names no `onTimeout`: no
    /// decision is no promotion.
    pub const DEFAULT_ON_TIMEOUT: OnTimeout = OnTimeout::Rollback;
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        Self {
            gates: Vec::new(),
            reviewers: Vec::new(),
            quorum: Self::DEFAULT_QUORUM,
            timeout_minutes: Self::DEFAULT_TIMEOUT_MINUTES,
            on_timeout: Self::DEFAULT_ON_TIMEOUT,
        }
    }
}

/// A named gate position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GateName {
    /// Before the first shift.
    BeforeFirstShift,
    /// After the canary (first) step.
    AfterCanary,
    /// Before promotion to 100 %.
    BeforePromotion,
}

/// What an approval timeout does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OnTimeout {
    /// Roll the deployment back.
    Rollback,
    /// Go on as if approved.
    Continue,
}

impl Default for OnTimeout {
    /// [`ApprovalPolicy::DEFAULT_ON_TIMEOUT`].
    fn default() -> Self {
        ApprovalPolicy::DEFAULT_ON_TIMEOUT
    }
}

/// Why a request is refused. One line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct RequestError(pub String);

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(name) => vec![name],
        OneOrMany::Many(names) => names,
    })
}

fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "targetVersion must be a version number, got {other}"
        ))),
    }
}

impl DeploymentRequest {
    /// Parse a request from JSON with a one-line error.
    pub fn from_json(text: &str) -> Result<Self, RequestError> {
        serde_json::from_str(text)
            .map_err(|e| RequestError(format!("invalid deployment request: {e}")))
    }

    /// Parse a request from a JSON value with a one-line error.
    pub fn from_value(value: serde_json::Value) -> Result<Self, RequestError> {
        serde_json::from_value(value)
            .map_err(|e| RequestError(format!("invalid deployment request: {e}")))
    }

    /// Check every field and compute the plan.
    pub fn validate(&self) -> Result<Plan, RequestError> {
        let t = &self.target;
        if t.function_name.trim().is_empty() {
            return Err(RequestError("target.functionName is empty".into()));
        }
        if t.alias.trim().is_empty() || t.alias == "$LATEST" {
            return Err(RequestError("target.alias must name an alias".into()));
        }
        if t.target_version.parse::<u64>().is_err() {
            return Err(RequestError(format!(
                "target.targetVersion must be a published version number, got \"{}\"",
                t.target_version
            )));
        }
        if let Some(id) = &self.deployment_id {
            validate_deployment_id(id)?;
        }
        if let Some(health) = &self.health {
            if !(0.0..=1.0).contains(&health.max_error_rate) {
                return Err(RequestError(format!(
                    "health.maxErrorRate must be between 0 and 1, got {}",
                    health.max_error_rate
                )));
            }
        }
        if HookPhase::ALL.iter().any(|&phase| {
            self.hooks
                .for_phase(phase)
                .iter()
                .any(|h| h.trim().is_empty())
        }) {
            return Err(RequestError("a hook name is empty".into()));
        }
        if self.alarms.iter().any(|a| a.trim().is_empty()) {
            return Err(RequestError("an alarm name is empty".into()));
        }
        let bake_seconds = plan::minutes_to_seconds("bakeMinutes", self.bake_minutes, true)
            .map_err(|e| RequestError(e.0))?;
        let gates = self.gate_placement()?;
        plan::build(
            &self.strategy,
            &PlanOptions {
                bake_seconds,
                health_check_interval_seconds: self.health_check_interval_seconds,
                gates,
            },
        )
        .map_err(|e| RequestError(e.0))
    }

    fn gate_placement(&self) -> Result<GatePlacement, RequestError> {
        let Some(approval) = &self.approval else {
            return Ok(GatePlacement::default());
        };
        if approval.quorum == 0 {
            return Err(RequestError("approval.quorum must be at least 1".into()));
        }
        if !approval.reviewers.is_empty() && approval.quorum as usize > approval.reviewers.len() {
            return Err(RequestError(format!(
                "approval.quorum is {} but only {} reviewers are listed",
                approval.quorum,
                approval.reviewers.len()
            )));
        }
        let timeout_seconds =
            plan::minutes_to_seconds("approval.timeoutMinutes", approval.timeout_minutes, false)
                .map_err(|e| RequestError(e.0))?;
        Ok(GatePlacement {
            before_first_shift: approval.gates.contains(&GateName::BeforeFirstShift),
            after_canary: approval.gates.contains(&GateName::AfterCanary),
            before_promotion: approval.gates.contains(&GateName::BeforePromotion),
            timeout_seconds,
        })
    }

    /// Seconds an approval gate waits, for a request that passed [`Self::validate`]
    /// (which refuses a timeout the conversion cannot make).
    pub fn approval_timeout_seconds(&self) -> u64 {
        let minutes = self
            .approval
            .as_ref()
            .map_or(ApprovalPolicy::DEFAULT_TIMEOUT_MINUTES, |a| {
                a.timeout_minutes
            });
        plan::minutes_to_seconds("approval.timeoutMinutes", minutes, false)
            .unwrap_or(plan::MAX_EXECUTION_SECONDS)
    }
}

/// A deployment id is used in S3 keys and execution names: keep it plain.
pub fn validate_deployment_id(id: &str) -> Result<(), RequestError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(RequestError(format!(
            "deploymentId \"{id}\" must be 1–64 letters, digits, '-' or '_'"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(extra: &str) -> Result<DeploymentRequest, RequestError> {
        DeploymentRequest::from_json(&format!(
            r#"{{"target":{{"functionName":"checkout","alias":"live","targetVersion":7}},
                "strategy":"Canary10Percent5Minutes"{extra}}}"#
        ))
    }

    #[test]
    fn minimal_request_plans() {
        let req = request("").unwrap();
        assert_eq!(req.target.target_version, "7");
        let plan = req.validate().unwrap();
        assert_eq!(plan.steps.len(), 2);
    }

    #[test]
    fn hooks_take_one_name_or_a_list() {
        let req = request(r#","hooks":{"beforeAllowTraffic":"a","onRollback":["b","c"]}"#).unwrap();
        assert_eq!(req.hooks.before_allow_traffic, vec!["a"]);
        assert_eq!(req.hooks.on_rollback, vec!["b", "c"]);
    }

    #[test]
    fn bad_fields_give_one_line_reasons() {
        let err = request(r#","strategy2":1"#).unwrap_err().0;
        assert!(err.contains("unknown field `strategy2`"), "{err}");
        let err = DeploymentRequest::from_json(
            r#"{"target":{"functionName":"f","alias":"live","targetVersion":"1"},"strategy":"Canary7Percent"}"#,
        )
        .unwrap_err()
        .0;
        assert!(err.contains("did you mean"), "{err}");
        let req = request(r#","health":{"maxErrorRate":3}"#).unwrap();
        assert!(req.validate().unwrap_err().0.contains("maxErrorRate"));
        let req = DeploymentRequest::from_json(
            r#"{"target":{"functionName":"f","alias":"live","targetVersion":"$LATEST"},"strategy":"AllAtOnce"}"#,
        )
        .unwrap();
        assert!(req.validate().unwrap_err().0.contains("published version"));
        let req = request(r#","approval":{"reviewers":["a"],"quorum":2}"#).unwrap();
        assert!(req.validate().unwrap_err().0.contains("only 1 reviewers"));
        let req = request(r#","deploymentId":"../etc""#).unwrap();
        assert!(req.validate().unwrap_err().0.contains("deploymentId"));
    }

    #[test]
    fn approval_gates_reach_the_plan() {
        let req =
            request(r#","approval":{"gates":["beforePromotion"],"timeoutMinutes":5}"#).unwrap();
        let plan = req.validate().unwrap();
        assert!(plan.steps[1].approval && !plan.steps[0].approval);
        assert_eq!(req.approval_timeout_seconds(), 300);
    }

    #[test]
    fn minutes_fields_go_through_the_one_checked_conversion() {
        for (field, json) in [
            ("bakeMinutes", r#","bakeMinutes":1e300"#),
            ("bakeMinutes", r#","bakeMinutes":-1"#),
            (
                "approval.timeoutMinutes",
                r#","approval":{"timeoutMinutes":1e300}"#,
            ),
            (
                "approval.timeoutMinutes",
                r#","approval":{"timeoutMinutes":0}"#,
            ),
        ] {
            let err = request(json).unwrap().validate().unwrap_err().0;
            assert!(
                err.starts_with(field) && !err.contains('\n'),
                "{json}: {err}"
            );
        }
        let req = request(r#","bakeMinutes":0.5"#).unwrap();
        assert_eq!(req.validate().unwrap().bake_seconds, 30);
    }

    #[test]
    fn an_approval_without_settings_takes_the_named_defaults() {
        let req = request(r#","approval":{}"#).unwrap();
        assert_eq!(req.approval, Some(ApprovalPolicy::default()));
        let policy = req.approval.unwrap();
        assert_eq!(policy.quorum, ApprovalPolicy::DEFAULT_QUORUM);
        assert_eq!(
            policy.timeout_minutes,
            ApprovalPolicy::DEFAULT_TIMEOUT_MINUTES
        );
        assert_eq!(policy.on_timeout, ApprovalPolicy::DEFAULT_ON_TIMEOUT);
        assert_eq!(OnTimeout::default(), ApprovalPolicy::DEFAULT_ON_TIMEOUT);
        // Without any approval settings, a gate placed by an explicit step waits as long.
        assert_eq!(
            request("").unwrap().approval_timeout_seconds(),
            (ApprovalPolicy::DEFAULT_TIMEOUT_MINUTES * 60.0) as u64
        );
    }

    #[test]
    fn the_readme_states_the_approval_defaults() {
        // Line breaks in the README do not matter, so compare with spaces collapsed.
        let readme = include_str!("../../../README.md")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let states = |text: String| assert!(readme.contains(&text), "README lacks: {text}");
        states(format!(
            "`quorum` approvals from distinct reviewers (default {})",
            ApprovalPolicy::DEFAULT_QUORUM
        ));
        let otherwise = match ApprovalPolicy::DEFAULT_ON_TIMEOUT {
            OnTimeout::Rollback => "rolls back, or goes on with `\"onTimeout\": \"continue\"`",
            OnTimeout::Continue => "goes on, or rolls back with `\"onTimeout\": \"rollback\"`",
        };
        states(format!(
            "After `timeoutMinutes` (default {}) the gate {otherwise}",
            ApprovalPolicy::DEFAULT_TIMEOUT_MINUTES
        ));
    }
}
