//! Lambda adapters: [`LambdaAliases`] reads and routes an alias, and
//! [`LambdaInvoker`] runs hooks and smoke tests synchronously.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{AliasRoutingConfiguration, InvocationType};
use aws_sdk_lambda::Client;

use super::error::{Failure, TooManyRequests};
use crate::ports::{AliasControl, AliasState, FunctionInvoker, InvocationResult, PortError};

/// The client configuration for Lambda, derived from the shared `sdk` config.
pub(crate) fn client_config(sdk: &SdkConfig) -> aws_sdk_lambda::config::Builder {
    aws_sdk_lambda::config::Builder::from(sdk).retry_classifier(TooManyRequests)
}

/// Alias routing through Lambda's control plane (`GetAlias`, `UpdateAlias`,
/// `GetFunctionConfiguration`).
#[derive(Debug, Clone)]
pub struct LambdaAliases {
    client: Client,
}

impl LambdaAliases {
    /// Alias control using `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// Maps a failure, with `ResourceNotFoundException` as [`PortError::NotFound`].
fn lambda_error(failure: Failure, operation: &str) -> PortError {
    if failure.is("ResourceNotFoundException") {
        PortError::NotFound(failure.summary(operation))
    } else {
        failure.into_port_error(operation)
    }
}

fn alias_state(
    function_version: Option<&str>,
    routing: Option<&AliasRoutingConfiguration>,
    revision_id: Option<&str>,
) -> AliasState {
    AliasState {
        function_version: function_version.unwrap_or_default().to_owned(),
        additional_version_weights: routing
            .and_then(AliasRoutingConfiguration::additional_version_weights)
            .map(|weights| weights.iter().map(|(v, w)| (v.clone(), *w)).collect())
            .unwrap_or_default(),
        revision_id: revision_id.map(str::to_owned),
    }
}

#[async_trait]
impl AliasControl for LambdaAliases {
    async fn get_alias(&self, function_name: &str, alias: &str) -> Result<AliasState, PortError> {
        let output = self
            .client
            .get_alias()
            .function_name(function_name)
            .name(alias)
            .send()
            .await
            .map_err(|err| lambda_error(Failure::of(&err), "GetAlias"))?;
        Ok(alias_state(
            output.function_version(),
            output.routing_config(),
            output.revision_id(),
        ))
    }

    async fn update_alias(
        &self,
        function_name: &str,
        alias: &str,
        function_version: &str,
        additional_version_weights: &BTreeMap<String, f64>,
    ) -> Result<AliasState, PortError> {
        // Always send a routing config, empty when there is nothing to route:
        // UpdateAlias leaves an omitted RoutingConfig as it was, so omitting it
        // on promote or rollback would keep sending traffic to the old extra
        // version. An empty map clears it.
        let weights: HashMap<String, f64> = additional_version_weights
            .iter()
            .map(|(version, weight)| (version.clone(), *weight))
            .collect();
        let routing = AliasRoutingConfiguration::builder()
            .set_additional_version_weights(Some(weights))
            .build();
        let output = self
            .client
            .update_alias()
            .function_name(function_name)
            .name(alias)
            .function_version(function_version)
            .routing_config(routing)
            .send()
            .await
            .map_err(|err| lambda_error(Failure::of(&err), "UpdateAlias"))?;
        Ok(alias_state(
            output.function_version(),
            output.routing_config(),
            output.revision_id(),
        ))
    }

    async fn version_exists(&self, function_name: &str, version: &str) -> Result<bool, PortError> {
        match self
            .client
            .get_function_configuration()
            .function_name(function_name)
            .qualifier(version)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err) => {
                let failure = Failure::of(&err);
                if failure.is("ResourceNotFoundException") {
                    Ok(false)
                } else {
                    Err(failure.into_port_error("GetFunctionConfiguration"))
                }
            }
        }
    }
}

