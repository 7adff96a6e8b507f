//! A test harness: handlers wired to in-memory adapters and a simulated fleet.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use chrono::{TimeZone, Utc};

use crate::adapters::memory::{
    ManualClock, MemoryStore, RecordingCallback, RecordingNotifier, SimulatedFleet,
};
use crate::contracts::{PrepareInput, PrepareOutput};
use crate::error::HandlerError;
use crate::ports::{Services, Settings};

pub const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:shiftgate";

pub struct Harness {
    pub services: Services,
    pub store: Arc<MemoryStore>,
    pub fleet: SimulatedFleet,
    pub notifier: Arc<RecordingNotifier>,
    pub callback: Arc<RecordingCallback>,
    pub clock: Arc<ManualClock>,
    executions: AtomicU32,
}

/// A request for checkout:live, version 7 → 8, with the given strategy.
pub fn request_json(strategy: &str) -> serde_json::Value {
    serde_json::json!({
        "target": {"functionName": "checkout", "alias": "live", "targetVersion": "8"},
        "strategy": strategy,
    })
}

impl Harness {
    /// checkout with versions 1–8, alias live on 7.
    pub fn new() -> Self {
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
        ));
        let fleet = SimulatedFleet::new(clock.clone());
        fleet.add_function("checkout", 8, "live", "7");
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
            clock: clock.clone(),
            settings: Settings {
                default_notify_topic_arn: Some(TOPIC.into()),
                approval_base_url: Some("https://approve.example.invalid/".into()),
            },
        };
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

    /// Run `prepare` as a new execution would.
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
}
