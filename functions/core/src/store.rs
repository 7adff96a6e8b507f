//! Typed access to the bucket: deployment records with optimistic concurrency,
//! the per-alias lock, and the history index. Every write is conditional
//! (If-None-Match to create, If-Match to change) so concurrent writers never
//! overwrite each other silently.

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::HandlerError;
use crate::ports::{ObjectStore, PortError, WriteCondition};
use crate::record::{keys, DeploymentRecord, HistoryEntry, LockRecord};

/// How often a read-modify-write retries after losing a race.
const UPDATE_ATTEMPTS: usize = 8;

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("records always serialize")
}

fn decode<T: DeserializeOwned>(key: &str, body: &[u8]) -> Result<T, HandlerError> {
    serde_json::from_slice(body)
        .map_err(|e| HandlerError::DependencyFailed(format!("{key} is not a valid record: {e}")))
}

/// Read a JSON object and its ETag.
pub async fn read<T: DeserializeOwned>(
    store: &dyn ObjectStore,
    key: &str,
) -> Result<Option<(T, String)>, HandlerError> {
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

/// Create a deployment record; refuses an id that exists.
pub async fn create_record(
    store: &dyn ObjectStore,
    record: &DeploymentRecord,
) -> Result<String, HandlerError> {
    let key = keys::record(&record.deployment_id);
    write(store, &key, record, WriteCondition::IfAbsent)
        .await
        .map_err(|e| match e {
            PortError::Conflict(_) => HandlerError::InvalidRequest(format!(
                "deployment id {} is already used",
                record.deployment_id
            )),
            other => other.into(),
        })
}

/// Load a deployment record.
pub async fn load_record(
    store: &dyn ObjectStore,
    deployment_id: &str,
) -> Result<(DeploymentRecord, String), HandlerError> {
    read(store, &keys::record(deployment_id))
        .await?
        .ok_or_else(|| HandlerError::DeploymentNotFound(deployment_id.to_string()))
}

/// Change a record with `change`, retrying when another writer got there first.
/// `change` runs on the latest version each time and must be repeatable.
pub async fn update_record<F>(
    store: &dyn ObjectStore,
    deployment_id: &str,
    mut change: F,
) -> Result<DeploymentRecord, HandlerError>
where
    F: FnMut(&mut DeploymentRecord) -> Result<(), HandlerError>,
{
    let key = keys::record(deployment_id);
    for _ in 0..UPDATE_ATTEMPTS {
        let (mut record, etag) = load_record(store, deployment_id).await?;
        change(&mut record)?;
        match write(store, &key, &record, WriteCondition::IfMatch(etag)).await {
            Ok(_) => return Ok(record),
            Err(PortError::Conflict(_)) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(HandlerError::StoreConflict(format!(
        "record of {deployment_id} kept changing under {UPDATE_ATTEMPTS} attempts to update it"
    )))
}

/// Take the alias lock for `deployment_id`.
///
/// Re-entrant (the holder may take it again, so a retried `prepare` works), and
/// a lock left by a deployment that has ended (or never recorded) is taken over.
pub async fn acquire_lock(
    store: &dyn ObjectStore,
    function: &str,
    alias: &str,
    deployment_id: &str,
    now: DateTime<Utc>,
) -> Result<(), HandlerError> {
    let key = keys::lock(function, alias);
    let lock = LockRecord {
        deployment_id: deployment_id.to_string(),
        acquired_at: now,
    };
    for _ in 0..UPDATE_ATTEMPTS {
        match write(store, &key, &lock, WriteCondition::IfAbsent).await {
            Ok(_) => return Ok(()),
            Err(PortError::Conflict(_)) => {}
            Err(other) => return Err(other.into()),
        }
        let Some((holder, etag)) = read::<LockRecord>(store, &key).await? else {
            continue; // released meanwhile: try again
        };
        if holder.deployment_id == deployment_id {
            return Ok(());
        }
        let stale =
            match read::<DeploymentRecord>(store, &keys::record(&holder.deployment_id)).await? {
                Some((record, _)) => record.status.is_terminal(),
                // A holder without a record crashed between locking and recording,
                // but give it a minute: it may be writing the record right now.
                None => now.signed_duration_since(holder.acquired_at).num_seconds() > 60,
            };
        if !stale {
            return Err(HandlerError::DeploymentLocked {
                function: function.to_string(),
                alias: alias.to_string(),
                holder: holder.deployment_id,
            });
        }
        match write(store, &key, &lock, WriteCondition::IfMatch(etag)).await {
            Ok(_) => return Ok(()),
            Err(PortError::Conflict(_)) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(HandlerError::StoreConflict(format!(
        "lock {key} kept changing"
    )))
}

/// Release the alias lock if `deployment_id` holds it; never another's.
pub async fn release_lock(
    store: &dyn ObjectStore,
    function: &str,
    alias: &str,
    deployment_id: &str,
) -> Result<(), HandlerError> {
    let key = keys::lock(function, alias);
    let Some((holder, etag)) = read::<LockRecord>(store, &key).await? else {
        return Ok(());
    };
    if holder.deployment_id != deployment_id {
        return Ok(());
    }
    match store.delete(&key, Some(&etag)).await {
        Ok(()) | Err(PortError::NotFound(_)) => Ok(()),
        // Changed meanwhile: it is no longer ours to delete.
        Err(PortError::Conflict(_)) => Ok(()),
        Err(other) => Err(other.into()),
    }
}

/// Who holds the alias lock, if anyone.
pub async fn lock_holder(
    store: &dyn ObjectStore,
    function: &str,
    alias: &str,
) -> Result<Option<LockRecord>, HandlerError> {
    Ok(read::<LockRecord>(store, &keys::lock(function, alias))
        .await?
        .map(|(lock, _)| lock))
}

/// Write (or rewrite) the history index entry of a record.
pub async fn index_history(
    store: &dyn ObjectStore,
    record: &DeploymentRecord,
) -> Result<(), HandlerError> {
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
) -> Result<Vec<HistoryEntry>, HandlerError> {
    let mut entries = Vec::new();
    for key in store.list(&keys::history_prefix(function, alias)).await? {
        if let Some((entry, _)) = read::<HistoryEntry>(store, &key).await? {
            entries.push(entry);
        }
    }
    Ok(entries)
}