/// Synchronous (`RequestResponse`) invocation of hook and smoke-test functions.
///
/// The SDK retries throttling and transient server errors; a retried invoke may
/// run the function twice, so hooks must be idempotent (they are also retried
/// by the workflow for the same reason).
#[derive(Debug, Clone)]
pub struct LambdaInvoker {
    client: Client,
}

impl LambdaInvoker {
    /// An invoker using `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// A response payload as JSON: `null` when empty, the text as a JSON string
/// when it is not JSON (a function may return anything).
fn payload_json(bytes: &[u8]) -> serde_json::Value {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return serde_json::Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

#[async_trait]
impl FunctionInvoker for LambdaInvoker {
    async fn invoke(
        &self,
        function: &str,
        qualifier: Option<&str>,
        payload: &serde_json::Value,
    ) -> Result<InvocationResult, PortError> {
        let body = serde_json::to_vec(payload).map_err(|e| {
            PortError::Service(format!("Invoke {function}: encoding the payload: {e}"))
        })?;
        let output = self
            .client
            .invoke()
            .function_name(function)
            .set_qualifier(qualifier.map(str::to_owned))
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(body))
            .send()
            .await
            .map_err(|err| lambda_error(Failure::of(&err), "Invoke"))?;
        Ok(InvocationResult {
            function_error: output.function_error().map(str::to_owned),
            payload: output
                .payload()
                .map(|blob| payload_json(blob.as_ref()))
                .unwrap_or(serde_json::Value::Null),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use aws_sdk_lambda::operation::get_alias::GetAliasOutput;
    use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
    use aws_sdk_lambda::operation::invoke::InvokeOutput;
    use aws_sdk_lambda::operation::update_alias::UpdateAliasOutput;
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::AliasRoutingConfiguration;
    use aws_sdk_lambda::Client;
    use aws_smithy_mocks::{mock, Rule};
    use serde_json::json;

    use super::{client_config, LambdaAliases, LambdaInvoker};
    use crate::ports::{AliasControl, FunctionInvoker, PortError};
    use crate::testing::aws::{mocks, test_sdk_config, Recorder};

    const THROTTLED: &str =
        r#"{"__type":"TooManyRequestsException","message":"Rate exceeded","Type":"User"}"#;

    fn client(rules: &[&Rule], recorder: &Recorder) -> Client {
        let conf = client_config(&test_sdk_config())
            .interceptor(mocks(rules))
            .interceptor(recorder.clone())
            .build();
        Client::from_conf(conf)
    }

    fn weights(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(v, w)| (v.to_string(), *w)).collect()
    }

    fn updated() -> UpdateAliasOutput {
        UpdateAliasOutput::builder()
            .function_version("7")
            .routing_config(
                AliasRoutingConfiguration::builder()
                    .additional_version_weights("8", 0.1)
                    .build(),
            )
            .revision_id("rev-2")
            .build()
    }

    #[tokio::test]
    async fn update_alias_sends_version_and_fractional_weights() {
        // GIVEN an alias to move to version 7 with 10 % on version 8
        let recorder = Recorder::default();
        let rule = mock!(Client::update_alias)
            .match_requests(|r| {
                r.function_name() == Some("orders")
                    && r.name() == Some("live")
                    && r.function_version() == Some("7")
                    && r.routing_config()
                        .and_then(|c| c.additional_version_weights())
                        == Some(&HashMap::from([("8".to_owned(), 0.1)]))
            })
            .then_output(updated);
        let aliases = LambdaAliases::new(client(&[&rule], &recorder));

        // WHEN the alias is updated
        let state = aliases
            .update_alias("orders", "live", "7", &weights(&[("8", 0.1)]))
            .await
            .expect("update succeeds");

        // THEN exactly that version and that fraction went on the wire
        let sent = recorder.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].method, "PUT");
        assert!(
            sent[0].uri.contains("/functions/orders/aliases/live"),
            "{}",
            sent[0].uri
        );
        assert_eq!(
            sent[0].json(),
            json!({"FunctionVersion": "7", "RoutingConfig": {"AdditionalVersionWeights": {"8": 0.1}}})
        );
        assert_eq!(state.function_version, "7");
        assert_eq!(state.additional_version_weights, weights(&[("8", 0.1)]));
        assert_eq!(state.revision_id.as_deref(), Some("rev-2"));
    }

    #[tokio::test]
    async fn update_alias_with_no_weights_sends_an_empty_routing_config() {
        // GIVEN a promote: everything to version 8, nothing routed elsewhere
        let recorder = Recorder::default();
        let rule = mock!(Client::update_alias)
            .match_requests(|r| {
                r.routing_config()
                    .and_then(|c| c.additional_version_weights())
                    .is_some_and(HashMap::is_empty)
            })
            .then_output(|| UpdateAliasOutput::builder().function_version("8").build());
        let aliases = LambdaAliases::new(client(&[&rule], &recorder));

        // WHEN the alias is updated with empty weights
        let state = aliases
            .update_alias("orders", "live", "8", &BTreeMap::new())
            .await
            .expect("update succeeds");

        // THEN an empty routing config is sent, which clears the old routing
        assert_eq!(
            recorder.sent()[0].json(),
            json!({"FunctionVersion": "8", "RoutingConfig": {"AdditionalVersionWeights": {}}})
        );
        assert!(state.additional_version_weights.is_empty());
    }

    #[tokio::test]
    async fn get_alias_maps_an_existing_routing_config() {
        // GIVEN an alias already routing 25 % to version 4
        let recorder = Recorder::default();
        let rule = mock!(Client::get_alias)
            .match_requests(|r| r.function_name() == Some("orders") && r.name() == Some("live"))
            .then_output(|| {
                GetAliasOutput::builder()
                    .function_version("3")
                    .routing_config(
                        AliasRoutingConfiguration::builder()
                            .additional_version_weights("4", 0.25)
                            .build(),
                    )
                    .revision_id("rev-1")
                    .build()
            });
        let aliases = LambdaAliases::new(client(&[&rule], &recorder));

        // WHEN it is read
        let state = aliases.get_alias("orders", "live").await.expect("read");

        // THEN the version, the weights and the revision are captured
        assert_eq!(state.function_version, "3");
        assert_eq!(state.additional_version_weights, weights(&[("4", 0.25)]));
        assert_eq!(state.revision_id.as_deref(), Some("rev-1"));
    }

    #[tokio::test]
    async fn throttled_update_alias_succeeds_after_retries() {
        // GIVEN Lambda answers 429 TooManyRequestsException twice, then succeeds
        let recorder = Recorder::default();
        let rule = mock!(Client::update_alias)
            .sequence()
            .http_status(429, Some(THROTTLED.to_owned()))
            .times(2)
            .output(updated)
            .build();
        let aliases = LambdaAliases::new(client(&[&rule], &recorder));

        // WHEN the alias is updated
        let result = aliases
            .update_alias("orders", "live", "7", &weights(&[("8", 0.1)]))
            .await;

        // THEN the SDK retried and the third attempt won
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(rule.num_calls(), 3);
        assert_eq!(recorder.sent().len(), 3);
    }

    #[tokio::test]
    async fn exhausted_throttling_is_reported_as_throttled() {
        // GIVEN Lambda throttles every attempt
        let recorder = Recorder::default();
        let rule = mock!(Client::update_alias)
            .sequence()
            .http_status(429, Some(THROTTLED.to_owned()))
            .times(crate::adapters::aws::MAX_ATTEMPTS as usize)
            .build();
        let aliases = LambdaAliases::new(client(&[&rule], &recorder));

        // WHEN the alias is updated
        let result = aliases
            .update_alias("orders", "live", "7", &BTreeMap::new())
            .await;

        // THEN every attempt was made and the caller learns it was throttling
        assert!(matches!(result, Err(PortError::Throttled(_))), "{result:?}");
        assert_eq!(
            recorder.sent().len(),
            crate::adapters::aws::MAX_ATTEMPTS as usize
        );
    }

    #[tokio::test]
    async fn get_alias_of_a_missing_function_is_not_found() {
        let recorder = Recorder::default();
        let rule = mock!(Client::get_alias)
            .sequence()
            .http_status(
                404,
                Some(
                    r#"{"__type":"ResourceNotFoundException","Message":"Function not found"}"#
                        .to_owned(),
                ),
            )
            .build();
        let aliases = LambdaAliases::new(client(&[&rule], &recorder));

        let result = aliases.get_alias("missing", "live").await;

        assert!(matches!(result, Err(PortError::NotFound(_))), "{result:?}");
    }

    #[tokio::test]
    async fn version_exists_asks_for_the_qualified_configuration() {
        // GIVEN version 7 exists and version 9 does not
        let recorder = Recorder::default();
        let found = mock!(Client::get_function_configuration)
            .match_requests(|r| r.function_name() == Some("orders") && r.qualifier() == Some("7"))
            .then_output(|| {
                GetFunctionConfigurationOutput::builder()
                    .version("7")
                    .build()
            });
        let missing = mock!(Client::get_function_configuration)
            .match_requests(|r| r.qualifier() == Some("9"))
            .sequence()
            .http_status(
                404,
                Some(
                    r#"{"__type":"ResourceNotFoundException","Message":"Function not found"}"#
                        .to_owned(),
                ),
            )
            .build();
        let aliases = LambdaAliases::new(client(&[&found, &missing], &recorder));

        // WHEN / THEN
        assert!(aliases.version_exists("orders", "7").await.expect("answer"));
        assert!(!aliases.version_exists("orders", "9").await.expect("answer"));
    }

    #[tokio::test]
    async fn invoke_returns_function_error_and_json_payload() {
        // GIVEN a hook that raised
        let recorder = Recorder::default();
        let rule = mock!(Client::invoke)
            .match_requests(|r| {
                r.function_name() == Some("hook")
                    && r.qualifier() == Some("live")
                    && r.payload().map(|p| p.as_ref()) == Some(br#"{"step":1}"#.as_slice())
            })
            .then_output(|| {
                InvokeOutput::builder()
                    .status_code(200)
                    .function_error("Unhandled")
                    .payload(Blob::new(r#"{"errorMessage":"boom"}"#))
                    .build()
            });
        let invoker = LambdaInvoker::new(client(&[&rule], &recorder));

        // WHEN it is invoked at an alias
        let result = invoker
            .invoke("hook", Some("live"), &json!({"step": 1}))
            .await
            .expect("invoke");

        // THEN the error and the parsed payload come back, synchronously invoked
        assert_eq!(result.function_error.as_deref(), Some("Unhandled"));
        assert_eq!(result.payload, json!({"errorMessage": "boom"}));
        let sent = &recorder.sent()[0];
        assert_eq!(
            sent.header("X-Amz-Invocation-Type"),
            Some("RequestResponse")
        );
        assert!(sent.uri.contains("Qualifier=live"), "{}", sent.uri);
    }

    #[tokio::test]
    async fn invoke_wraps_a_non_json_payload_in_a_string() {
        let recorder = Recorder::default();
        let rule = mock!(Client::invoke)
            .match_requests(|r| r.qualifier().is_none())
            .then_output(|| {
                InvokeOutput::builder()
                    .status_code(200)
                    .payload(Blob::new("all good"))
                    .build()
            });
        let invoker = LambdaInvoker::new(client(&[&rule], &recorder));

        let result = invoker
            .invoke("smoke", None, &json!({}))
            .await
            .expect("invoke");

        assert_eq!(result.function_error, None);
        assert_eq!(result.payload, json!("all good"));
    }
}
