//! [`SimulatedFleet`]: published versions, aliases with weighted routing, hook
//! functions, CloudWatch-like alarms and per-version metrics, in memory.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::locked;
use crate::ports::{
    AliasControl, AliasState, Clock, FunctionInvoker, HealthSource, InvocationResult, PortError,
    VersionMetrics,
};

/// How a simulated function answers when invoked as a hook or smoke test.
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// Return this payload.
    Answer(serde_json::Value),
    /// Raise (FunctionError `Unhandled`) with this message.
    Raise(String),
}

#[derive(Debug, Default)]
struct SimFunction {
    versions: BTreeSet<String>,
    aliases: BTreeMap<String, AliasState>,
    /// Fraction of requests each version fails, and the error owed so far
    /// (accumulated so the share of failures is exact, not random).
    failure: BTreeMap<String, (f64, f64)>,
    behaviour: Option<Behaviour>,
    revision: u64,
}

/// One request served through an alias.
#[derive(Debug, Clone, PartialEq)]
pub struct ServedRequest {
    /// When.
    pub at: DateTime<Utc>,
    /// The function.
    pub function: String,
    /// The alias it came through.
    pub alias: String,
    /// The version that ran it.
    pub version: String,
    /// Whether it failed.
    pub failed: bool,
}

#[derive(Debug, Default)]
struct FleetState {
    functions: BTreeMap<String, SimFunction>,
    alarms: BTreeMap<String, bool>,
    served: Vec<ServedRequest>,
    alias_writes: Vec<(String, String, AliasState)>,
    invocations: Vec<(String, Option<String>, serde_json::Value)>,
    /// Position in the weighted-routing sequence of each alias.
    routing_counter: BTreeMap<(String, String), u64>,
}

/// A simulated Lambda fleet: published versions, aliases with weighted routing,
/// hook functions, CloudWatch-like alarms and per-version metrics.
#[derive(Clone)]
pub struct SimulatedFleet {
    state: Arc<Mutex<FleetState>>,
    clock: Arc<dyn Clock>,
}

fn name_of(function: &str) -> String {
    crate::record::keys::function_key(function).to_string()
}

