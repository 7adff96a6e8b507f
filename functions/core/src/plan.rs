//! Planning: the pure, validated schedule computed from a strategy.
//!
//! A [`Plan`] lists the traffic steps in order (weight, when, how long to hold,
//! approval gate, per-step hook), the bake time after 100 %, and what the happy
//! path costs in Step Functions state transitions and history events for
//! `state-machines/deployment.asl.json`. Planning never does I/O.

use serde::{Deserialize, Serialize, Serializer};

use crate::strategy::{StepSpec, Strategy};

/// Longest a Standard workflow execution may run: one year.
pub const MAX_EXECUTION_SECONDS: u64 = 365 * 24 * 3600;
/// Most events a Standard workflow execution's history may hold.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;
/// Default interval between health checks while a weight is held.
pub const DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS: u64 = 60;

/// Where approval gates go, and what their wait may add to the schedule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatePlacement {
    /// Gate before the first shift.
    #[serde(default)]
    pub before_first_shift: bool,
    /// Gate after the canary (first) step, i.e. before the second step.
    #[serde(default)]
    pub after_canary: bool,
    /// Gate before promotion to 100 %.
    #[serde(default)]
    pub before_promotion: bool,
    /// Longest one gate waits, in seconds (counts towards the execution limit).
    #[serde(default)]
    pub timeout_seconds: u64,
}

/// What planning needs besides the strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOptions {
    /// Seconds to hold 100 % with health checks after the afterAllowTraffic hooks.
    pub bake_seconds: u64,
    /// Seconds between health checks while a weight is held.
    pub health_check_interval_seconds: u64,
    /// Approval gates.
    pub gates: GatePlacement,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            bake_seconds: 0,
            health_check_interval_seconds: DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS,
            gates: GatePlacement::default(),
        }
    }
}

/// A gate that stops a step until people decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Gate {
    /// Human approval before shifting to the step.
    Approval,
}

/// How the state machine watches health while a weight is held: the `watch`
/// object that `check-health` reads and returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Watch {
    /// Seconds of the hold still to come; 0 ends the hold.
    pub remaining_seconds: u64,
    /// Seconds the next Wait state waits before the next check.
    pub wait_seconds: u64,
    /// Seconds between checks.
    pub interval_seconds: u64,
}

impl Watch {
    /// The watch for a hold of `seconds`, checked every `interval` seconds.
    pub fn start(seconds: u64, interval: u64) -> Self {
        Self {
            remaining_seconds: seconds,
            wait_seconds: seconds.min(interval),
            interval_seconds: interval,
        }
    }

    /// The watch after one check that followed a wait of `wait_seconds`.
    pub fn advance(self) -> Self {
        let remaining = self.remaining_seconds.saturating_sub(self.wait_seconds);
        Self {
            remaining_seconds: remaining,
            wait_seconds: remaining.min(self.interval_seconds),
            interval_seconds: self.interval_seconds,
        }
    }

    /// How many health checks the hold makes.
    pub fn checks(self) -> u64 {
        if self.interval_seconds == 0 {
            return 0;
        }
        self.remaining_seconds.div_ceil(self.interval_seconds)
    }
}

/// One traffic step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanStep {
    /// Position in the plan, from 0.
    pub index: usize,
    /// Seconds after the first shift at which this step shifts (gates taken as instant).
    pub at_seconds: u64,
    /// Share of traffic on the new version, 0 < w ≤ 100.
    #[serde(serialize_with = "serialize_percent")]
    pub weight_percent: f64,
    /// Seconds this weight is held, with health checks, before the next step.
    pub pause_seconds: u64,
    /// A gate before shifting to this step.
    pub gate: Option<Gate>,
    /// Whether the gate is an approval (the state machine's Choice reads this).
    pub approval: bool,
    /// This step's own hook (name or ARN), run before it shifts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<String>,
    /// The first watch of this step's hold.
    pub watch: Watch,
}

/// The validated schedule of a deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Steps in order; the last one is always 100 %.
    pub steps: Vec<PlanStep>,
    /// Seconds to hold 100 % with health checks before finalizing.
    pub bake_seconds: u64,
    /// Seconds between health checks.
    pub health_check_interval_seconds: u64,
    /// Seconds from the first shift to the end of the bake, gates taken as instant.
    pub total_seconds: u64,
    /// Step Functions state transitions the happy path costs.
    pub state_transitions: u64,
    /// Execution history events the happy path writes (limit 25,000).
    pub history_events: u64,
}

/// Why a plan cannot be made. One line a person can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

