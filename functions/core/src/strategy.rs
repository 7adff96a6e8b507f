//! The strategy catalogue: every AWS CodeDeploy predefined Lambda configuration,
//! the ECS-style names, and custom canary, linear, all-at-once and explicit steps.
//!
//! A strategy is what a request asks for; [`crate::plan`] turns it into a
//! schedule. Parsing accepts a name (`"Canary10Percent5Minutes"`,
//! `"CodeDeployDefault.LambdaCanary10Percent5Minutes"`, `"all-at-once"`) or a
//! JSON object (`{"type":"linear","percent":10,"intervalMinutes":3}`).

use serde::{Deserialize, Serialize};

/// How traffic moves to the new version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Strategy {
    /// `percent` % at once, the rest after `interval_minutes`.
    #[serde(alias = "CANARY", alias = "Canary")]
    Canary {
        /// Share of traffic on the new version during the canary, 0 < P < 100.
        #[serde(alias = "canaryPercent")]
        percent: f64,
        /// Minutes before the remaining traffic moves.
        #[serde(alias = "canaryBakeTimeInMinutes")]
        interval_minutes: f64,
    },
    /// `percent` % more at the start of each interval, capped at 100 %.
    #[serde(alias = "LINEAR", alias = "Linear")]
    Linear {
        /// Share added at each increment, 0 < P < 100.
        #[serde(alias = "stepPercent")]
        percent: f64,
        /// Minutes between increments.
        #[serde(alias = "stepBakeTimeInMinutes")]
        interval_minutes: f64,
    },
    /// Everything at once.
    #[serde(
        alias = "all-at-once",
        alias = "ALL_AT_ONCE",
        alias = "AllAtOnce",
        alias = "allatonce"
    )]
    AllAtOnce,
    /// An explicit list of steps.
    #[serde(alias = "STEPS", alias = "Steps")]
    Steps {
        /// The steps in order; weights strictly increase. A final 100 % step is
        /// added when the list does not end at 100.
        steps: Vec<StepSpec>,
    },
}

/// One step of an explicit step list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepSpec {
    /// Share of traffic on the new version in this step, 0 < w ≤ 100.
    pub weight_percent: f64,
    /// Minutes to hold this weight (health is checked meanwhile) before the next step.
    #[serde(default)]
    pub pause_minutes: f64,
    /// Stop for human approval before shifting to this step.
    #[serde(default)]
    pub approval: bool,
    /// A hook function (name or ARN) invoked before shifting to this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<String>,
}

/// A catalogue entry: a predefined configuration and its names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Predefined {
    /// The SAM `DeploymentPreference.Type` name.
    pub sam_name: &'static str,
    /// The strategy it stands for.
    pub kind: PredefinedKind,
}

/// The shape of a predefined configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PredefinedKind {
    /// Canary (percent, minutes).
    Canary(u32, u32),
    /// Linear (percent, minutes).
    Linear(u32, u32),
    /// All at once.
    AllAtOnce,
}

/// Prefix of CodeDeploy's full configuration names.
pub const CODEDEPLOY_PREFIX: &str = "CodeDeployDefault.Lambda";

/// Every AWS CodeDeploy predefined Lambda deployment configuration.
pub const PREDEFINED: [Predefined; 9] = [
    Predefined {
        sam_name: "Canary10Percent5Minutes",
        kind: PredefinedKind::Canary(10, 5),
    },
    Predefined {
        sam_name: "Canary10Percent10Minutes",
        kind: PredefinedKind::Canary(10, 10),
    },
    Predefined {
        sam_name: "Canary10Percent15Minutes",
        kind: PredefinedKind::Canary(10, 15),
    },
    Predefined {
        sam_name: "Canary10Percent30Minutes",
        kind: PredefinedKind::Canary(10, 30),
    },
    Predefined {
        sam_name: "Linear10PercentEvery1Minute",
        kind: PredefinedKind::Linear(10, 1),
    },
    Predefined {
        sam_name: "Linear10PercentEvery2Minutes",
        kind: PredefinedKind::Linear(10, 2),
    },
    Predefined {
        sam_name: "Linear10PercentEvery3Minutes",
        kind: PredefinedKind::Linear(10, 3),
    },
    Predefined {
        sam_name: "Linear10PercentEvery10Minutes",
        kind: PredefinedKind::Linear(10, 10),
    },
    Predefined {
        sam_name: "AllAtOnce",
        kind: PredefinedKind::AllAtOnce,
    },
];

impl Predefined {
    /// The full CodeDeploy name, e.g. `CodeDeployDefault.LambdaCanary10Percent5Minutes`.
    pub fn full_name(&self) -> String {
        format!("{CODEDEPLOY_PREFIX}{}", self.sam_name)
    }

    /// The strategy this configuration stands for.
    pub fn strategy(&self) -> Strategy {
        match self.kind {
            PredefinedKind::Canary(p, m) => Strategy::Canary {
                percent: f64::from(p),
                interval_minutes: f64::from(m),
            },
            PredefinedKind::Linear(p, m) => Strategy::Linear {
                percent: f64::from(p),
                interval_minutes: f64::from(m),
            },
            PredefinedKind::AllAtOnce => Strategy::AllAtOnce,
        }
    }
}

/// Why a strategy cannot be used. The message is one line a person can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct StrategyError(pub String);

/// Every name the catalogue accepts: SAM names, full CodeDeploy names, ECS names.
pub fn known_names() -> Vec<String> {
    let mut names: Vec<String> = PREDEFINED.iter().map(|p| p.sam_name.to_string()).collect();
    names.extend(PREDEFINED.iter().map(Predefined::full_name));
    names.extend(["canary", "linear", "all-at-once"].map(String::from));
    names
}