impl SimulatedFleet {
    /// An empty fleet whose metrics are stamped by `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            state: Arc::new(Mutex::new(FleetState::default())),
            clock,
        }
    }

    /// Publish versions `1..=latest` of `function` and point `alias` at `live`.
    pub fn add_function(&self, function: &str, latest: u32, alias: &str, live: &str) {
        let mut state = locked(&self.state);
        let f = state.functions.entry(name_of(function)).or_default();
        f.versions.extend((1..=latest).map(|v| v.to_string()));
        f.aliases.insert(
            alias.to_string(),
            AliasState {
                function_version: live.to_string(),
                additional_version_weights: BTreeMap::new(),
                revision_id: Some("1".into()),
            },
        );
    }

    /// Set an alias's routing directly (as someone outside shiftgate would).
    pub fn set_alias(&self, function: &str, alias: &str, to: AliasState) {
        let mut state = locked(&self.state);
        state
            .functions
            .entry(name_of(function))
            .or_default()
            .aliases
            .insert(alias.to_string(), to);
    }

    /// A hook or smoke-test function and how it answers.
    pub fn add_hook(&self, function: &str, behaviour: Behaviour) {
        let mut state = locked(&self.state);
        let f = state.functions.entry(name_of(function)).or_default();
        f.versions.insert("1".into());
        f.behaviour = Some(behaviour);
    }

    /// Make `version` of `function` fail this fraction of its requests.
    pub fn set_failure_rate(&self, function: &str, version: &str, rate: f64) {
        let mut state = locked(&self.state);
        let f = state.functions.entry(name_of(function)).or_default();
        f.failure
            .insert(version.to_string(), (rate.clamp(0.0, 1.0), 0.0));
    }

    /// Put an alarm in ALARM (`true`) or OK.
    pub fn set_alarm(&self, name: &str, in_alarm: bool) {
        locked(&self.state)
            .alarms
            .insert(name.to_string(), in_alarm);
    }

    /// Serve one request through `function:alias`, routed by the alias's weights.
    ///
    /// Routing is deterministic (a low-discrepancy sequence), so a 10 % weight
    /// sends exactly one request in ten to the new version.
    pub fn serve(&self, function: &str, alias: &str) -> Result<ServedRequest, PortError> {
        let at = self.clock.now();
        let mut state = locked(&self.state);
        let name = name_of(function);
        let counter = {
            let c = state
                .routing_counter
                .entry((name.clone(), alias.to_string()))
                .or_insert(0);
            *c += 1;
            *c
        };
        let f = state
            .functions
            .get_mut(&name)
            .ok_or_else(|| PortError::NotFound(format!("function {name}")))?;
        let routing = f
            .aliases
            .get(alias)
            .ok_or_else(|| PortError::NotFound(format!("alias {name}:{alias}")))?
            .clone();
        // Golden-ratio sequence: evenly spread, the same every run.
        let position = (counter as f64 * 0.618_033_988_749_895).fract();
        let mut version = routing.function_version.clone();
        let mut cumulative = 0.0;
        for (extra, weight) in &routing.additional_version_weights {
            cumulative += weight;
            if position < cumulative {
                version = extra.clone();
                break;
            }
        }
        let failed = match f.failure.get_mut(&version) {
            Some((rate, owed)) => {
                *owed += *rate;
                if *owed >= 1.0 - 1e-9 {
                    *owed -= 1.0;
                    true
                } else {
                    false
                }
            }
            None => false,
        };
        let request = ServedRequest {
            at,
            function: name,
            alias: alias.to_string(),
            version,
            failed,
        };
        state.served.push(request.clone());
        Ok(request)
    }

    /// The alias as it is now (for assertions and the live view).
    pub fn alias(&self, function: &str, alias: &str) -> Option<AliasState> {
        let state = locked(&self.state);
        state
            .functions
            .get(&name_of(function))
            .and_then(|f| f.aliases.get(alias).cloned())
    }

    /// Every alias write, in order: (function, alias, state written).
    pub fn alias_writes(&self) -> Vec<(String, String, AliasState)> {
        locked(&self.state).alias_writes.clone()
    }

    /// Every invocation of a hook or smoke test: (function, qualifier, payload).
    pub fn invocations(&self) -> Vec<(String, Option<String>, serde_json::Value)> {
        locked(&self.state).invocations.clone()
    }

    /// Requests served per version: version → (requests, failures).
    pub fn served_by_version(&self, function: &str) -> BTreeMap<String, (u64, u64)> {
        let name = name_of(function);
        let mut counts = BTreeMap::new();
        for r in locked(&self.state)
            .served
            .iter()
            .filter(|r| r.function == name)
        {
            let entry = counts.entry(r.version.clone()).or_insert((0, 0));
            entry.0 += 1;
            entry.1 += u64::from(r.failed);
        }
        counts
    }
}

#[async_trait]
impl AliasControl for SimulatedFleet {
    async fn get_alias(&self, function_name: &str, alias: &str) -> Result<AliasState, PortError> {
        self.alias(function_name, alias)
            .ok_or_else(|| PortError::NotFound(format!("alias {function_name}:{alias}")))
    }

    async fn update_alias(
        &self,
        function_name: &str,
        alias: &str,
        function_version: &str,
        additional_version_weights: &BTreeMap<String, f64>,
    ) -> Result<AliasState, PortError> {
        let mut state = locked(&self.state);
        let name = name_of(function_name);
        let f = state
            .functions
            .get_mut(&name)
            .ok_or_else(|| PortError::NotFound(format!("function {name}")))?;
        for version in std::iter::once(function_version)
            .chain(additional_version_weights.keys().map(String::as_str))
        {
            if !f.versions.contains(version) {
                return Err(PortError::Service(format!(
                    "version {version} of {name} is not published"
                )));
            }
        }
        if additional_version_weights
            .values()
            .any(|w| !(0.0..=1.0).contains(w))
        {
            return Err(PortError::Service(
                "weights must be fractions between 0 and 1".into(),
            ));
        }
        if !f.aliases.contains_key(alias) {
            return Err(PortError::NotFound(format!("alias {name}:{alias}")));
        }
        f.revision += 1;
        let written = AliasState {
            function_version: function_version.to_string(),
            additional_version_weights: additional_version_weights.clone(),
            revision_id: Some(f.revision.to_string()),
        };
        f.aliases.insert(alias.to_string(), written.clone());
        state
            .alias_writes
            .push((name, alias.to_string(), written.clone()));
        Ok(written)
    }