fn serialize_percent<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        serializer.serialize_i64(*value as i64)
    } else {
        serializer.serialize_f64(*value)
    }
}

/// Whole seconds of a duration a request gives in minutes: the one checked
/// conversion every minutes field goes through. `what` names the field in the
/// error. Refuses what is not finite, negative, 0 unless `allow_zero`, under a
/// second, or longer than a Standard workflow can run (1 year), so no later
/// arithmetic on the result can overflow.
pub fn minutes_to_seconds(what: &str, minutes: f64, allow_zero: bool) -> Result<u64, PlanError> {
    if !minutes.is_finite() || minutes < 0.0 || (!allow_zero && minutes <= 0.0) {
        let bound = if allow_zero {
            "0 or more"
        } else {
            "greater than 0"
        };
        return Err(PlanError(format!(
            "{what} must be {bound} minutes, got {minutes}"
        )));
    }
    let seconds = (minutes * 60.0).round();
    if !allow_zero && seconds < 1.0 {
        return Err(PlanError(format!(
            "{what} must be at least 1 second, got {minutes} minutes"
        )));
    }
    if seconds > MAX_EXECUTION_SECONDS as f64 {
        return Err(PlanError(format!(
            "{what} of {minutes} minutes is longer than a Standard workflow can run (1 year)"
        )));
    }
    Ok(seconds as u64)
}

fn check_percent(what: &str, percent: f64, max_inclusive: bool) -> Result<(), PlanError> {
    let in_range = percent.is_finite()
        && percent > 0.0
        && if max_inclusive {
            percent <= 100.0
        } else {
            percent < 100.0
        };
    if in_range {
        Ok(())
    } else {
        let upper = if max_inclusive {
            "at most 100"
        } else {
            "below 100"
        };
        Err(PlanError(format!(
            "{what} must be greater than 0 and {upper} percent, got {percent}"
        )))
    }
}

/// Raw step before placement: weight, hold, gate, hook.
struct RawStep {
    weight: f64,
    pause: u64,
    approval: bool,
    hook: Option<String>,
}

fn raw_steps(strategy: &Strategy) -> Result<Vec<RawStep>, PlanError> {
    let plain = |weight: f64, pause: u64| RawStep {
        weight,
        pause,
        approval: false,
        hook: None,
    };
    match strategy {
        Strategy::AllAtOnce => Ok(vec![plain(100.0, 0)]),
        Strategy::Canary {
            percent,
            interval_minutes,
        } => {
            check_percent("canary percent", *percent, false)?;
            let interval = minutes_to_seconds("canary intervalMinutes", *interval_minutes, false)?;
            Ok(vec![plain(*percent, interval), plain(100.0, 0)])
        }
        Strategy::Linear {
            percent,
            interval_minutes,
        } => {
            check_percent("linear percent", *percent, true)?;
            let interval = minutes_to_seconds("linear intervalMinutes", *interval_minutes, false)?;
            let increments = (100.0 / percent).ceil() as usize;
            Ok((1..=increments)
                .map(|k| {
                    let weight = (k as f64 * percent).min(100.0);
                    let pause = if k == increments { 0 } else { interval };
                    plain(weight, pause)
                })
                .collect())
        }
        Strategy::Steps { steps } => explicit_steps(steps),
    }
}

fn explicit_steps(steps: &[StepSpec]) -> Result<Vec<RawStep>, PlanError> {
    if steps.is_empty() {
        return Err(PlanError(
            "an explicit step list needs at least one step".to_string(),
        ));
    }
    let mut raw = Vec::with_capacity(steps.len() + 1);
    let mut previous = 0.0;
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        check_percent(
            &format!("step {n} weightPercent"),
            step.weight_percent,
            true,
        )?;
        if step.weight_percent <= previous {
            return Err(PlanError(format!(
                "step weights must increase: step {n} has {} % after {previous} %",
                step.weight_percent
            )));
        }
        previous = step.weight_percent;
        let pause =
            minutes_to_seconds(&format!("step {n} pauseMinutes"), step.pause_minutes, true)?;
        if let Some(hook) = &step.hook {
            if hook.trim().is_empty() {
                return Err(PlanError(format!("step {n} hook is empty")));
            }
        }
        raw.push(RawStep {
            weight: step.weight_percent,
            pause,
            approval: step.approval,
            hook: step.hook.clone(),
        });
    }
    if previous < 100.0 {
        raw.push(RawStep {
            weight: 100.0,
            pause: 0,
            approval: false,
            hook: None,
        });
    }
    Ok(raw)
}

