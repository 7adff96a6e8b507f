//! An embedded Amazon States Language interpreter (JSONPath flavour).
//!
//! `shiftgate local run` executes the project's own
//! `state-machines/deployment.asl.json` — the very file SAM deploys — with
//! in-process task handlers and virtual time, so a deployment can be tried in
//! seconds without an AWS account. Faithfulness matters more than breadth: what
//! is supported follows AWS Step Functions semantics, and everything else is
//! refused when the definition is loaded, with an error naming the state and field.
//!
//! Layout:
//! - [`definition`](crate::StateMachine::from_json): substitution, parsing and validation;
//! - `interpreter`: the execution loop, Retry/Catch, Parallel, Map, Lambda tasks;
//! - `choice`, `template`, `intrinsic`, `path`: Choice rules, payload templates,
//!   intrinsic functions and JSONPath handling;
//! - [`Clock`]: virtual time for Wait states, retries and timeouts;
//! - [`Callbacks`]: task tokens for `waitForTaskToken` tasks;
//! - [`Observer`]: execution events;
//! - `testing` (feature `test-util`): helpers for tests that run definitions.
//!
//! Supported (JSONPath flavour): Task, Pass, Choice (every comparison
//! operator, `And`/`Or`/`Not`), Wait, Succeed, Fail, Parallel, inline Map;
//! `InputPath`, `Parameters`, `ItemSelector`, `ResultSelector`, `ResultPath`,
//! `OutputPath`; intrinsic functions `States.Format`, `StringToJson`,
//! `JsonToString`, `Array`, `ArrayGetItem`, `ArrayLength`, `ArrayContains`,
//! `ArrayRange`, `ArrayPartition`, `ArrayUnique`, `MathAdd`, `UUID`; Retry
//! (with `MaxDelaySeconds` and `JitterStrategy`), Catch, task and execution
//! `TimeoutSeconds`, `HeartbeatSeconds` (callback tasks only: a plain Lambda
//! cannot heartbeat); Lambda resources: function ARNs, `lambda:invoke` and
//! `lambda:invoke.waitForTaskToken`.
//!
//! Refused at load: JSONata, variables (`Assign`, `Arguments`, `Output`),
//! distributed Map features (`ItemReader`, `ResultWriter`, `ItemBatcher`,
//! tolerated failures, `Label`, DISTRIBUTED mode), `Credentials`, other
//! resources, other intrinsics, unknown state types and unknown fields.
//!
//! Run-time errors use Step Functions' names: `States.ParameterPathFailure`
//! (a `.$` path selects nothing), `States.IntrinsicFailure`,
//! `States.ResultPathMatchFailure`, `States.NoChoiceMatched`, `States.Timeout`,
//! `States.HeartbeatTimeout`, and the terminal `States.Runtime` (InputPath,
//! OutputPath, ItemsPath, Choice and Wait paths) which, as documented by AWS,
//! no Retry or Catch handles, not even `States.ALL`.
//!
//! ```no_run
//! # use std::{collections::BTreeMap, sync::Arc};
//! # use shiftgate_asl::*;
//! # async fn demo(handler: Arc<dyn TaskHandler>, definition: &str, subs: BTreeMap<String, String>) -> Result<(), AslError> {
//! let machine = StateMachine::from_json(definition, &subs)?;
//! let interpreter = Interpreter::new(machine, handler, Arc::new(ScaledClock::new(30.0)));
//! let approvals = interpreter.callbacks(); // give this to the approval server
//! let outcome = interpreter
//!     .execute(serde_json::json!({}), "local-1", Arc::new(NoopObserver))
//!     .await;
//! println!("{:?} after {} transitions", outcome.status, outcome.state_transitions);
//! # Ok(()) }
//! ```

mod callbacks;
mod choice;
mod clock;
mod definition;
mod error;
mod interpreter;
mod intrinsic;
mod observer;
mod path;
mod template;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use callbacks::{CallbackError, Callbacks};
pub use clock::{Clock, ScaledClock};
pub use error::{names as error_names, AslError, TaskError};
pub use interpreter::{
    ExecutionOutcome, ExecutionStatus, Interpreter, StateMachine, TaskContext, TaskHandler,
};
pub use observer::{EventKind, ExecutionEvent, NoopObserver, Observer, RecordingObserver};
