//! `shiftgate`: plan, run locally, and operate deployments. This file only
//! parses the command line and dispatches to [`shiftgate_cli::commands`].

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use shiftgate_cli::commands::decide::DecideArgs;
use shiftgate_cli::commands::deploy::DeployArgs;
use shiftgate_cli::commands::history::HistoryArgs;
use shiftgate_cli::commands::operate::{AbortArgs, HoldArgs, PromoteArgs};
use shiftgate_cli::commands::plan::{self, PlanArgs};
use shiftgate_cli::commands::status::StatusArgs;
use shiftgate_cli::commands::{decide, deploy, history, operate, status};
use shiftgate_cli::local::{self, LocalRunArgs};
use shiftgate_core::operator::Command as OperatorCommand;

/// shiftgate moves a Lambda alias to a new version in safe steps.
#[derive(Debug, Parser)]
#[command(name = "shiftgate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the schedule a strategy makes.
    Plan(PlanArgs),
    /// Run deployments on this machine, with no AWS account.
    #[command(subcommand)]
    Local(LocalCommand),
    /// Show a deployment: where it stands, its timeline and every approval decision.
    Status(StatusArgs),
    /// List the deployments of an alias, oldest first.
    History(HistoryArgs),
    /// Approve a deployment's open approval gate as yourself (IAM identity, or local user).
    Approve(DecideArgs),
    /// Reject a deployment's open approval gate as yourself; it rolls back.
    Reject(DecideArgs),
    /// Roll a deployment in flight back now.
    Abort(AbortArgs),
    /// Keep a deployment at its current weight (health still watched) until resumed.
    Hold(HoldArgs),
    /// Let a held deployment go on.
    Resume(HoldArgs),
    /// End the current step's wait now; with --full, move all traffic now.
    Promote(PromoteArgs),
    /// Start a deployment on AWS (validated here first).
    Deploy(DeployArgs),
}

#[derive(Debug, Subcommand)]
enum LocalCommand {
    /// Run a whole deployment: the real state machine and handlers against local stand-ins.
    Run(LocalRunArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Local(LocalCommand::Run(args)) => local_run(args),
        Command::Plan(args) => plan_command(&args),
        Command::Status(args) => report(block_on(status::run(&args))),
        Command::History(args) => report(block_on(history::run(&args))),
        Command::Approve(args) => report(block_on(decide::run(args, true))),
        Command::Reject(args) => report(block_on(decide::run(args, false))),
        Command::Deploy(args) => report(block_on(deploy::run(&args))),
        Command::Abort(args) => report(block_on(operate::run(
            &args.deployment_id,
            &args.source,
            OperatorCommand::Abort {
                reason: args.reason.clone(),
            },
        ))),
        Command::Hold(args) => report(block_on(operate::run(
            &args.deployment_id,
            &args.source,
            OperatorCommand::Hold,
        ))),
        Command::Resume(args) => report(block_on(operate::run(
            &args.deployment_id,
            &args.source,
            OperatorCommand::Resume,
        ))),
        Command::Promote(args) => report(block_on(operate::run(
            &args.deployment_id,
            &args.source,
            OperatorCommand::Promote { full: args.full },
        ))),
    }
}

fn plan_command(args: &PlanArgs) -> ExitCode {
    match plan::make_plan(args) {
        Ok(plan) if args.json => {
            println!("{}", json_line(&plan));
            ExitCode::SUCCESS
        }
        Ok(plan) => {
            print!("{}", plan::render(&plan));
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("shiftgate plan: {reason:#}");
            ExitCode::from(2)
        }
    }
}

fn local_run(args: LocalRunArgs) -> ExitCode {
    let json = args.json;
    match block_on(local::run(args)) {
        Ok(summary) => {
            if json {
                println!("{}", json_line(&summary));
            } else {
                println!("{}", local::render_summary(&summary));
            }
            ExitCode::from(summary.status.exit_code())
        }
        Err(error) => {
            eprintln!("shiftgate local run: {error}");
            ExitCode::from(2)
        }
    }
}

/// One line of JSON. Plans and summaries are plain structs with string keys,
/// which serde_json always writes; should that ever change, the line says so.
fn json_line<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|e| serde_json::json!({"error": e.to_string()}).to_string())
}

// Without a runtime nothing can run: the panic message is all there is to say.
#[allow(clippy::expect_used)]
fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}

/// Prints a command's output, or its error as one line: what we were doing,
/// then why (`{:#}` joins anyhow's context chain with `: `).
fn report(result: anyhow::Result<String>) -> ExitCode {
    match result {
        Ok(text) => {
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("shiftgate: {error:#}");
            ExitCode::from(2)
        }
    }
}
