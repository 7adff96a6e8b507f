//! Errors: load-time definition errors ([`AslError`]), task errors raised by
//! handlers ([`TaskError`]), and the run-time failure that travels through
//! Retry/Catch ([`Failure`]), with the Step Functions error names it uses.

use std::fmt;

/// Step Functions' predefined error names that this interpreter raises or matches.
pub mod names {
    /// Wildcard matching every error except the terminal `States.Runtime`.
    pub const ALL: &str = "States.ALL";
    /// Wildcard matching every error except `States.Timeout` (and `States.Runtime`).
    pub const TASK_FAILED: &str = "States.TaskFailed";
    /// A task ran longer than `TimeoutSeconds`, or an execution longer than its own `TimeoutSeconds`.
    pub const TIMEOUT: &str = "States.Timeout";
    /// A callback task received no heartbeat within `HeartbeatSeconds`.
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    /// A Choice state matched no rule and has no `Default`.
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    /// A `.$` path in `Parameters`, `ItemSelector` or `ResultSelector` selected nothing.
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    /// `ResultPath` could not be applied to the state input.
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    /// An intrinsic function failed on its arguments.
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    /// Terminal error: neither retried nor caught, not even by `States.ALL`.
    pub const RUNTIME: &str = "States.Runtime";
}

/// A definition that the local interpreter refuses to load.
///
/// Every variant names where the problem is, so a user can fix the very file SAM deploys.
#[derive(Debug, thiserror::Error)]
pub enum AslError {
    /// The definition contains `${Name}` and no substitution was given for `Name`.
    #[error("definition substitution \"${{{name}}}\" has no value (known: {known})")]
    UnknownSubstitution {
        /// The name between `${` and `}`.
        name: String,
        /// Comma-separated names that were provided, to spot typos.
        known: String,
    },
    /// The definition is not JSON after substitution.
    #[error("definition is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A field is missing, mistyped, inconsistent or otherwise invalid.
    #[error("{}: field \"{field}\": {message}", scope(.state))]
    Invalid {
        /// The state name, or `None` for the top level of the state machine.
        state: Option<String>,
        /// The field, dotted for nested fields (`Retry[0].BackoffRate`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A valid Step Functions feature that the local interpreter does not implement.
    #[error("{}: field \"{field}\" is not supported by the local interpreter{}", scope(.state), with_detail(.detail))]
    Unsupported {
        /// The state name, or `None` for the top level of the state machine.
        state: Option<String>,
        /// The field that uses the feature.
        field: String,
        /// Extra precision (e.g. the refused value), may be empty.
        detail: String,
    },
}

fn scope(state: &Option<String>) -> String {
    match state {
        Some(name) => format!("state \"{name}\""),
        None => "state machine".to_string(),
    }
}

fn with_detail(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

/// An error raised by a [`crate::TaskHandler`], as a Lambda function would raise it.
///
/// `error` is what Retry/Catch `ErrorEquals` match (a Lambda function's `errorType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    /// The error name, e.g. `HealthCheckFailed` or `Lambda.ServiceException`.
    pub error: String,
    /// A human-readable cause (often JSON, as Lambda reports it).
    pub cause: String,
}

impl TaskError {
    /// Builds a task error from its name and cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// What Lambda answers for a function that does not exist.
    pub fn function_not_found(function_arn: &str) -> Self {
        Self::new(
            "Lambda.ResourceNotFoundException",
            format!("Function not found: {function_arn}"),
        )
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for TaskError {}

/// A run-time failure of a state: what Retry and Catch see, and what fails an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub error: String,
    pub cause: String,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// A terminal `States.Runtime` failure naming the state and what went wrong.
    pub fn runtime(state: &str, message: impl fmt::Display) -> Self {
        Self::new(
            names::RUNTIME,
            format!("An error occurred while executing the state '{state}': {message}"),
        )
    }

    /// Whether this failure can be retried or caught at all.
    pub fn is_terminal(&self) -> bool {
        self.error == names::RUNTIME
    }
}

impl From<TaskError> for Failure {
    fn from(e: TaskError) -> Self {
        Self::new(e.error, e.cause)
    }
}

/// Whether a Retrier's or Catcher's `ErrorEquals` list matches an error name.
pub(crate) fn error_matches(error_equals: &[String], error: &str) -> bool {
    if error == names::RUNTIME {
        // Terminal by the Step Functions documentation: no retrier or catcher applies.
        return false;
    }
    error_equals.iter().any(|name| {
        name == error
            || name == names::ALL
            || (name == names::TASK_FAILED && error != names::TIMEOUT)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_step_functions_rules() {
        let all = vec![names::ALL.to_string()];
        let task_failed = vec![names::TASK_FAILED.to_string()];
        assert!(error_matches(&all, "Boom"));
        assert!(error_matches(&all, names::TIMEOUT));
        assert!(!error_matches(&all, names::RUNTIME));
        assert!(error_matches(&task_failed, "Boom"));
        assert!(error_matches(&task_failed, names::HEARTBEAT_TIMEOUT));
        assert!(!error_matches(&task_failed, names::TIMEOUT));
        assert!(!error_matches(&["Other".to_string()], "Boom"));
    }
}
