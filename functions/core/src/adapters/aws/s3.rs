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

#[cfg(test)]
mod tests {
    use aws_sdk_s3::operation::delete_object::DeleteObjectOutput;
    use aws_sdk_s3::operation::get_object::GetObjectOutput;
    use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::Object;
    use aws_sdk_s3::Client;
    use aws_smithy_mocks::{mock, Rule};

    use super::{client_config, S3ObjectStore};
    use crate::ports::{ObjectStore, PortError, WriteCondition};
    use crate::testing::aws::{mocks, test_sdk_config, Recorder};

    const PRECONDITION_FAILED: &str = "<Error><Code>PreconditionFailed</Code>\
        <Message>At least one of the pre-conditions you specified did not hold</Message></Error>";

    fn store(rules: &[&Rule], recorder: &Recorder) -> S3ObjectStore {
        let conf = client_config(&test_sdk_config())
            .interceptor(mocks(rules))
            .interceptor(recorder.clone())
            .build();
        S3ObjectStore::new(Client::from_conf(conf), "shiftgate-bucket".to_owned())
    }

    fn put_ok() -> PutObjectOutput {
        PutObjectOutput::builder().e_tag("\"new-etag\"").build()
    }

    #[tokio::test]
    async fn put_if_absent_sends_if_none_match_star() {
        // GIVEN a lock to create
        let recorder = Recorder::default();
        let rule = mock!(Client::put_object)
            .match_requests(|r| {
                r.bucket() == Some("shiftgate-bucket")
                    && r.key() == Some("locks/orders/live.json")
                    && r.if_none_match() == Some("*")
                    && r.if_match().is_none()
            })
            .then_output(put_ok);
        let store = store(&[&rule], &recorder);

        // WHEN it is written only if absent
        let etag = store
            .put(
                "locks/orders/live.json",
                b"{}".to_vec(),
                WriteCondition::IfAbsent,
            )
            .await
            .expect("put");

        // THEN the header is on the wire, as JSON, and the new ETag comes back
        let sent = &recorder.sent()[0];
        assert_eq!(sent.header("If-None-Match"), Some("*"));
        assert_eq!(sent.header("If-Match"), None);
        assert_eq!(sent.header("Content-Type"), Some("application/json"));
        assert_eq!(etag, "\"new-etag\"");
    }

    #[tokio::test]
    async fn put_if_match_sends_the_etag() {
        let recorder = Recorder::default();
        let rule = mock!(Client::put_object)
            .match_requests(|r| r.if_match() == Some("\"old\"") && r.if_none_match().is_none())
            .then_output(put_ok);
        let store = store(&[&rule], &recorder);

        store
            .put(
                "deployments/d1/record.json",
                b"{}".to_vec(),
                WriteCondition::IfMatch("\"old\"".to_owned()),
            )
            .await
            .expect("put");

        let sent = &recorder.sent()[0];
        assert_eq!(sent.header("If-Match"), Some("\"old\""));
        assert_eq!(sent.header("If-None-Match"), None);
    }

