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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use aws_sdk_sns::operation::publish::PublishOutput;
    use aws_sdk_sns::Client;
    use aws_smithy_mocks::{mock, Rule};

    use super::{client_config, sns_subject, SnsNotifier, MAX_SUBJECT_CHARS};
    use crate::ports::{Notification, Notifier, PortError};
    use crate::testing::aws::{mocks, test_sdk_config, Recorder};

    fn notifier(rules: &[&Rule], recorder: &Recorder) -> SnsNotifier {
        let conf = client_config(&test_sdk_config())
            .interceptor(mocks(rules))
            .interceptor(recorder.clone())
            .build();
        SnsNotifier::new(Client::from_conf(conf))
    }

    fn notification(subject: &str) -> Notification {
        Notification {
            topic_arn: "arn:aws:sns:eu-west-1:123456789012:shiftgate".to_owned(),
            subject: subject.to_owned(),
            body: "Approve the deployment".to_owned(),
            attributes: BTreeMap::from([
                ("deploymentId".to_owned(), "d-1".to_owned()),
                ("reviewer".to_owned(), "ana@example.com".to_owned()),
            ]),
        }
    }

    #[tokio::test]
    async fn publish_sends_string_attributes_and_a_short_subject() {
        // GIVEN a subject that is too long and has line breaks
        let recorder = Recorder::default();
        let rule = mock!(Client::publish)
            .match_requests(|r| {
                let attributes = r.message_attributes().expect("attributes");
                attributes.len() == 2
                    && attributes.values().all(|v| v.data_type() == "String")
                    && attributes["reviewer"].string_value() == Some("ana@example.com")
                    && attributes["deploymentId"].string_value() == Some("d-1")
                    && r.message() == Some("Approve the deployment")
            })
            .then_output(|| PublishOutput::builder().message_id("m-1").build());
        let notifier = notifier(&[&rule], &recorder);
        let long = format!("Approval needed\r\nfor {}", "x".repeat(200));

        // WHEN published
        let id = notifier
            .publish(&notification(&long))
            .await
            .expect("publish");

        // THEN the wire carries String attributes and a clean subject of < 100 chars
        assert_eq!(id, "m-1");
        let sent = &recorder.sent()[0];
        let subject = sent.field("Subject").expect("subject sent");
        assert!(subject.chars().count() <= MAX_SUBJECT_CHARS, "{subject}");
        assert!(subject.starts_with("Approval needed for xxx"), "{subject}");
        assert!(!subject.contains(['\r', '\n']));
        // The SDK keeps attributes in a hash map, so entries come in any order.
        let form = sent.form();
        let field = |key: String| {
            form.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let sent_attributes: BTreeMap<String, (String, String)> = (1..=2)
            .map(|n| {
                let entry = format!("MessageAttributes.entry.{n}");
                (
                    field(format!("{entry}.Name")),
                    (
                        field(format!("{entry}.Value.DataType")),
                        field(format!("{entry}.Value.StringValue")),
                    ),
                )
            })
            .collect();
        let string = |v: &str| ("String".to_owned(), v.to_owned());
        assert_eq!(
            sent_attributes,
            BTreeMap::from([
                ("deploymentId".to_owned(), string("d-1")),
                ("reviewer".to_owned(), string("ana@example.com")),
            ])
        );
    }

    #[tokio::test]
    async fn sns_throttled_code_is_retried() {
        // GIVEN SNS answers `Throttled` once (a code the SDK does not know)
        let recorder = Recorder::default();
        let rule = mock!(Client::publish)
            .sequence()
            .http_status(
                400,
                Some(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>Throttled</Code>\
                     <Message>Rate exceeded</Message></Error></ErrorResponse>"
                        .to_owned(),
                ),
            )
            .output(|| PublishOutput::builder().message_id("m-2").build())
            .build();
        let notifier = notifier(&[&rule], &recorder);

        // WHEN published
        let id = notifier.publish(&notification("Hi")).await;

        // THEN the second attempt succeeds
        assert_eq!(id.expect("publish"), "m-2");
        assert_eq!(recorder.sent().len(), 2);
    }

    #[tokio::test]
    async fn a_missing_topic_is_not_found() {
        let recorder = Recorder::default();
        let rule = mock!(Client::publish)
            .sequence()
            .http_status(
                404,
                Some(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code>\
                     <Message>Topic does not exist</Message></Error></ErrorResponse>"
                        .to_owned(),
                ),
            )
            .build();
        let notifier = notifier(&[&rule], &recorder);

        let result = notifier.publish(&notification("Hi")).await;

        assert!(matches!(result, Err(PortError::NotFound(_))), "{result:?}");
    }

    #[test]
    fn subjects_lose_control_characters_and_length() {
        assert_eq!(sns_subject("  a\n\nb\tc  "), "a b c");
        assert_eq!(
            sns_subject(&"é".repeat(150)).chars().count(),
            MAX_SUBJECT_CHARS
        );
        assert_eq!(sns_subject("\n"), "");
    }
}