/// Look a strategy up by name: a SAM name, a full CodeDeploy name, or `all-at-once`.
///
/// The ECS names `canary` and `linear` need a percent and an interval, so they
/// are refused here with a hint to use the JSON form.
pub fn by_name(name: &str) -> Result<Strategy, StrategyError> {
    let trimmed = name.trim();
    let short = trimmed.strip_prefix(CODEDEPLOY_PREFIX).unwrap_or(trimmed);
    if let Some(found) = PREDEFINED.iter().find(|p| p.sam_name == short) {
        return Ok(found.strategy());
    }
    match trimmed.to_ascii_lowercase().as_str() {
        "all-at-once" | "allatonce" | "all_at_once" => return Ok(Strategy::AllAtOnce),
        kind @ ("canary" | "linear") => {
            return Err(StrategyError(format!(
                "strategy \"{trimmed}\" needs a percent and an interval: use {{\"type\":\"{kind}\",\"percent\":10,\"intervalMinutes\":5}}"
            )))
        }
        _ => {}
    }
    Err(StrategyError(format!(
        "unknown strategy \"{trimmed}\"; did you mean \"{}\"? Known: {}",
        closest_name(trimmed),
        PREDEFINED.map(|p| p.sam_name).join(", ")
    )))
}

/// The known name closest to `name` (Jaro-Winkler, case-insensitive).
pub fn closest_name(name: &str) -> String {
    let wanted = name.to_ascii_lowercase();
    known_names()
        .into_iter()
        .map(|known| {
            (
                strsim::jaro_winkler(&wanted, &known.to_ascii_lowercase()),
                known,
            )
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, known)| known)
        .unwrap_or_default()
}

/// Parse what a user wrote: a name, a JSON string holding a name, or a JSON object.
pub fn parse(text: &str) -> Result<Strategy, StrategyError> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') || trimmed.starts_with('"') {
        let value: serde_json::Value = serde_json::from_str(trimmed)
            .map_err(|e| StrategyError(format!("strategy is not valid JSON: {e}")))?;
        from_value(&value)
    } else {
        by_name(trimmed)
    }
}

/// Read a strategy from the `strategy` field of a request: a name or an object.
pub fn from_value(value: &serde_json::Value) -> Result<Strategy, StrategyError> {
    match value {
        serde_json::Value::String(name) => by_name(name),
        serde_json::Value::Object(fields) => {
            let kind = fields.get("type").and_then(|t| t.as_str()).ok_or_else(|| {
                StrategyError(
                    "strategy object needs a \"type\": canary, linear, allAtOnce or steps"
                        .to_string(),
                )
            })?;
            serde_json::from_value(value.clone()).map_err(|e| {
                StrategyError(format!("strategy of type \"{kind}\" is not valid: {e}"))
            })
        }
        other => Err(StrategyError(format!(
            "strategy must be a name or an object, not {other}"
        ))),
    }
}

/// Serde helper: a request's `strategy` field, parsed with [`from_value`] so
/// names and objects give the same one-line errors.
pub mod field {
    use super::{from_value, Strategy};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Deserialize a strategy from a name or an object.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Strategy, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        from_value(&value).map_err(serde::de::Error::custom)
    }

    /// Serialize a strategy in its object form.
    pub fn serialize<S: Serializer>(strategy: &Strategy, serializer: S) -> Result<S::Ok, S::Error> {
        strategy.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_predefined_name_resolves_by_sam_and_full_name() {
        for p in PREDEFINED {
            assert_eq!(by_name(p.sam_name).unwrap(), p.strategy());
            assert_eq!(by_name(&p.full_name()).unwrap(), p.strategy());
        }
        assert_eq!(
            by_name("CodeDeployDefault.LambdaAllAtOnce").unwrap(),
            Strategy::AllAtOnce
        );
    }

    #[test]
    fn unknown_name_suggests_the_closest_known_one() {
        let err = by_name("Canary7Percent").unwrap_err().0;
        assert!(err.contains("unknown strategy \"Canary7Percent\""), "{err}");
        assert!(err.contains("did you mean \"Canary10Percent"), "{err}");
        let err = by_name("Linear10PercentEvery3Minute").unwrap_err().0;
        assert!(
            err.contains("did you mean \"Linear10PercentEvery3Minutes\""),
            "{err}"
        );
    }

    #[test]
    fn ecs_names_and_json_forms_parse() {
        assert_eq!(parse("all-at-once").unwrap(), Strategy::AllAtOnce);
        assert_eq!(
            parse(r#"{"type":"allAtOnce"}"#).unwrap(),
            Strategy::AllAtOnce
        );
        assert_eq!(
            parse(r#"{"type":"CANARY","canaryPercent":20,"canaryBakeTimeInMinutes":4}"#).unwrap(),
            Strategy::Canary {
                percent: 20.0,
                interval_minutes: 4.0
            }
        );
        assert_eq!(
            parse(r#"{"type":"linear","percent":25,"intervalMinutes":2}"#).unwrap(),
            Strategy::Linear {
                percent: 25.0,
                interval_minutes: 2.0
            }
        );
        assert!(parse("canary").unwrap_err().0.contains("needs a percent"));
    }

    #[test]
    fn malformed_objects_are_refused_with_a_reason() {
        assert!(parse(r#"{"percent":10}"#)
            .unwrap_err()
            .0
            .contains("needs a \"type\""));
        assert!(parse(r#"{"type":"linear","percent":10}"#)
            .unwrap_err()
            .0
            .contains("intervalMinutes"));
        assert!(parse("{not json").unwrap_err().0.contains("not valid JSON"));
    }
}
