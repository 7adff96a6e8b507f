//! Local notifications: appended as JSON lines to `<state-dir>/notifications.log`
//! and handed to the live view (which prints them and acts on approval links).

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use shiftgate_core::ports::{Notification, Notifier, PortError};
use tokio::sync::mpsc::UnboundedSender;

use super::view::LocalEvent;

/// A [`Notifier`] for one machine: a log file and the terminal.
pub struct LocalNotifier {
    log: Mutex<std::fs::File>,
    events: UnboundedSender<LocalEvent>,
    count: Mutex<u64>,
}

impl LocalNotifier {
    /// Append to `path` and forward to `events`.
    pub fn new(path: PathBuf, events: UnboundedSender<LocalEvent>) -> std::io::Result<Self> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            log: Mutex::new(log),
            events,
            count: Mutex::new(0),
        })
    }
}

#[async_trait]
impl Notifier for LocalNotifier {
    async fn publish(&self, notification: &Notification) -> Result<String, PortError> {
        let line = serde_json::to_string(notification)
            .map_err(|e| PortError::Service(format!("notification did not serialize: {e}")))?;
        writeln!(
            self.log.lock().unwrap_or_else(PoisonError::into_inner),
            "{line}"
        )
        .map_err(|e| PortError::Service(format!("notification log: {e}")))?;
        let _ = self
            .events
            .send(LocalEvent::Notification(notification.clone()));
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        *count += 1;
        Ok(format!("local-{count}"))
    }
}
