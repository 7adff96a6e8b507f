//! Typed access to the bucket: deployment records with optimistic concurrency,
//! the per-alias lock, and the history index. Every write is conditional
//! (If-None-Match to create, If-Match to change) so concurrent writers never
//! overwrite each other silently.
//!
//! Storage speaks its own errors ([`StoreError`]); `crate::error` maps them to the
//! Step Functions contract in one place.

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Serialize};

use crate::ports::{ObjectStore, PortError, WriteCondition};
use crate::record::{keys, DeploymentRecord, HistoryEntry, LockRecord};

/// How often a read-modify-write runs before giving up on a key that keeps
/// changing under it (every conditional-write loop of the crate uses it).
pub const CONFLICT_ATTEMPTS: usize = 8;

/// What went wrong reading or writing the bucket.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A read-modify-write lost to other writers [`CONFLICT_ATTEMPTS`] times in a row.
    #[error("{key} kept changing under {CONFLICT_ATTEMPTS} attempts to update it")]
    KeptChanging {
        /// The object's key in the bucket.
        key: String,
    },
    /// The object holds something that is not the record expected there.
    #[error("{key} is not a valid record: {reason}")]
    Corrupt {
        /// The object's key in the bucket.
        key: String,
        /// What the JSON decoder said.
        reason: String,
    },
    /// A deployment record with this id exists already.
    #[error("deployment id {0} is already used")]
    IdTaken(String),
    /// No deployment record has this id.
    #[error("deployment {0} not found")]
    RecordNotFound(String),
    /// Another deployment holds the alias lock.
    #[error("{function}:{alias} is being deployed by {holder}")]
    Locked {
        /// The function name, as in the lock key.
        function: String,
        /// The alias name.
        alias: String,
        /// The deployment id of the holder.
        holder: String,
    },
    /// The bucket could not be read or written.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Records are plain structs of strings, numbers and maps with string keys:
    // serde_json cannot fail on them.
    serde_json::to_vec_pretty(value).unwrap_or_default()
}

fn decode<T: DeserializeOwned>(key: &str, body: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(body).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    })
}

/// Read a JSON object and its ETag.
pub async fn read<T: DeserializeOwned>(
    store: &dyn ObjectStore,
    key: &str,
) -> Result<Option<(T, String)>, StoreError> {
    match store.get(key).await? {
        Some(object) => Ok(Some((decode(key, &object.body)?, object.etag))),
        None => Ok(None),
    }
}

/// Write a JSON object under a condition; returns the new ETag.
pub async fn write<T: Serialize>(
    store: &dyn ObjectStore,
    key: &str,
    value: &T,
    condition: WriteCondition,
) -> Result<String, PortError> {
    store.put(key, encode(value), condition).await
}

