//! An [`ObjectStore`] in a directory, with S3's conditional-write semantics.
//!
//! Used by `shiftgate local`. Keys map to files below the root; the ETag is the
//! SHA-256 of the content. Every check-and-write holds an exclusive advisory
//! lock on `<root>/.store.lock`, so two processes sharing the directory see the
//! same If-None-Match / If-Match outcomes two S3 clients would; files are
//! replaced by rename, so a reader never sees half a write.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use fs2::FileExt;

use super::content_etag as etag_of;
use crate::ports::{ObjectStore, PortError, StoredObject, WriteCondition};

/// A directory acting as the stack's bucket.
#[derive(Debug, Clone)]
pub struct FsObjectStore {
    root: PathBuf,
}

fn io(context: &str, error: std::io::Error) -> PortError {
    PortError::Service(format!("{context}: {error}"))
}

impl FsObjectStore {
    /// A store rooted at `root` (created when missing).
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, PortError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| io(&format!("create {}", root.display()), e))?;
        Ok(Self { root })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, PortError> {
        let valid = !key.is_empty()
            && !key.starts_with('/')
            && key
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..");
        if !valid {
            return Err(PortError::Service(format!("invalid object key {key:?}")));
        }
        Ok(self.root.join(key))
    }

    fn exclusive(&self) -> Result<File, PortError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.root.join(".store.lock"))
            .map_err(|e| io("open store lock", e))?;
        file.lock_exclusive().map_err(|e| io("lock store", e))?;
        Ok(file)
    }

    fn read_now(path: &Path) -> Result<Option<StoredObject>, PortError> {
        match fs::read(path) {
            Ok(body) => {
                let etag = etag_of(&body);
                Ok(Some(StoredObject { body, etag }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&format!("read {}", path.display()), e)),
        }
    }

    fn put_now(
        &self,
        key: &str,
        body: &[u8],
        condition: &WriteCondition,
    ) -> Result<String, PortError> {
        let path = self.path_of(key)?;
        let _guard = self.exclusive()?;
        let current = Self::read_now(&path)?;
        condition.check(key, current.as_ref().map(|found| found.etag.as_str()))?;
        // `path_of` joins a non-empty key to the root, so there is always a parent.
        let parent = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(parent).map_err(|e| io("create directory", e))?;
        let temporary = parent.join(format!(".{}.tmp", uuid::Uuid::new_v4()));
        let mut file = File::create(&temporary).map_err(|e| io("create temporary file", e))?;
        file.write_all(body).map_err(|e| io("write", e))?;
        file.sync_all().map_err(|e| io("sync", e))?;
        fs::rename(&temporary, &path).map_err(|e| io("rename", e))?;
        Ok(etag_of(body))
    }

    fn delete_now(&self, key: &str, if_match: Option<&str>) -> Result<(), PortError> {
        let path = self.path_of(key)?;
        let _guard = self.exclusive()?;
        let current = Self::read_now(&path)?;
        WriteCondition::check_delete(
            key,
            if_match,
            current.as_ref().map(|found| found.etag.as_str()),
        )?;
        match current {
            None => Ok(()),
            Some(_) => fs::remove_file(&path).map_err(|e| io("delete", e)),
        }
    }

    fn list_now(&self, prefix: &str) -> Result<Vec<String>, PortError> {
        let mut keys = Vec::new();
        let mut pending = vec![self.root.clone()];
        while let Some(dir) = pending.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io("list", e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| io("list", e))?;
                let path = entry.path();
                let name = entry.file_name();
                if name.to_string_lossy().starts_with('.') {
                    continue;
                }
                if path.is_dir() {
                    pending.push(path);
                } else if let Ok(relative) = path.strip_prefix(&self.root) {
                    let key = relative.to_string_lossy().replace('\\', "/");
                    if key.starts_with(prefix) {
                        keys.push(key);
                    }
                }
            }
        }
        keys.sort();
        Ok(keys)
    }
}

#[async_trait]
impl ObjectStore for FsObjectStore {
    async fn get(&self, key: &str) -> Result<Option<StoredObject>, PortError> {
        Self::read_now(&self.path_of(key)?)
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        condition: WriteCondition,
    ) -> Result<String, PortError> {
        let store = self.clone();
        let key = key.to_string();
        tokio::task::spawn_blocking(move || store.put_now(&key, &body, &condition))
            .await
            .map_err(|e| PortError::Service(format!("store task failed: {e}")))?
    }

    async fn delete(&self, key: &str, if_match: Option<&str>) -> Result<(), PortError> {
        let store = self.clone();
        let key = key.to_string();
        let if_match = if_match.map(str::to_string);
        tokio::task::spawn_blocking(move || store.delete_now(&key, if_match.as_deref()))
            .await
            .map_err(|e| PortError::Service(format!("store task failed: {e}")))?
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, PortError> {
        self.list_now(prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conditional_writes_behave_like_s3() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsObjectStore::new(dir.path()).unwrap();
        let first = store
            .put("a/b.json", b"1".to_vec(), WriteCondition::IfAbsent)
            .await
            .unwrap();
        assert!(matches!(
            store
                .put("a/b.json", b"2".to_vec(), WriteCondition::IfAbsent)
                .await,
            Err(PortError::Conflict(_))
        ));
        let second = store
            .put(
                "a/b.json",
                b"2".to_vec(),
                WriteCondition::IfMatch(first.clone()),
            )
            .await
            .unwrap();
        assert!(matches!(
            store
                .put(
                    "a/b.json",
                    b"3".to_vec(),
                    WriteCondition::IfMatch(first.clone())
                )
                .await,
            Err(PortError::Conflict(_))
        ));
        assert_eq!(store.get("a/b.json").await.unwrap().unwrap().body, b"2");
        assert!(matches!(
            store.delete("a/b.json", Some(&first)).await,
            Err(PortError::Conflict(_))
        ));
        store.delete("a/b.json", Some(&second)).await.unwrap();
        assert!(store.get("a/b.json").await.unwrap().is_none());
        assert!(store
            .put("../x", vec![], WriteCondition::Always)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn racing_creates_have_exactly_one_winner_across_store_instances() {
        let dir = tempfile::tempdir().unwrap();
        let mut tasks = Vec::new();
        for i in 0..16 {
            // Separate instances share only the directory, as separate processes would.
            let store = FsObjectStore::new(dir.path()).unwrap();
            tasks.push(tokio::spawn(async move {
                store
                    .put(
                        "locks/f/live.json",
                        format!("{i}").into_bytes(),
                        WriteCondition::IfAbsent,
                    )
                    .await
            }));
        }
        let mut winners = 0;
        for task in tasks {
            if task.await.unwrap().is_ok() {
                winners += 1;
            }
        }
        assert_eq!(winners, 1);
    }

    #[tokio::test]
    async fn list_returns_keys_under_a_prefix_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsObjectStore::new(dir.path()).unwrap();
        for key in ["h/x/2.json", "h/x/1.json", "h/y/1.json"] {
            store
                .put(key, vec![], WriteCondition::Always)
                .await
                .unwrap();
        }
        assert_eq!(
            store.list("h/x/").await.unwrap(),
            vec!["h/x/1.json", "h/x/2.json"]
        );
    }
}
