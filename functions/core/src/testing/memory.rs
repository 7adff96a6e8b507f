//! Every port in memory: [`MemoryServices`] for any test that needs
//! [`Services`], and [`Harness`], the scene the handler tests share.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use super::{issued_links, request_json, stack_settings, start, IssuedLink, APPROVAL_BASE_URL};
use crate::adapters::memory::{
    ManualClock, MemoryStore, RecordingCallback, RecordingNotifier, SimulatedFleet,
};
use crate::contracts::{PrepareInput, PrepareOutput, RequestApprovalInput};
use crate::error::HandlerError;
use crate::functions::Function;
use crate::ports::{Clock, Services, Settings};

/// [`Services`] wired to in-memory adapters, with a handle on each adapter so
/// a test can arrange the fleet and inspect what was stored, published and
/// called back.
///
/// `services` holds clones of the same handles: what a handler does through
/// it shows in `store`, `notifier` and `callback`.
#[derive(Clone)]
pub struct MemoryServices {
    /// Every port, ready to pass to a handler.
    pub services: Services,
    /// The bucket, as [`Services::store`].
    pub store: Arc<MemoryStore>,
    /// The functions and aliases, as [`Services::aliases`],
    /// [`Services::functions`] and [`Services::health`].
    pub fleet: SimulatedFleet,
    /// Every notification published, as [`Services::notifier`].
    pub notifier: Arc<RecordingNotifier>,
    /// Every task-token callback, as [`Services::workflow`].
    pub callback: Arc<RecordingCallback>,
}

impl MemoryServices {
    /// A builder: a manual clock at [`start`], default [`Settings`], no functions.
    ///
    /// ```ignore
    /// let memory = MemoryServices::builder().function("checkout", 8, "live", "7").build();
    /// ```
    pub fn builder() -> MemoryServicesBuilder {
        MemoryServicesBuilder {
            clock: Arc::new(ManualClock::new(start())),
            settings: Settings::default(),
            functions: Vec::new(),
        }
    }
}

/// How to build [`MemoryServices`]; from [`MemoryServices::builder`].
#[must_use]
pub struct MemoryServicesBuilder {
    clock: Arc<dyn Clock>,
    settings: Settings,
    functions: Vec<(String, u32, String, String)>,
}

impl MemoryServicesBuilder {
    /// Use `clock` (for the services and the fleet). Keep your own handle on a
    /// [`ManualClock`] to move it; pass [`crate::ports::SystemClock`] for the
    /// wall clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Use `settings` (see [`super::stack_settings`] for a topic and approval links).
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Add `function` with versions 1 to `latest` and `alias` on version `live`
    /// (as [`SimulatedFleet::add_function`]).
    pub fn function(mut self, function: &str, latest: u32, alias: &str, live: &str) -> Self {
        self.functions
            .push((function.into(), latest, alias.into(), live.into()));
        self
    }

    /// The services, with empty store, notifier and callback.
    pub fn build(self) -> MemoryServices {
        let fleet = SimulatedFleet::new(self.clock.clone());
        for (function, latest, alias, live) in &self.functions {
            fleet.add_function(function, *latest, alias, live);
        }
        let store = Arc::new(MemoryStore::new());
        let notifier = Arc::new(RecordingNotifier::default());
        let callback = Arc::new(RecordingCallback::default());
        let services = Services {
            store: store.clone(),
            aliases: Arc::new(fleet.clone()),
            functions: Arc::new(fleet.clone()),
            notifier: notifier.clone(),
            health: Arc::new(fleet.clone()),
            workflow: callback.clone(),
            clock: self.clock,
            settings: self.settings,
        };
        MemoryServices {
            services,
            store,
            fleet,
            notifier,
            callback,
        }
    }
}

/// The task token tests open gates with; it must never leave the backend.
pub const TASK_TOKEN: &str = "task-token-that-must-stay-in-the-backend";

