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
//! - [`Observer`]: execution events.
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

pub use callbacks::{CallbackError, Callbacks};
pub use clock::{Clock, ScaledClock};
pub use error::{names as error_names, AslError, TaskError};
pub use interpreter::{
    ExecutionOutcome, ExecutionStatus, Interpreter, StateMachine, TaskContext, TaskHandler,
};
pub use observer::{EventKind, ExecutionEvent, NoopObserver, Observer, RecordingObserver};
