//! `shiftgate`: plan, run locally, and operate deployments.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use shiftgate_cli::local::{self, LocalRunArgs};
use shiftgate_cli::plan_cmd::{self, PlanArgs};

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
}

#[derive(Debug, Subcommand)]
enum LocalCommand {
    /// Run a whole deployment: the real state machine and handlers against local stand-ins.
    Run(LocalRunArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Local(LocalCommand::Run(args)) => local_run(args),
        Command::Plan(args) => match plan_cmd::make_plan(&args) {
            Ok(plan) if args.json => {
                println!("{}", serde_json::to_string(&plan).expect("plans serialize"));
                ExitCode::SUCCESS
            }
            Ok(plan) => {
                print!("{}", plan_cmd::render(&plan));
                ExitCode::SUCCESS
            }
            Err(reason) => {
                eprintln!("shiftgate plan: {reason}");
                ExitCode::from(2)
            }
        },
    }
}

fn local_run(args: LocalRunArgs) -> ExitCode {
    let json = args.json;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(local::run(args)) {
        Ok(summary) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&summary).expect("summaries serialize")
                );
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
