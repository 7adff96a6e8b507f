//! `shiftgate`: plan, run locally, and operate deployments.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use shiftgate_cli::local::{self, LocalRunArgs};
use shiftgate_cli::ops::{self, Source};
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
    /// Show a deployment: where it stands, its timeline and every approval decision.
    Status {
        /// The deployment id.
        deployment_id: String,
        #[command(flatten)]
        source: Source,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the deployments of an alias, oldest first.
    History {
        /// The function name.
        function: String,
        /// The alias.
        alias: String,
        #[command(flatten)]
        source: Source,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve a deployment's open approval gate as yourself (IAM identity).
    Approve(DecideArgs),
    /// Reject a deployment's open approval gate as yourself (IAM identity); it rolls back.
    Reject(DecideArgs),
    /// Start a deployment on AWS (validated here first).
    Deploy {
        /// The deployment request (JSON).
        request: std::path::PathBuf,
        /// The stack's state machine (output StateMachineArn).
        #[arg(long, env = "SHIFTGATE_STATE_MACHINE_ARN")]
        state_machine_arn: String,
    },
}

#[derive(Debug, clap::Args)]
struct DecideArgs {
    /// The deployment id.
    deployment_id: String,
    /// The stack's bucket (output BucketName).
    #[arg(long, env = "SHIFTGATE_BUCKET")]
    bucket: String,
    /// Why.
    #[arg(long)]
    comment: Option<String>,
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
        Command::Status {
            deployment_id,
            source,
            json,
        } => report(block_on(ops::status(&source, &deployment_id, json))),
        Command::History {
            function,
            alias,
            source,
            json,
        } => report(block_on(ops::history(&source, &function, &alias, json))),
        Command::Approve(a) => report(block_on(ops::decide(
            &a.bucket,
            &a.deployment_id,
            true,
            a.comment,
        ))),
        Command::Reject(a) => report(block_on(ops::decide(
            &a.bucket,
            &a.deployment_id,
            false,
            a.comment,
        ))),
        Command::Deploy {
            request,
            state_machine_arn,
        } => match std::fs::read_to_string(&request) {
            Ok(text) => report(block_on(ops::deploy(&text, &state_machine_arn))),
            Err(e) => report(Err(format!("cannot read {}: {e}", request.display()))),
        },
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

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}

fn report(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(text) => {
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("shiftgate: {error}");
            ExitCode::from(2)
        }
    }
}