    #[tokio::test]
    async fn put_always_sends_no_condition() {
        let recorder = Recorder::default();
        let rule = mock!(Client::put_object)
            .match_requests(|r| r.if_match().is_none() && r.if_none_match().is_none())
            .then_output(put_ok);
        let store = store(&[&rule], &recorder);

        store
            .put("history/x.json", b"{}".to_vec(), WriteCondition::Always)
            .await
            .expect("put");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn lost_conditions_are_conflicts() {
        // GIVEN S3 answers 412 PreconditionFailed, then 409 ConditionalRequestConflict
        let recorder = Recorder::default();
        let rule = mock!(Client::put_object)
            .sequence()
            .http_status(412, Some(PRECONDITION_FAILED.to_owned()))
            .http_status(
                409,
                Some(
                    "<Error><Code>ConditionalRequestConflict</Code><Message>retry</Message></Error>"
                        .to_owned(),
                ),
            )
            .build();
        let store = store(&[&rule], &recorder);

        // WHEN two conditional writes lose
        let first = store
            .put("k", b"{}".to_vec(), WriteCondition::IfAbsent)
            .await;
        let second = store
            .put("k", b"{}".to_vec(), WriteCondition::IfMatch("\"e\"".into()))
            .await;

        // THEN both are conflicts, not service errors
        assert!(matches!(first, Err(PortError::Conflict(_))), "{first:?}");
        assert!(matches!(second, Err(PortError::Conflict(_))), "{second:?}");
    }

    #[tokio::test]
    async fn get_of_a_missing_key_is_none() {
        let recorder = Recorder::default();
        let rule = mock!(Client::get_object)
            .sequence()
            .http_status(
                404,
                Some(
                    "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"
                        .to_owned(),
                ),
            )
            .build();
        let store = store(&[&rule], &recorder);

        let got = store.get("deployments/none/record.json").await;

        assert!(matches!(got, Ok(None)), "{got:?}");
    }

    #[tokio::test]
    async fn get_returns_body_and_etag_as_s3_sends_them() {
        let recorder = Recorder::default();
        let rule = mock!(Client::get_object)
            .match_requests(|r| r.key() == Some("deployments/d1/record.json"))
            .then_output(|| {
                GetObjectOutput::builder()
                    .e_tag("\"abc\"")
                    .body(ByteStream::from_static(b"{\"id\":\"d1\"}"))
                    .build()
            });
        let store = store(&[&rule], &recorder);

        let got = store
            .get("deployments/d1/record.json")
            .await
            .expect("get")
            .expect("present");

        assert_eq!(got.etag, "\"abc\"");
        assert_eq!(got.body, b"{\"id\":\"d1\"}");
    }

    #[tokio::test]
    async fn delete_with_if_match_sends_it_and_maps_412_to_conflict() {
        let recorder = Recorder::default();
        let ok = mock!(Client::delete_object)
            .match_requests(|r| r.key() == Some("locks/a.json") && r.if_match() == Some("\"e1\""))
            .then_output(|| DeleteObjectOutput::builder().build());
        let lost = mock!(Client::delete_object)
            .sequence()
            .http_status(412, Some(PRECONDITION_FAILED.to_owned()))
            .build();
        let store = store(&[&ok, &lost], &recorder);

        store
            .delete("locks/a.json", Some("\"e1\""))
            .await
            .expect("delete");
        let second = store.delete("locks/a.json", Some("\"e2\"")).await;

        assert_eq!(recorder.sent()[0].header("If-Match"), Some("\"e1\""));
        assert!(matches!(second, Err(PortError::Conflict(_))), "{second:?}");
    }

    #[tokio::test]
    async fn list_follows_continuation_tokens() {
        // GIVEN two pages of keys
        let recorder = Recorder::default();
        let first = mock!(Client::list_objects_v2)
            .match_requests(|r| r.prefix() == Some("history/") && r.continuation_token().is_none())
            .then_output(|| {
                ListObjectsV2Output::builder()
                    .contents(Object::builder().key("history/b").build())
                    .contents(Object::builder().key("history/a").build())
                    .is_truncated(true)
                    .next_continuation_token("page-2")
                    .build()
            });
        let second = mock!(Client::list_objects_v2)
            .match_requests(|r| r.continuation_token() == Some("page-2"))
            .then_output(|| {
                ListObjectsV2Output::builder()
                    .contents(Object::builder().key("history/c").build())
                    .is_truncated(false)
                    .build()
            });
        let store = store(&[&first, &second], &recorder);

        // WHEN listed
        let keys = store.list("history/").await.expect("list");

        // THEN all pages are read, in order
        assert_eq!(keys, ["history/a", "history/b", "history/c"]);
        assert_eq!(recorder.sent().len(), 2);
    }
}

#[cfg(test)]
mod emulator_tests {
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    use aws_sdk_s3::Client;
    use aws_smithy_mocks::mock;

    use super::{client_config, S3ObjectStore};
    use crate::ports::{ObjectStore, WriteCondition};
    use crate::testing::aws::{mocks, test_sdk_config, Recorder};

    #[tokio::test]
    async fn a_custom_endpoint_uses_path_style_addressing() {
        // GIVEN AWS_ENDPOINT_URL pointing at an emulator
        let sdk = test_sdk_config()
            .into_builder()
            .endpoint_url("http://localhost:4566")
            .build();
        let recorder = Recorder::default();
        let rule = mock!(Client::put_object)
            .then_output(|| PutObjectOutput::builder().e_tag("\"e\"").build());
        let conf = client_config(&sdk)
            .interceptor(mocks(&[&rule]))
            .interceptor(recorder.clone())
            .build();
        let store = S3ObjectStore::new(Client::from_conf(conf), "bucket".to_owned());

        // WHEN writing
        store
            .put("k.json", b"{}".to_vec(), WriteCondition::Always)
            .await
            .expect("put");

        // THEN the bucket is in the path, not the host name
        let uri = &recorder.sent()[0].uri;
        assert!(
            uri.starts_with("http://localhost:4566/bucket/k.json"),
            "{uri}"
        );
    }
}
