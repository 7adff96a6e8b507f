//! [`Notifier`] on SNS: one `Publish` per notification, every attribute a
//! `String` message attribute so subscription filter policies can route on it
//! (per-reviewer links, kinds of event).

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sns::operation::publish::PublishError;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;

use super::error::{truncate_chars, Failure, ThrottlingCodes, TooManyRequests};
use crate::ports::{Notification, Notifier, PortError};

/// SNS rejects subjects of 100 characters or more ("less than 100 characters
/// long", Publish API reference), so we keep at most 99.
pub const MAX_SUBJECT_CHARS: usize = 99;

/// The client configuration for SNS, derived from the shared `sdk` config.
pub(crate) fn client_config(sdk: &SdkConfig) -> aws_sdk_sns::config::Builder {
    // SNS says `Throttled`, a code the SDK's retry policy does not know.
    aws_sdk_sns::config::Builder::from(sdk)
        .retry_classifier(TooManyRequests)
        .retry_classifier(ThrottlingCodes::<PublishError>::new())
}

/// Publishes notifications with SNS.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: Client,
}

impl SnsNotifier {
    /// A notifier using `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// A subject SNS accepts: no line breaks or control characters (each run of
/// them becomes one space), trimmed, fewer than 100 characters.
pub fn sns_subject(subject: &str) -> String {
    let mut clean = String::with_capacity(subject.len());
    for c in subject.chars() {
        if c.is_control() {
            if !clean.ends_with(' ') {
                clean.push(' ');
            }
        } else {
            clean.push(c);
        }
    }
    truncate_chars(clean.trim(), MAX_SUBJECT_CHARS)
        .trim_end()
        .to_owned()
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn publish(&self, notification: &Notification) -> Result<String, PortError> {
        let subject = sns_subject(&notification.subject);
        let mut request = self
            .client
            .publish()
            .topic_arn(&notification.topic_arn)
            .message(&notification.body)
            // SNS rejects an empty subject; without one e-mail gets a default.
            .set_subject((!subject.is_empty()).then_some(subject));
        for (name, value) in &notification.attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| PortError::Service(format!("Publish: attribute {name}: {e}")))?;
            request = request.message_attributes(name, value);
        }
        let output = request.send().await.map_err(|err| {
            let failure = Failure::of(&err);
            if failure.is("NotFound") {
                PortError::NotFound(failure.summary("Publish"))
            } else {
                failure.into_port_error("Publish")
            }
        })?;
        Ok(output.message_id().unwrap_or_default().to_owned())
    }
}