/// Replace the JSON object at `key` only if it is still the version `etag`
/// names: the new ETag, or `None` when another writer got there first (the
/// caller reads again and retries under [`ConflictRetries`]).
pub async fn replace<T: Serialize>(
    store: &dyn ObjectStore,
    key: &str,
    value: &T,
    etag: String,
) -> Result<Option<String>, PortError> {
    match write(store, key, value, WriteCondition::IfMatch(etag)).await {
        Ok(etag) => Ok(Some(etag)),
        Err(PortError::Conflict(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

/// The one retry-on-conflict rule of the crate: a conditional-write loop calls
/// [`ConflictRetries::next_attempt`] before each try, and gives up with
/// [`StoreError::KeptChanging`] after [`CONFLICT_ATTEMPTS`] lost races.
#[derive(Debug)]
pub struct ConflictRetries<'a> {
    key: &'a str,
    made: usize,
}

impl<'a> ConflictRetries<'a> {
    /// Retries of a loop that writes `key`.
    pub fn new(key: &'a str) -> Self {
        Self { key, made: 0 }
    }

    /// Allow one more try, or say the key kept changing.
    pub fn next_attempt(&mut self) -> Result<(), StoreError> {
        if self.made == CONFLICT_ATTEMPTS {
            return Err(StoreError::KeptChanging {
                key: self.key.to_string(),
            });
        }
        self.made += 1;
        Ok(())
    }
}

/// Create a deployment record; refuses an id that exists.
pub async fn create_record(
    store: &dyn ObjectStore,
    record: &DeploymentRecord,
) -> Result<String, StoreError> {
    let key = keys::record(&record.deployment_id);
    write(store, &key, record, WriteCondition::IfAbsent)
        .await
        .map_err(|e| match e {
            PortError::Conflict(_) => StoreError::IdTaken(record.deployment_id.clone()),
            other => other.into(),
        })
}

/// Load a deployment record.
pub async fn load_record(
    store: &dyn ObjectStore,
    deployment_id: &str,
) -> Result<(DeploymentRecord, String), StoreError> {
    read(store, &keys::record(deployment_id))
        .await?
        .ok_or_else(|| StoreError::RecordNotFound(deployment_id.to_string()))
}

/// Change a record with `change`, retrying when another writer got there first.
/// `change` runs on the latest version each time and must be repeatable.
pub async fn update_record<F>(
    store: &dyn ObjectStore,
    deployment_id: &str,
    mut change: F,
) -> Result<DeploymentRecord, StoreError>
where
    F: FnMut(&mut DeploymentRecord),
{
    let key = keys::record(deployment_id);
    let mut retries = ConflictRetries::new(&key);
    loop {
        retries.next_attempt()?;
        let (mut record, etag) = load_record(store, deployment_id).await?;
        change(&mut record);
        if replace(store, &key, &record, etag).await?.is_some() {
            return Ok(record);
        }
    }
}

/// Take the alias lock for `deployment_id`, started by `execution_id`; returns
/// the lock's ETag, which [`release_own_lock`] needs.
///
/// Only the same execution of the same deployment takes a lock it holds again
/// (a retried `prepare`); a start that reuses the deployment id from another
/// execution is refused like any other. A lock left by a deployment that has
/// ended (or never recorded) is taken over.
pub async fn acquire_lock(
    store: &dyn ObjectStore,
    function: &str,
    alias: &str,
    deployment_id: &str,
    execution_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let key = keys::lock(function, alias);
    let lock = LockRecord {
        deployment_id: deployment_id.to_string(),
        acquired_at: now,
        execution_id: execution_id.map(str::to_string),
    };
    let mut retries = ConflictRetries::new(&key);
    loop {
        retries.next_attempt()?;
        match write(store, &key, &lock, WriteCondition::IfAbsent).await {
            Ok(etag) => return Ok(etag),
            Err(PortError::Conflict(_)) => {}
            Err(other) => return Err(other.into()),
        }
        let Some((holder, etag)) = read::<LockRecord>(store, &key).await? else {
            continue; // released meanwhile: try again
        };
        if holder.deployment_id == deployment_id && holder.execution_id == lock.execution_id {
            return Ok(etag);
        }
        let stale = match read::<DeploymentRecord>(store, &keys::record(&holder.deployment_id))
            .await?
        {
            // The record of that id may be another execution's: only the
            // holder's own record says whether the holder has ended.
            Some((record, _))
                if holder.execution_id.is_none() || record.execution_id == holder.execution_id =>
            {
                record.status.is_terminal()
            }
            // A holder without a record crashed between locking and recording,
            // but give it a minute: it may be writing the record right now.
            _ => now.signed_duration_since(holder.acquired_at).num_seconds() > 60,
        };
        if !stale {
            return Err(StoreError::Locked {
                function: function.to_string(),
                alias: alias.to_string(),
                holder: holder.deployment_id,
            });
        }
        if let Some(etag) = replace(store, &key, &lock, etag).await? {
            return Ok(etag);
        }
    }
}

/// Release the alias lock exactly as this caller wrote it (`etag` from
/// [`acquire_lock`]): a lock another start has taken since is never touched.
pub async fn release_own_lock(
    store: &dyn ObjectStore,
    function: &str,
    alias: &str,
    etag: &str,
) -> Result<(), StoreError> {
    match store.delete(&keys::lock(function, alias), Some(etag)).await {
        // Gone or changed meanwhile: it is no longer ours to delete.
        Ok(()) | Err(PortError::NotFound(_)) | Err(PortError::Conflict(_)) => Ok(()),
        Err(other) => Err(other.into()),
    }
}

/// Release the alias lock if `deployment_id` holds it; never another's.
pub async fn release_lock(
    store: &dyn ObjectStore,
    function: &str,
    alias: &str,
    deployment_id: &str,
) -> Result<(), StoreError> {
    let key = keys::lock(function, alias);
    let Some((holder, etag)) = read::<LockRecord>(store, &key).await? else {
        return Ok(());
    };
    if holder.deployment_id != deployment_id {
        return Ok(());
    }
    release_own_lock(store, function, alias, &etag).await
}

/// Who holds the alias lock, if anyone.
pub async fn lock_holder(
    store: &dyn ObjectStore,
    function: &str,
    alias: &str,
) -> Result<Option<LockRecord>, StoreError> {
    Ok(read::<LockRecord>(store, &keys::lock(function, alias))
        .await?
        .map(|(lock, _)| lock))
}

/// Write (or rewrite) the history index entry of a record.
pub async fn index_history(
    store: &dyn ObjectStore,
    record: &DeploymentRecord,
) -> Result<(), StoreError> {
    let entry = HistoryEntry {
        deployment_id: record.deployment_id.clone(),
        target_version: record.target_version().to_string(),
        previous_version: record.current_version().to_string(),
        status: record.status,
        started_at: record.created_at,
        ended_at: record.status.is_terminal().then_some(record.updated_at),
    };
    let key = keys::history(
        record.function_name(),
        record.alias(),
        record.created_at,
        &record.deployment_id,
    );
    write(store, &key, &entry, WriteCondition::Always).await?;
    Ok(())
}

/// The history of an alias, oldest first.
pub async fn history(
    store: &dyn ObjectStore,
    function: &str,
    alias: &str,
) -> Result<Vec<HistoryEntry>, StoreError> {
    let mut entries = Vec::new();
    for key in store.list(&keys::history_prefix(function, alias)).await? {
        if let Some((entry, _)) = read::<HistoryEntry>(store, &key).await? {
            entries.push(entry);
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::fs_store::FsObjectStore;
    use crate::adapters::memory::MemoryStore;
    use crate::error::HandlerError;

    #[test]
    fn conflict_retries_allow_exactly_the_shared_number_of_attempts() {
        let mut retries = ConflictRetries::new("locks/f/live.json");
        for _ in 0..CONFLICT_ATTEMPTS {
            retries.next_attempt().unwrap();
        }
        let error = retries.next_attempt().unwrap_err();
        assert!(
            matches!(error, StoreError::KeptChanging { ref key } if key == "locks/f/live.json")
        );
        assert!(matches!(
            HandlerError::from(error),
            HandlerError::StoreConflict(_)
        ));
    }

    #[test]
    fn storage_errors_keep_their_workflow_names_at_the_one_seam() {
        let name = |e: StoreError| HandlerError::from(e).error_type();
        assert_eq!(name(StoreError::IdTaken("d".into())), "InvalidRequest");
        assert_eq!(
            name(StoreError::RecordNotFound("d".into())),
            "DeploymentNotFound"
        );
        assert_eq!(
            name(StoreError::Locked {
                function: "f".into(),
                alias: "live".into(),
                holder: "d".into()
            }),
            "DeploymentLocked"
        );
        assert_eq!(
            name(StoreError::Corrupt {
                key: "k".into(),
                reason: "eof".into()
            }),
            "DependencyFailed"
        );
        assert_eq!(
            name(StoreError::Unavailable(PortError::Throttled("slow".into()))),
            "Throttled"
        );
    }

    /// Both local stores must answer every conditional write as S3 does; they
    /// share `WriteCondition::check`, and this pins the outcome for each.
    #[tokio::test]
    async fn memory_and_directory_stores_apply_the_same_write_conditions() {
        let dir = tempfile::tempdir().unwrap();
        let stores: Vec<(&str, Box<dyn ObjectStore>)> = vec![
            ("memory", Box::new(MemoryStore::new())),
            (
                "directory",
                Box::new(FsObjectStore::new(dir.path()).unwrap()),
            ),
        ];
        for (name, store) in stores {
            let conflict = |r: Result<String, PortError>| matches!(r, Err(PortError::Conflict(_)));
            assert!(
                conflict(
                    store
                        .put("k", b"1".to_vec(), WriteCondition::IfMatch("\"x\"".into()))
                        .await
                ),
                "{name}: If-Match on a missing key"
            );
            let first = store
                .put("k", b"1".to_vec(), WriteCondition::IfAbsent)
                .await
                .unwrap();
            assert!(
                conflict(
                    store
                        .put("k", b"2".to_vec(), WriteCondition::IfAbsent)
                        .await
                ),
                "{name}: If-None-Match on an existing key"
            );
            let second = store
                .put("k", b"2".to_vec(), WriteCondition::IfMatch(first.clone()))
                .await
                .unwrap();
            assert!(
                conflict(
                    store
                        .put("k", b"3".to_vec(), WriteCondition::IfMatch(first.clone()))
                        .await
                ),
                "{name}: If-Match with a stale ETag"
            );
            assert!(
                matches!(
                    store.delete("k", Some(&first)).await,
                    Err(PortError::Conflict(_))
                ),
                "{name}: delete with a stale ETag"
            );
            store.delete("k", Some(&second)).await.unwrap();
            store.delete("k", Some(&second)).await.unwrap();
            store
                .put("k", b"4".to_vec(), WriteCondition::Always)
                .await
                .unwrap();
            assert_eq!(store.get("k").await.unwrap().unwrap().body, b"4", "{name}");
        }
    }
}
