//! `shiftgate plan`: show the schedule a strategy makes (no AWS, no state).

use std::fmt::Write;

use shiftgate_core::plan::{
    self, GatePlacement, Plan, PlanOptions, DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS,
};
use shiftgate_core::strategy;

/// Options of `shiftgate plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// A strategy name (Canary10Percent5Minutes, CodeDeployDefault.LambdaLinear10PercentEvery1Minute,
    /// all-at-once) or a JSON object ({"type":"linear","percent":20,"intervalMinutes":2}).
    #[arg(long)]
    pub strategy: String,
    /// Minutes to hold 100 % with health checks.
    #[arg(long, default_value_t = 0.0)]
    pub bake_minutes: f64,
    /// Seconds between health checks while a weight is held.
    #[arg(long, default_value_t = DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS)]
    pub health_check_interval_seconds: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Compute the plan, or the one-line reason it cannot be made.
pub fn make_plan(args: &PlanArgs) -> anyhow::Result<Plan> {
    let strategy = strategy::parse(&args.strategy)?;
    let bake_seconds = plan::minutes_to_seconds("--bake-minutes", args.bake_minutes, true)?;
    let options = PlanOptions {
        bake_seconds,
        health_check_interval_seconds: args.health_check_interval_seconds,
        gates: GatePlacement::default(),
    };
    Ok(plan::build(&strategy, &options)?)
}

/// `1h02m03s`, `3m00s`, `45s`.
pub fn duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s:02}s"),
        _ => format!("{h}h{m:02}m{s:02}s"),
    }
}

/// The plan as a table a person reads.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "step         at   weight       hold  gate/hook");
    for step in &plan.steps {
        let mut notes = Vec::new();
        if step.approval {
            notes.push("approval".to_string());
        }
        if let Some(hook) = &step.hook {
            notes.push(format!("hook {hook}"));
        }
        let _ = writeln!(
            out,
            "{:>4}  {:>9}  {:>6} %  {:>9}  {}",
            step.index + 1,
            duration(step.at_seconds),
            step.weight_percent,
            duration(step.pause_seconds),
            notes.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "bake {} after 100 %, health checked every {} s",
        duration(plan.bake_seconds),
        plan.health_check_interval_seconds
    );
    let _ = writeln!(
        out,
        "total {} · {} state transitions (${:.4} at $0.025 per 1,000) · {} history events of 25,000",
        duration(plan.total_seconds),
        plan.state_transitions,
        plan.state_transitions as f64 * 0.025 / 1000.0,
        plan.history_events
    );
    out
}
