//! The errors handlers raise, with the stable names a state machine's
//! `Retry`/`Catch` match on (never starting with `States.`).

use lambda_runtime::Diagnostic;

use crate::ports::PortError;
use crate::store::StoreError;

/// A handler failure. [`HandlerError::error_type`] is its name in Step Functions.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The request or the event is malformed or cannot be carried out; nothing changed.
    #[error("{0}")]
    InvalidRequest(String),
    /// Another deployment holds the alias.
    #[error("{function}:{alias} is being deployed by {holder}; wait for it to end or abort it")]
    DeploymentLocked {
        /// The function as the request named it.
        function: String,
        /// The alias the lock is for.
        alias: String,
        /// The deployment holding the lock.
        holder: String,
    },
    /// No such deployment.
    #[error("deployment {0} not found")]
    DeploymentNotFound(String),
    /// An alarm or the error rate says the new version is unhealthy.
    #[error("{0}")]
    HealthCheckFailed(String),
    /// A lifecycle hook failed or answered Failed.
    #[error("{0}")]
    HookFailed(String),
    /// The smoke test (one invocation of the new version) raised an error.
    #[error("{0}")]
    SmokeTestFailed(String),
    /// A conditional write kept losing to concurrent writers.
    #[error("{0}")]
    StoreConflict(String),
    /// An AWS service throttled us beyond our retries.
    #[error("{0}")]
    Throttled(String),
    /// An AWS service or the store failed.
    #[error("{0}")]
    DependencyFailed(String),
    /// An operator aborted the deployment (`shiftgate abort`): the workflow rolls back.
    #[error("{0}")]
    DeploymentAborted(String),
    /// An operator holds the deployment (`shiftgate hold`): traffic does not
    /// move until `shiftgate resume`; the workflow keeps checking health.
    #[error("{0}")]
    DeploymentHeld(String),
}

impl HandlerError {
    /// The error name Step Functions sees (`errorType`).
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::InvalidRequest(_) => "InvalidRequest",
            HandlerError::DeploymentLocked { .. } => "DeploymentLocked",
            HandlerError::DeploymentNotFound(_) => "DeploymentNotFound",
            HandlerError::HealthCheckFailed(_) => "HealthCheckFailed",
            HandlerError::HookFailed(_) => "HookFailed",
            HandlerError::SmokeTestFailed(_) => "SmokeTestFailed",
            HandlerError::StoreConflict(_) => "StoreConflict",
            HandlerError::Throttled(_) => "Throttled",
            HandlerError::DependencyFailed(_) => "DependencyFailed",
            HandlerError::DeploymentAborted(_) => "DeploymentAborted",
            HandlerError::DeploymentHeld(_) => "DeploymentHeld",
        }
    }

    /// Every error name a handler can raise, for documentation and tests.
    pub const ALL_TYPES: [&'static str; 11] = [
        "InvalidRequest",
        "DeploymentLocked",
        "DeploymentNotFound",
        "HealthCheckFailed",
        "HookFailed",
        "SmokeTestFailed",
        "StoreConflict",
        "Throttled",
        "DependencyFailed",
        "DeploymentAborted",
        "DeploymentHeld",
    ];
}

impl From<PortError> for HandlerError {
    fn from(error: PortError) -> Self {
        match error {
            PortError::Conflict(m) => HandlerError::StoreConflict(m),
            PortError::Throttled(m) => HandlerError::Throttled(m),
            PortError::NotFound(m) | PortError::Service(m) => HandlerError::DependencyFailed(m),
        }
    }
}

/// The error names the state machine raises itself, in its `Fail` states
/// (`state-machines/deployment.asl.json`); an execution that failed carries one
/// of them (or a [`HandlerError`] name) as its `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowError {
    /// Prepare refused the request; nothing changed.
    DeploymentRefused,
    /// A reviewer rejected the deployment at an approval gate.
    ApprovalRejected,
    /// Nobody decided an approval gate before it expired.
    ApprovalTimedOut,
    /// The deployment rolled back: the alias serves what it served before.
    DeploymentRolledBack,
    /// The rollback itself failed: the alias needs a person.
    RollbackFailed,
    /// An operator promoted the deployment to 100 % (`shiftgate promote
    /// --full`): raised inside the step loop to leave it, and caught at once.
    PromotedByOperator,
}

impl WorkflowError {
    /// Every name the state machine raises.
    pub const ALL: [WorkflowError; 6] = [
        WorkflowError::DeploymentRefused,
        WorkflowError::ApprovalRejected,
        WorkflowError::ApprovalTimedOut,
        WorkflowError::DeploymentRolledBack,
        WorkflowError::RollbackFailed,
        WorkflowError::PromotedByOperator,
    ];

    /// The `Error` of the `Fail` state.
    pub fn name(self) -> &'static str {
        match self {
            WorkflowError::DeploymentRefused => "DeploymentRefused",
            WorkflowError::ApprovalRejected => "ApprovalRejected",
            WorkflowError::ApprovalTimedOut => "ApprovalTimedOut",
            WorkflowError::DeploymentRolledBack => "DeploymentRolledBack",
            WorkflowError::RollbackFailed => "RollbackFailed",
            WorkflowError::PromotedByOperator => "PromotedByOperator",
        }
    }

    /// The workflow error named `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// The seam between storage and the Step Functions contract: the one place a
/// [`StoreError`] gets its workflow error name.
impl From<StoreError> for HandlerError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::KeptChanging { .. } => HandlerError::StoreConflict(error.to_string()),
            StoreError::Corrupt { .. } => HandlerError::DependencyFailed(error.to_string()),
            StoreError::IdTaken(_) => HandlerError::InvalidRequest(error.to_string()),
            StoreError::RecordNotFound(id) => HandlerError::DeploymentNotFound(id),
            StoreError::Locked {
                function,
                alias,
                holder,
            } => HandlerError::DeploymentLocked {
                function,
                alias,
                holder,
            },
            StoreError::Unavailable(port) => port.into(),
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Self {
        Diagnostic {
            error_type: error.error_type().to_string(),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_error_name_starts_with_states() {
        let workflow = WorkflowError::ALL.map(WorkflowError::name);
        for name in HandlerError::ALL_TYPES.iter().chain(&workflow) {
            assert!(!name.starts_with("States."), "{name}");
        }
        for error in WorkflowError::ALL {
            assert_eq!(WorkflowError::from_name(error.name()), Some(error));
            assert!(!HandlerError::ALL_TYPES.contains(&error.name()));
        }
        let diagnostic: Diagnostic = HandlerError::HookFailed("x".into()).into();
        assert_eq!(diagnostic.error_type, "HookFailed");
    }
}
