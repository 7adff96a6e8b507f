//! `shiftgate`: plan, run locally, and operate deployments.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
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