/// Turn a strategy into a validated plan.
pub fn build(strategy: &Strategy, options: &PlanOptions) -> Result<Plan, PlanError> {
    let interval = options.health_check_interval_seconds;
    if interval == 0 {
        return Err(PlanError(
            "healthCheckIntervalSeconds must be at least 1".to_string(),
        ));
    }
    let mut raw = raw_steps(strategy)?;
    let last = raw.len() - 1;
    raw[0].approval |= options.gates.before_first_shift;
    if options.gates.after_canary && raw.len() > 1 {
        raw[1].approval = true;
    }
    raw[last].approval |= options.gates.before_promotion;

    let mut at = 0u64;
    let mut steps = Vec::with_capacity(raw.len());
    for (index, step) in raw.into_iter().enumerate() {
        steps.push(PlanStep {
            index,
            at_seconds: at,
            weight_percent: step.weight,
            pause_seconds: step.pause,
            gate: step.approval.then_some(Gate::Approval),
            approval: step.approval,
            hook: step.hook,
            watch: Watch::start(step.pause, interval),
        });
        at += step.pause;
    }
    let total_seconds = at + options.bake_seconds;
    let gates = steps.iter().filter(|s| s.approval).count() as u64;
    let longest = total_seconds + gates * options.gates.timeout_seconds;
    if longest > MAX_EXECUTION_SECONDS {
        return Err(PlanError(format!(
            "the schedule can run {} days (steps, bake and approval waits), longer than a Standard workflow's 365 days",
            longest / 86_400
        )));
    }
    let mut plan = Plan {
        steps,
        bake_seconds: options.bake_seconds,
        health_check_interval_seconds: interval,
        total_seconds,
        state_transitions: 0,
        history_events: 0,
    };
    let cost = cost::happy_path(&plan);
    plan.state_transitions = cost.state_transitions;
    plan.history_events = cost.history_events;
    if plan.history_events > MAX_HISTORY_EVENTS {
        return Err(PlanError(format!(
            "the schedule needs about {} execution history events, more than the 25,000 a Standard workflow keeps: use fewer steps or a longer healthCheckIntervalSeconds (now {interval})",
            plan.history_events
        )));
    }
    Ok(plan)
}

pub mod cost {
    //! What the happy path of `state-machines/deployment.asl.json` costs.
    //!
    //! The counts mirror the definition state by state; a test runs the
    //! definition in the local interpreter and compares.

    use super::{Plan, Watch};

