//! [`MemoryStore`]: an [`ObjectStore`] in a map, with S3's conditional writes.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::locked;
use crate::adapters::content_etag as etag_of;
use crate::ports::{ObjectStore, PortError, StoredObject, WriteCondition};

/// An [`ObjectStore`] in memory with S3's conditional-write semantics.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key, for assertions.
    pub fn keys(&self) -> Vec<String> {
        locked(&self.objects).keys().cloned().collect()
    }
}

#[async_trait]
impl ObjectStore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<StoredObject>, PortError> {
        Ok(locked(&self.objects).get(key).map(|body| StoredObject {
            body: body.clone(),
            etag: etag_of(body),
        }))
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        condition: WriteCondition,
    ) -> Result<String, PortError> {
        let mut objects = locked(&self.objects);
        let current = objects.get(key).map(|b| etag_of(b));
        condition.check(key, current.as_deref())?;
        let etag = etag_of(&body);
        objects.insert(key.to_string(), body);
        Ok(etag)
    }

    async fn delete(&self, key: &str, if_match: Option<&str>) -> Result<(), PortError> {
        let mut objects = locked(&self.objects);
        let current = objects.get(key).map(|b| etag_of(b));
        WriteCondition::check_delete(key, if_match, current.as_deref())?;
        objects.remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, PortError> {
        Ok(locked(&self.objects)
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }
}
