//! The catalogue of shiftgate's Lambda functions: one place that names each
//! binary, its SAM logical id and the state machine's substitution key.

/// A shiftgate Lambda function run by the deployment state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    /// Validate, lock, capture, plan, record, notify.
    Prepare,
    /// Smoke test and lifecycle hooks.
    RunHooks,
    /// Route a step's weight; promote at 100 %.
    ShiftTraffic,
    /// Alarms and error rate.
    CheckHealth,
    /// Record the end, release the lock, notify.
    Finalize,
    /// Restore the captured alias.
    Rollback,
    /// Open an approval gate (waitForTaskToken).
    RequestApproval,
    /// Register a wait (waitForTaskToken) that operator commands can end early.
    OperatorWait,
}

impl Function {
    /// Every function the state machine invokes.
    pub const ALL: [Function; 8] = [
        Function::Prepare,
        Function::RunHooks,
        Function::ShiftTraffic,
        Function::CheckHealth,
        Function::Finalize,
        Function::Rollback,
        Function::RequestApproval,
        Function::OperatorWait,
    ];

    /// The Cargo package and binary name (kebab-case).
    pub fn bin_name(self) -> &'static str {
        match self {
            Function::Prepare => "prepare",
            Function::RunHooks => "run-hooks",
            Function::ShiftTraffic => "shift-traffic",
            Function::CheckHealth => "check-health",
            Function::Finalize => "finalize",
            Function::Rollback => "rollback",
            Function::RequestApproval => "request-approval",
            Function::OperatorWait => "operator-wait",
        }
    }

    /// The SAM logical id (`shift-traffic` ↔ `ShiftTrafficFunction`).
    pub fn logical_id(self) -> String {
        let camel: String = self
            .bin_name()
            .split('-')
            .map(|part| {
                let mut chars = part.chars();
                chars.next().map_or_else(String::new, |c| {
                    c.to_ascii_uppercase().to_string() + chars.as_str()
                })
            })
            .collect();
        format!("{camel}Function")
    }

    /// The `DefinitionSubstitutions` key of its ARN (`ShiftTrafficFunctionArn`).
    pub fn substitution_key(self) -> String {
        format!("{}Arn", self.logical_id())
    }

    /// The function whose bin name, logical id or substitution key is `name`.
    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| {
            f.bin_name() == name || f.logical_id() == name || f.substitution_key() == name
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_house_convention() {
        assert_eq!(Function::ShiftTraffic.logical_id(), "ShiftTrafficFunction");
        assert_eq!(
            Function::RequestApproval.substitution_key(),
            "RequestApprovalFunctionArn"
        );
        for f in Function::ALL {
            assert_eq!(Function::from_name(f.bin_name()), Some(f));
            assert_eq!(Function::from_name(&f.substitution_key()), Some(f));
        }
    }
}