    /// State transitions and history events of one execution.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Cost {
        /// States entered (each is one billed transition).
        pub state_transitions: u64,
        /// Events written to the execution history.
        pub history_events: u64,
    }

    impl Cost {
        fn add(&mut self, transitions: u64, events: u64) {
            self.state_transitions += transitions;
            self.history_events += events;
        }
    }

    /// Events of a Lambda task: entered, scheduled, started, succeeded, exited.
    const LAMBDA_TASK_EVENTS: u64 = 5;
    /// Events of a `.waitForTaskToken` task: entered, scheduled, started, submitted,
    /// succeeded (or timed out), exited.
    const CALLBACK_TASK_EVENTS: u64 = 6;
    /// Events of a Choice, Wait, Pass or Succeed state: entered, exited.
    const FLOW_STATE_EVENTS: u64 = 2;
    /// Events of a Map state itself: entered, started, succeeded, exited.
    const MAP_EVENTS: u64 = 4;
    /// Events per Map iteration: started, succeeded.
    const MAP_ITERATION_EVENTS: u64 = 2;
    /// Execution started and succeeded.
    const EXECUTION_EVENTS: u64 = 2;

    fn watch_loop(cost: &mut Cost, watch: Watch) {
        // Watching/Baking choice once, then per check: the wait (an
        // operator-wait callback task that times out), CheckHealth, the choice.
        cost.add(1, FLOW_STATE_EVENTS);
        let checks = watch.checks();
        cost.add(
            checks * 3,
            checks * (CALLBACK_TASK_EVENTS + LAMBDA_TASK_EVENTS + FLOW_STATE_EVENTS),
        );
    }

    /// The cost of running `plan` to success with every gate approved at once.
    pub fn happy_path(plan: &Plan) -> Cost {
        let mut cost = Cost {
            state_transitions: 0,
            history_events: EXECUTION_EVENTS,
        };
        // Prepare, BeforeAllowTraffic.
        cost.add(2, 2 * LAMBDA_TASK_EVENTS);
        // ShiftInSteps.
        cost.add(1, MAP_EVENTS);
        for step in &plan.steps {
            cost.add(0, MAP_ITERATION_EVENTS);
            // ApprovalGate.
            cost.add(1, FLOW_STATE_EVENTS);
            if step.approval {
                // RequestApproval, ApprovalDecision.
                cost.add(2, CALLBACK_TASK_EVENTS + FLOW_STATE_EVENTS);
            }
            // BeforeStep, ShiftTraffic.
            cost.add(2, 2 * LAMBDA_TASK_EVENTS);
            watch_loop(&mut cost, step.watch);
            // StepDone.
            cost.add(1, FLOW_STATE_EVENTS);
        }
        // AfterAllowTraffic.
        cost.add(1, LAMBDA_TASK_EVENTS);
        watch_loop(
            &mut cost,
            Watch::start(plan.bake_seconds, plan.health_check_interval_seconds),
        );
        // Finalize, DeploymentSucceeded.
        cost.add(2, LAMBDA_TASK_EVENTS + FLOW_STATE_EVENTS);
        cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::{by_name, PredefinedKind, PREDEFINED};

    fn weights(plan: &Plan) -> Vec<f64> {
        plan.steps.iter().map(|s| s.weight_percent).collect()
    }

    fn times(plan: &Plan) -> Vec<u64> {
        plan.steps.iter().map(|s| s.at_seconds).collect()
    }

    #[test]
    fn linear_10_every_3_minutes_has_ten_steps_180_seconds_apart() {
        let plan = build(
            &by_name("Linear10PercentEvery3Minutes").unwrap(),
            &PlanOptions::default(),
        )
        .unwrap();
        assert_eq!(
            weights(&plan),
            (1..=10).map(|k| f64::from(k * 10)).collect::<Vec<_>>()
        );
        assert_eq!(times(&plan), (0..10).map(|k| k * 180).collect::<Vec<_>>());
        assert_eq!(plan.total_seconds, 1620);
    }

    #[test]
    fn canary_10_percent_30_minutes() {
        let plan = build(
            &by_name("Canary10Percent30Minutes").unwrap(),
            &PlanOptions::default(),
        )
        .unwrap();
        assert_eq!(weights(&plan), vec![10.0, 100.0]);
        assert_eq!(times(&plan), vec![0, 1800]);
        assert_eq!(plan.total_seconds, 1800);
    }

    #[test]
    fn every_predefined_configuration_plans_as_codedeploy_runs_it() {
        for p in PREDEFINED {
            let plan = build(&p.strategy(), &PlanOptions::default()).unwrap();
            match p.kind {
                PredefinedKind::Canary(percent, minutes) => {
                    assert_eq!(
                        weights(&plan),
                        vec![f64::from(percent), 100.0],
                        "{}",
                        p.sam_name
                    );
                    assert_eq!(
                        times(&plan),
                        vec![0, u64::from(minutes) * 60],
                        "{}",
                        p.sam_name
                    );
                }
                PredefinedKind::Linear(percent, minutes) => {
                    let n = 100 / percent;
                    assert_eq!(plan.steps.len() as u32, n, "{}", p.sam_name);
                    for (k, step) in plan.steps.iter().enumerate() {
                        assert_eq!(step.weight_percent, f64::from((k as u32 + 1) * percent));
                        assert_eq!(step.at_seconds, k as u64 * u64::from(minutes) * 60);
                    }
                }
                PredefinedKind::AllAtOnce => {
                    assert_eq!(weights(&plan), vec![100.0]);
                    assert_eq!(plan.total_seconds, 0);
                }
            }
            assert_eq!(plan.steps.last().unwrap().weight_percent, 100.0);
        }
    }

    #[test]
    fn linear_increments_are_capped_at_100() {
        let strategy = Strategy::Linear {
            percent: 30.0,
            interval_minutes: 1.0,
        };
        let plan = build(&strategy, &PlanOptions::default()).unwrap();
        assert_eq!(weights(&plan), vec![30.0, 60.0, 90.0, 100.0]);
        assert_eq!(times(&plan), vec![0, 60, 120, 180]);
    }

    #[test]
    fn explicit_steps_get_a_final_promotion_and_keep_gates_and_hooks() {
        let strategy: Strategy = serde_json::from_str(
            r#"{"type":"steps","steps":[
                {"weightPercent":1,"pauseMinutes":2,"hook":"warm-cache"},
                {"weightPercent":50,"pauseMinutes":0.5,"approval":true}]}"#,
        )
        .unwrap();
        let plan = build(
            &strategy,
            &PlanOptions {
                bake_seconds: 300,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(weights(&plan), vec![1.0, 50.0, 100.0]);
        assert_eq!(times(&plan), vec![0, 120, 150]);
        assert_eq!(plan.steps[0].hook.as_deref(), Some("warm-cache"));
        assert_eq!(plan.steps[1].gate, Some(Gate::Approval));
        assert_eq!(plan.total_seconds, 450);
    }

    #[test]
    fn gate_placement_marks_the_right_steps() {
        let options = PlanOptions {
            gates: GatePlacement {
                before_first_shift: true,
                after_canary: true,
                before_promotion: false,
                timeout_seconds: 60,
            },
            ..Default::default()
        };
        let plan = build(&by_name("Linear10PercentEvery1Minute").unwrap(), &options).unwrap();
        let gated: Vec<usize> = plan
            .steps
            .iter()
            .filter(|s| s.approval)
            .map(|s| s.index)
            .collect();
        assert_eq!(gated, vec![0, 1]);
        let options = PlanOptions {
            gates: GatePlacement {
                before_promotion: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let plan = build(&by_name("Canary10Percent5Minutes").unwrap(), &options).unwrap();
        assert!(!plan.steps[0].approval && plan.steps[1].approval);
    }

    #[test]
    fn invalid_strategies_are_refused_with_one_line_reasons() {
        let cases = [
            (
                Strategy::Linear {
                    percent: 0.0,
                    interval_minutes: 1.0,
                },
                "linear percent must be greater than 0",
            ),
            (
                Strategy::Linear {
                    percent: 120.0,
                    interval_minutes: 1.0,
                },
                "linear percent must be greater than 0 and at most 100",
            ),
            (
                Strategy::Canary {
                    percent: 100.0,
                    interval_minutes: 5.0,
                },
                "canary percent must be greater than 0 and below 100",
            ),
            (
                Strategy::Canary {
                    percent: 10.0,
                    interval_minutes: 0.0,
                },
                "canary intervalMinutes must be greater than 0",
            ),
            (
                Strategy::Linear {
                    percent: 10.0,
                    interval_minutes: -3.0,
                },
                "linear intervalMinutes must be greater than 0",
            ),
            (Strategy::Steps { steps: vec![] }, "at least one step"),
        ];
        for (strategy, reason) in cases {
            let err = build(&strategy, &PlanOptions::default()).unwrap_err().0;
            assert!(err.contains(reason), "{err} should contain {reason}");
            assert!(!err.contains('\n'));
        }
        let decreasing: Strategy = serde_json::from_str(
            r#"{"type":"steps","steps":[{"weightPercent":20},{"weightPercent":10}]}"#,
        )
        .unwrap();
        assert!(build(&decreasing, &PlanOptions::default())
            .unwrap_err()
            .0
            .contains("must increase"));
    }

    #[test]
    fn schedules_beyond_standard_workflow_limits_are_refused() {
        let too_long = Strategy::Canary {
            percent: 10.0,
            interval_minutes: 400.0 * 24.0 * 60.0,
        };
        assert!(build(&too_long, &PlanOptions::default())
            .unwrap_err()
            .0
            .contains("longer than"));
        // 100 steps held an hour each, checked every minute: ~6,000 checks.
        let too_many_events = Strategy::Linear {
            percent: 1.0,
            interval_minutes: 60.0,
        };
        let err = build(&too_many_events, &PlanOptions::default())
            .unwrap_err()
            .0;
        assert!(err.contains("25,000"), "{err}");
        // The same schedule checked every 10 minutes fits.
        let sparse = PlanOptions {
            health_check_interval_seconds: 600,
            ..Default::default()
        };
        assert!(build(&too_many_events, &sparse).is_ok());
        // Approval waits count towards the one-year limit.
        let gated = PlanOptions {
            gates: GatePlacement {
                before_first_shift: true,
                before_promotion: true,
                timeout_seconds: 200 * 86_400,
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(build(&by_name("Canary10Percent5Minutes").unwrap(), &gated)
            .unwrap_err()
            .0
            .contains("365 days"));
    }

    #[test]
    fn watch_counts_checks_and_advances_to_zero() {
        let mut watch = Watch::start(150, 60);
        assert_eq!(watch.checks(), 3);
        let mut waits = vec![];
        while watch.remaining_seconds > 0 {
            waits.push(watch.wait_seconds);
            watch = watch.advance();
        }
        assert_eq!(waits, vec![60, 60, 30]);
    }

    #[test]
    fn json_weights_are_whole_numbers_when_whole() {
        let plan = build(&Strategy::AllAtOnce, &PlanOptions::default()).unwrap();
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["steps"][0]["weightPercent"], serde_json::json!(100));
        assert_eq!(json["totalSeconds"], serde_json::json!(0));
        assert!(json["stateTransitions"].as_u64().unwrap() > 0);
    }
}
