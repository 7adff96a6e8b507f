//! [`InterleavingStore`]: a store that yields to the scheduler around every
//! call, so concurrent tasks really interleave their reads and conditional
//! writes, as racing Lambdas or racing clicks would.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;

use crate::adapters::memory::MemoryStore;
use crate::ports::{ObjectStore, PortError, Services, StoredObject, WriteCondition};

/// An [`ObjectStore`] over a [`MemoryStore`] that yields before and after each
/// call and counts the conditional writes that lost (to show a race happened).
#[derive(Debug)]
pub struct InterleavingStore {
    inner: Arc<MemoryStore>,
    conflicts: AtomicUsize,
}

impl InterleavingStore {
    /// Interleave the calls made to `inner`.
    pub fn new(inner: Arc<MemoryStore>) -> Self {
        Self {
            inner,
            conflicts: AtomicUsize::new(0),
        }
    }

    /// `services` with its store replaced by one interleaving the calls made to
    /// `inner` (the store the test reads back), and that store.
    pub fn around(services: &Services, inner: Arc<MemoryStore>) -> (Services, Arc<Self>) {
        let store = Arc::new(Self::new(inner));
        let mut services = services.clone();
        services.store = store.clone();
        (services, store)
    }

    /// How many conditional writes or deletes lost so far.
    pub fn conflicts(&self) -> usize {
        self.conflicts.load(Ordering::SeqCst)
    }

    fn count<T>(&self, result: Result<T, PortError>) -> Result<T, PortError> {
        if matches!(result, Err(PortError::Conflict(_))) {
            self.conflicts.fetch_add(1, Ordering::SeqCst);
        }
        result
    }
}

#[async_trait]
impl ObjectStore for InterleavingStore {
    async fn get(&self, key: &str) -> Result<Option<StoredObject>, PortError> {
        tokio::task::yield_now().await;
        let object = self.inner.get(key).await;
        tokio::task::yield_now().await;
        object
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        condition: WriteCondition,
    ) -> Result<String, PortError> {
        tokio::task::yield_now().await;
        let result = self.inner.put(key, body, condition).await;
        self.count(result)
    }

    async fn delete(&self, key: &str, if_match: Option<&str>) -> Result<(), PortError> {
        tokio::task::yield_now().await;
        let result = self.inner.delete(key, if_match).await;
        self.count(result)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, PortError> {
        self.inner.list(prefix).await
    }
}
