//! Time for the interpreter: Wait states, Retry intervals, timeouts and
//! heartbeats all go through a [`Clock`], so `shiftgate local run` can play a
//! deployment that takes an hour in two minutes, and tests run on tokio's paused
//! clock without sleeping for real.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// The interpreter's source of "now" and of sleeping, both in workflow (virtual) time.
#[async_trait]
pub trait Clock: Send + Sync {
    /// The current virtual time (what `$$.State.EnteredTime` reports).
    fn now(&self) -> DateTime<Utc>;
    /// Sleeps for `duration` of virtual time.
    async fn sleep(&self, duration: Duration);
    /// Sleeps until the virtual time reaches `deadline` (returns at once if it has).
    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        if let Ok(remaining) = (deadline - self.now()).to_std() {
            self.sleep(remaining).await;
        }
    }
}

/// Virtual time that runs `speed` times faster than tokio's clock.
///
/// It is built on `tokio::time`, so under `#[tokio::test(start_paused = true)]`
/// it advances instantly and deterministically.
#[derive(Debug, Clone)]
pub struct ScaledClock {
    speed: f64,
    origin_instant: tokio::time::Instant,
    origin_time: DateTime<Utc>,
}

impl ScaledClock {
    /// A clock starting at the current wall-clock time and running `speed` times faster.
    ///
    /// # Panics
    /// If `speed` is not a finite number greater than zero.
    pub fn new(speed: f64) -> Self {
        Self::starting_at(speed, Utc::now())
    }

    /// A clock whose virtual time starts at `origin` (useful for reproducible tests).
    ///
    /// # Panics
    /// If `speed` is not a finite number greater than zero.
    pub fn starting_at(speed: f64, origin: DateTime<Utc>) -> Self {
        assert!(
            speed.is_finite() && speed > 0.0,
            "clock speed must be a positive number, got {speed}"
        );
        Self {
            speed,
            origin_instant: tokio::time::Instant::now(),
            origin_time: origin,
        }
    }

    /// How many times faster than real time this clock runs.
    pub fn speed(&self) -> f64 {
        self.speed
    }
}

#[async_trait]
impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        let real = self.origin_instant.elapsed();
        let virtual_elapsed = real.mul_f64(self.speed);
        self.origin_time
            + chrono::Duration::from_std(virtual_elapsed).unwrap_or(chrono::Duration::MAX)
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration.div_f64(self.speed)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn virtual_time_runs_faster_than_tokio_time() {
        // GIVEN a clock 30 times faster than real time
        let clock = ScaledClock::starting_at(30.0, DateTime::UNIX_EPOCH);
        let real_start = tokio::time::Instant::now();
        // WHEN it sleeps for one virtual minute
        clock.sleep(Duration::from_secs(60)).await;
        // THEN two real seconds passed and the virtual clock moved by a minute
        assert_eq!(real_start.elapsed(), Duration::from_secs(2));
        assert_eq!((clock.now() - DateTime::UNIX_EPOCH).num_seconds(), 60);
    }
}