/// The handlers' shared scene: [`MemoryServices`] with `checkout` (versions
/// 1–8, alias `live` on 7), [`stack_settings`], and a manual clock at
/// [`start`] that the test moves.
pub struct Harness {
    /// Every port, ready to pass to a handler.
    pub services: Services,
    /// The bucket.
    pub store: Arc<MemoryStore>,
    /// The functions and aliases.
    pub fleet: SimulatedFleet,
    /// Every notification published.
    pub notifier: Arc<RecordingNotifier>,
    /// Every task-token callback.
    pub callback: Arc<RecordingCallback>,
    /// The clock of `services` and `fleet`.
    pub clock: Arc<ManualClock>,
    executions: AtomicU32,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    /// checkout with versions 1–8, alias live on 7.
    pub fn new() -> Self {
        let clock = Arc::new(ManualClock::new(start()));
        let MemoryServices {
            services,
            store,
            fleet,
            notifier,
            callback,
        } = MemoryServices::builder()
            .clock(clock.clone())
            .settings(stack_settings())
            .function("checkout", 8, "live", "7")
            .build();
        Self {
            services,
            store,
            fleet,
            notifier,
            callback,
            clock,
            executions: AtomicU32::new(0),
        }
    }

    /// Run `prepare` as a new execution would (`exec-1`, `exec-2`, … of the
    /// `shiftgate` state machine).
    pub async fn prepare(&self, request: serde_json::Value) -> Result<PrepareOutput, HandlerError> {
        let n = self.executions.fetch_add(1, Ordering::SeqCst) + 1;
        crate::handlers::prepare(
            &self.services,
            PrepareInput {
                request,
                execution_id: Some(format!(
                    "arn:aws:states:us-east-1:123456789012:execution:shiftgate:exec-{n}"
                )),
            },
        )
        .await
    }

    /// A canary stopped at an `afterCanary` gate that `reviewers` decide
    /// (quorum 1, 30 minutes), opened with [`TASK_TOKEN`]: its deployment id.
    pub async fn gate_for(&self, reviewers: &[&str]) -> String {
        let approval = serde_json::json!({
            "gates": ["afterCanary"], "reviewers": reviewers, "timeoutMinutes": 30
        });
        match self.open_gate(approval, TASK_TOKEN).await {
            Ok((deployment_id, _)) => deployment_id,
            Err(error) => panic!("the gate did not open: {error}"),
        }
    }

    /// A canary of `checkout:live` 7 → 8 with `approval` (the request's
    /// `approval` object), prepared and stopped at its gate before step 1
    /// (100 %) with `task_token`: its deployment id and the links its reviewers
    /// were sent by this request.
    ///
    /// The gate opens through [`crate::handlers::dispatch`], as the
    /// `request-approval` Lambda would.
    pub async fn open_gate(
        &self,
        approval: serde_json::Value,
        task_token: &str,
    ) -> Result<(String, Vec<IssuedLink>), HandlerError> {
        let mut request = request_json("Canary10Percent5Minutes");
        request["approval"] = approval;
        let deployment_id = self.prepare(request).await?.deployment_id;
        let sent_before = self.notifier.published().len();
        let input = RequestApprovalInput {
            deployment_id: deployment_id.clone(),
            step_index: 1,
            weight_percent: 100.0,
            task_token: task_token.into(),
        };
        let input = serde_json::to_value(input).expect("the input serializes");
        crate::handlers::dispatch(Function::RequestApproval, &self.services, input).await?;
        let links = issued_links(&self.notifier.published()[sent_before..], APPROVAL_BASE_URL);
        Ok((deployment_id, links))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_gate_opens_with_one_link_per_reviewer() {
        // GIVEN the harness
        let h = Harness::new();
        // WHEN a gate for two reviewers opens
        let approval = serde_json::json!({
            "gates": ["beforePromotion"],
            "reviewers": ["ana@example.com", "bo@example.com"]
        });
        let (id, links) = h.open_gate(approval, "token").await.unwrap();
        // THEN each reviewer has a link to this deployment's approval page
        let reviewers: Vec<_> = links.iter().map(|l| l.reviewer.as_deref()).collect();
        assert_eq!(reviewers, [Some("ana@example.com"), Some("bo@example.com")]);
        for link in &links {
            assert!(
                link.path.starts_with(&format!("/approvals/{id}/")),
                "{link:?}"
            );
            assert_eq!(link.secret.len(), 64, "{link:?}");
        }
    }
}
