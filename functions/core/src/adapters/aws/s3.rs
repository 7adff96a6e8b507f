//! [`ObjectStore`] on one S3 bucket, with S3 conditional writes
//! (`If-None-Match: *` to create, `If-Match: <etag>` to replace or delete) so
//! that of two racing writers exactly one wins.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use super::error::{Failure, TooManyRequests};
use crate::ports::{ObjectStore, PortError, StoredObject, WriteCondition};

/// The client configuration for S3, derived from the shared `sdk` config.
pub(crate) fn client_config(sdk: &SdkConfig) -> aws_sdk_s3::config::Builder {
    let builder = aws_sdk_s3::config::Builder::from(sdk).retry_classifier(TooManyRequests);
    // Emulators answer on one host name; virtual-hosted bucket addressing
    // (`<bucket>.localhost`) does not resolve there. Real AWS never needs a
    // custom endpoint, so path style only when one is set.
    if sdk.endpoint_url().is_some() {
        builder.force_path_style(true)
    } else {
        builder
    }
}

/// The stack's bucket holding records, approvals, locks and history.
#[derive(Debug, Clone)]
pub struct S3ObjectStore {
    client: Client,
    bucket: String,
}

impl S3ObjectStore {
    /// A store on `bucket` using `client`.
    pub fn new(client: Client, bucket: String) -> Self {
        Self { client, bucket }
    }

    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

/// Whether a failed conditional request lost its condition: 412 when the
/// condition did not hold, 409 when a concurrent conditional write to the same
/// key was in flight (S3 asks the loser to re-read and retry).
fn lost_condition(failure: &Failure) -> bool {
    matches!(failure.status, Some(412) | Some(409))
        || failure.is("PreconditionFailed")
        || failure.is("ConditionalRequestConflict")
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn get(&self, key: &str) -> Result<Option<StoredObject>, PortError> {
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(err) => {
                if err.as_service_error().is_some_and(|e| e.is_no_such_key()) {
                    return Ok(None);
                }
                let failure = Failure::of(&err);
                if failure.is("NoSuchKey") {
                    return Ok(None);
                }
                if failure.is("NoSuchBucket") {
                    return Err(PortError::NotFound(failure.summary("GetObject")));
                }
                return Err(failure.into_port_error("GetObject"));
            }
        };
        let etag = output
            .e_tag()
            .ok_or_else(|| PortError::Service(format!("GetObject {key}: no ETag in the answer")))?
            .to_owned();
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| PortError::Service(format!("GetObject {key}: reading the body: {e}")))?
            .into_bytes()
            .to_vec();
        Ok(Some(StoredObject { body, etag }))
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        condition: WriteCondition,
    ) -> Result<String, PortError> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        let request = match condition {
            WriteCondition::Always => request,
            WriteCondition::IfAbsent => request.if_none_match("*"),
            WriteCondition::IfMatch(etag) => request.if_match(etag),
        };
        match request.send().await {
            Ok(output) => output.e_tag().map(str::to_owned).ok_or_else(|| {
                PortError::Service(format!("PutObject {key}: no ETag in the answer"))
            }),
            Err(err) => {
                let failure = Failure::of(&err);
                if lost_condition(&failure) {
                    Err(PortError::Conflict(format!("PutObject {key}")))
                } else if failure.is("NoSuchBucket") {
                    Err(PortError::NotFound(failure.summary("PutObject")))
                } else {
                    Err(failure.into_port_error("PutObject"))
                }
            }
        }
    }

    async fn delete(&self, key: &str, if_match: Option<&str>) -> Result<(), PortError> {
        let request = self.client.delete_object().bucket(&self.bucket).key(key);
        let request = match if_match {
            Some(etag) => request.if_match(etag),
            None => request,
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(err) => {
                let failure = Failure::of(&err);
                // With If-Match, a key that is gone is not the version we meant
                // to delete: S3 answers 404 NoSuchKey, and the caller must learn
                // that it no longer owns what it wanted to remove.
                if lost_condition(&failure)
                    || (if_match.is_some()
                        && (failure.is("NoSuchKey") || failure.status == Some(404)))
                {
                    Err(PortError::Conflict(format!("DeleteObject {key}")))
                } else if failure.is("NoSuchBucket") {
                    Err(PortError::NotFound(failure.summary("DeleteObject")))
                } else {
                    Err(failure.into_port_error("DeleteObject"))
                }
            }
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, PortError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| {
                let failure = Failure::of(&err);
                if failure.is("NoSuchBucket") {
                    PortError::NotFound(failure.summary("ListObjectsV2"))
                } else {
                    failure.into_port_error("ListObjectsV2")
                }
            })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        // S3 lists in UTF-8 binary order already; emulators do not all agree,
        // and the port promises lexicographic order.
        keys.sort();
        Ok(keys)
    }
}
