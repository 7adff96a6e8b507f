//! A traffic generator: requests through the alias, by its weights, at a steady
//! rate of virtual time, so health checks see real per-version counts.

use std::sync::Arc;
use std::time::Duration;

use shiftgate_asl::Clock as AslClock;
use shiftgate_core::adapters::memory::SimulatedFleet;
use tokio::task::JoinHandle;

/// Send `per_second` requests per virtual second through `function:alias` until aborted.
pub fn start(
    fleet: SimulatedFleet,
    clock: Arc<dyn AslClock>,
    function: String,
    alias: String,
    per_second: f64,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let start = clock.now();
        let mut sent: u64 = 0;
        loop {
            let elapsed = (clock.now() - start).num_milliseconds().max(0) as f64 / 1000.0;
            let due = (elapsed * per_second) as u64;
            while sent < due {
                if fleet.serve(&function, &alias).is_err() {
                    return;
                }
                sent += 1;
            }
            // Real time between batches; the virtual rate is kept by `due`.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}