    async fn version_exists(&self, function_name: &str, version: &str) -> Result<bool, PortError> {
        let state = locked(&self.state);
        Ok(state
            .functions
            .get(&name_of(function_name))
            .is_some_and(|f| f.versions.contains(version)))
    }
}

#[async_trait]
impl FunctionInvoker for SimulatedFleet {
    async fn invoke(
        &self,
        function: &str,
        qualifier: Option<&str>,
        payload: &serde_json::Value,
    ) -> Result<InvocationResult, PortError> {
        let name = name_of(function);
        let behaviour = {
            let mut state = locked(&self.state);
            state
                .invocations
                .push((name.clone(), qualifier.map(str::to_string), payload.clone()));
            let f = state
                .functions
                .get(&name)
                .ok_or_else(|| PortError::NotFound(format!("function {name} does not exist")))?;
            f.behaviour.clone()
        };
        match behaviour {
            // A deployed function invoked directly (a smoke test) serves one request.
            None => {
                let version = qualifier.unwrap_or("$LATEST").to_string();
                let failed = locked(&self.state)
                    .functions
                    .get(&name)
                    .and_then(|f| f.failure.get(&version))
                    .is_some_and(|(rate, _)| *rate >= 1.0);
                if failed {
                    Ok(InvocationResult {
                        function_error: Some("Unhandled".into()),
                        payload: serde_json::json!({"errorType": "SimulatedFailure", "errorMessage": format!("version {version} failed")}),
                    })
                } else {
                    Ok(InvocationResult {
                        function_error: None,
                        payload: serde_json::json!({"ok": true}),
                    })
                }
            }
            Some(Behaviour::Answer(answer)) => Ok(InvocationResult {
                function_error: None,
                payload: answer,
            }),
            Some(Behaviour::Raise(message)) => Ok(InvocationResult {
                function_error: Some("Unhandled".into()),
                payload: serde_json::json!({"errorType": "HookError", "errorMessage": message}),
            }),
        }
    }
}

#[async_trait]
impl HealthSource for SimulatedFleet {
    async fn alarms_in_alarm(&self, alarm_names: &[String]) -> Result<Vec<String>, PortError> {
        let state = locked(&self.state);
        Ok(alarm_names
            .iter()
            .filter(|name| state.alarms.get(*name).copied().unwrap_or(false))
            .cloned()
            .collect())
    }

    async fn version_metrics(
        &self,
        function_name: &str,
        alias: &str,
        version: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<VersionMetrics, PortError> {
        let name = name_of(function_name);
        let state = locked(&self.state);
        let mut metrics = VersionMetrics::default();
        for r in state.served.iter().filter(|r| {
            r.function == name
                && r.alias == alias
                && r.version == version
                && r.at > start
                && r.at <= end
        }) {
            metrics.invocations += 1.0;
            metrics.errors += if r.failed { 1.0 } else { 0.0 };
        }
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::ManualClock;

    fn fleet() -> SimulatedFleet {
        let clock = Arc::new(ManualClock::new(DateTime::UNIX_EPOCH));
        let fleet = SimulatedFleet::new(clock);
        fleet.add_function("checkout", 8, "live", "7");
        fleet
    }

    #[tokio::test]
    async fn weighted_routing_sends_the_weighted_share_and_failures_are_exact() {
        let fleet = fleet();
        fleet
            .update_alias(
                "checkout",
                "live",
                "7",
                &BTreeMap::from([("8".to_string(), 0.1)]),
            )
            .await
            .unwrap();
        fleet.set_failure_rate("checkout", "8", 0.5);
        for _ in 0..1000 {
            fleet.serve("checkout", "live").unwrap();
        }
        let served = fleet.served_by_version("checkout");
        let (new_requests, new_failures) = served["8"];
        assert!((95..=105).contains(&new_requests), "{new_requests}");
        assert_eq!(new_failures, new_requests / 2);
        assert_eq!(served["7"].1, 0);
    }

    #[tokio::test]
    async fn unpublished_versions_and_bad_weights_are_refused() {
        let fleet = fleet();
        assert!(fleet
            .update_alias("checkout", "live", "9", &BTreeMap::new())
            .await
            .is_err());
        assert!(fleet
            .update_alias(
                "checkout",
                "live",
                "7",
                &BTreeMap::from([("8".to_string(), 10.0)])
            )
            .await
            .is_err());
    }
}
