//! In-memory adapters: an object store, a simulated Lambda fleet (aliases with
//! weighted routing, hook functions, per-version metrics and alarms), a
//! recording notifier and workflow callback, and a manual clock.
//!
//! Handler tests use them directly; `shiftgate local` drives the fleet with a
//! traffic generator so health checks see real per-version counts.
//!
//! Layout:
//! - [`store`] holds [`MemoryStore`], S3's conditional writes in a map;
//! - [`clock`] holds [`ManualClock`];
//! - [`fleet`] holds [`SimulatedFleet`]: aliases, versions, hooks, metrics and alarms;
//! - [`recording`] holds [`RecordingNotifier`] and [`RecordingCallback`].

pub mod clock;
pub mod fleet;
pub mod recording;
pub mod store;

use std::sync::{Mutex, MutexGuard, PoisonError};

pub use clock::ManualClock;
pub use fleet::{Behaviour, ServedRequest, SimulatedFleet};
pub use recording::{Callback, RecordingCallback, RecordingNotifier};
pub use store::MemoryStore;

/// Lock `mutex`, also after another thread panicked while holding it: every
/// state here stays consistent between statements, so a poisoned lock (a test
/// that failed mid-call) must not turn every later call into a second panic.
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
