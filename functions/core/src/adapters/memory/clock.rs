//! [`ManualClock`]: the time, moved by hand.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use super::locked;
use crate::ports::Clock;

/// A clock tests and local runs move by hand.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Move the clock forward.
    pub fn advance(&self, by: Duration) {
        *locked(&self.now) += by;
    }

    /// Set the clock.
    pub fn set(&self, to: DateTime<Utc>) {
        *locked(&self.now) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *locked(&self.now)
    }
}
