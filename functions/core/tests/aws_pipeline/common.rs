//! Helpers every handler's pipeline test shares: scripted S3, Lambda and SNS
//! answers, the transcript of what was sent, and the record `prepare` writes.

use aws_sdk_lambda::operation::get_alias::GetAliasOutput;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_sdk_lambda::operation::update_alias::UpdateAliasOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::AliasRoutingConfiguration;
use aws_sdk_lambda::Client as Lambda;
use aws_sdk_s3::operation::delete_object::DeleteObjectOutput;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client as S3;
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_sdk_sns::Client as Sns;
use aws_smithy_mocks::{mock, Rule};
use chrono::{DateTime, Utc};
use shiftgate_core::contracts::{PrepareInput, ShiftTrafficInput};
use shiftgate_core::handlers::{prepare, shift_traffic};
use shiftgate_core::record::DeploymentRecord;
pub use shiftgate_core::testing::aws::{services, Recorder, Script, SentRequest};
pub use shiftgate_core::testing::request_json;

/// The deployment every test runs (the execution name `prepare` is given).
pub const ID: &str = "dep-1";
/// Where `dep-1`'s record is kept.
pub const RECORD: &str = "deployments/dep-1/record.json";
/// The lock of `checkout:live`.
pub const LOCK: &str = "locks/checkout/live.json";
/// `dep-1`'s entry in the history of `checkout:live`.
pub const HISTORY: &str = "history/checkout/live/20261122T120000Z-dep-1.json";
/// S3's answer to a read of a missing object.
pub const NO_SUCH_KEY: &str = "<Error><Code>NoSuchKey</Code>\
    <Message>The specified key does not exist.</Message></Error>";
/// S3's answer to a conditional write whose condition does not hold.
pub const PRECONDITION_FAILED: &str = "<Error><Code>PreconditionFailed</Code>\
    <Message>At least one of the pre-conditions you specified did not hold</Message></Error>";

/// When `prepare` ran, and the clock of every later handler unless a test says otherwise.
pub fn started() -> DateTime<Utc> {
    shiftgate_core::testing::start()
}

// ----- scripted answers ------------------------------------------------------

pub fn s3_missing(key: &'static str) -> Rule {
    mock!(S3::get_object)
        .match_requests(move |r| r.key() == Some(key))
        .sequence()
        .http_status(404, Some(NO_SUCH_KEY.to_owned()))
        .build()
}

pub fn s3_get(key: &'static str, body: &[u8], etag: &'static str) -> Rule {
    let body = body.to_vec();
    mock!(S3::get_object)
        .match_requests(move |r| r.key() == Some(key))
        .then_output(move || {
            GetObjectOutput::builder()
                .e_tag(etag)
                .body(ByteStream::from(body.clone()))
                .build()
        })
}

pub fn s3_list_empty(prefix: &'static str) -> Rule {
    mock!(S3::list_objects_v2)
        .match_requests(move |r| r.prefix() == Some(prefix))
        .then_output(|| {
            aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output::builder().build()
        })
}

pub fn s3_put(key: &'static str, etag: &'static str) -> Rule {
    mock!(S3::put_object)
        .match_requests(move |r| r.key() == Some(key))
        .then_output(move || PutObjectOutput::builder().e_tag(etag).build())
}

pub fn s3_put_under(prefix: &'static str, etag: &'static str) -> Rule {
    mock!(S3::put_object)
        .match_requests(move |r| r.key().is_some_and(|k| k.starts_with(prefix)))
        .then_output(move || PutObjectOutput::builder().e_tag(etag).build())
}

pub fn s3_put_refused(key: &'static str) -> Rule {
    mock!(S3::put_object)
        .match_requests(move |r| r.key() == Some(key))
        .sequence()
        .http_status(412, Some(PRECONDITION_FAILED.to_owned()))
        .build()
}

pub fn s3_delete(key: &'static str) -> Rule {
    mock!(S3::delete_object)
        .match_requests(move |r| r.key() == Some(key))
        .then_output(|| DeleteObjectOutput::builder().build())
}

pub fn version_published(version: &'static str) -> Rule {
    mock!(Lambda::get_function_configuration).then_output(move || {
        GetFunctionConfigurationOutput::builder()
            .version(version)
            .build()
    })
}

pub fn alias_at(version: &'static str, weights: &'static [(&'static str, f64)]) -> Rule {
    mock!(Lambda::get_alias).then_output(move || {
        let routing = weights
            .iter()
            .fold(AliasRoutingConfiguration::builder(), |b, (v, w)| {
                b.additional_version_weights(*v, *w)
            })
            .build();
        GetAliasOutput::builder()
            .function_version(version)
            .routing_config(routing)
            .revision_id("rev-1")
            .build()
    })
}

pub fn alias_updated() -> Rule {
    mock!(Lambda::update_alias).then_compute_output(|r| {
        UpdateAliasOutput::builder()
            .set_function_version(r.function_version().map(str::to_owned))
            .set_routing_config(r.routing_config().cloned())
            .revision_id("rev-2")
            .build()
    })
}

pub fn invoked(function: &'static str, answer: serde_json::Value) -> Rule {
    let answer = answer.to_string();
    mock!(Lambda::invoke)
        .match_requests(move |r| r.function_name() == Some(function))
        .then_output(move || {
            InvokeOutput::builder()
                .status_code(200)
                .payload(Blob::new(answer.clone()))
                .build()
        })
}

pub fn published() -> Rule {
    mock!(Sns::publish).then_output(|| PublishOutput::builder().message_id("m-1").build())
}

// ----- reading the transcript ------------------------------------------------

/// One line per request, in the order sent: the operation, what it acts on,
/// and the parts that carry meaning (S3 conditions, Lambda qualifiers, SNS
/// routing attributes).
pub fn transcript(recorder: &Recorder) -> Vec<String> {
    recorder.sent().iter().map(line).collect()
}

pub fn line(request: &SentRequest) -> String {
    let operation = request.operation();
    let path = request.path();
    let mut line = operation.clone();
    if operation.starts_with("S3 ") {
        line = match request.query("prefix") {
            Some(prefix) => format!("{line} prefix={prefix}"),
            None => format!("{line} {}", path.trim_start_matches('/')),
        };
        for condition in ["If-None-Match", "If-Match"] {
            if let Some(value) = request.header(condition) {
                line = format!("{line} {condition}: {value}");
            }
        }
    } else if operation.starts_with("Lambda ") {
        // /2015-03-31/functions/<function>[/aliases/<alias>|/invocations|/configuration]
        let parts: Vec<&str> = path.split('/').collect();
        let function = parts.get(3).copied().unwrap_or_default();
        line = match parts.get(4..6) {
            Some(["aliases", alias]) => format!("{line} {function}:{alias}"),
            _ => format!("{line} {function}"),
        };
        if let Some(qualifier) = request.query("Qualifier") {
            line = format!("{line} Qualifier={qualifier}");
        }
    } else if operation == "SNS Publish" {
        let attributes = request.message_attributes();
        for name in ["kind", "reviewer"] {
            if let Some(value) = attributes.get(name) {
                line = format!("{line} {name}={value}");
            }
        }
    }
    line
}

/// `expected` as owned lines, to compare with a [`transcript`].
pub fn lines(expected: &[&str]) -> Vec<String> {
    expected.iter().map(|l| (*l).to_owned()).collect()
}

/// The requests whose [`line`] starts with `prefix`.
pub fn sent_as(recorder: &Recorder, prefix: &str) -> Vec<SentRequest> {
    recorder
        .sent()
        .into_iter()
        .filter(|r| line(r).starts_with(prefix))
        .collect()
}

/// The body of the last `PutObject` of `key`, as sent.
pub fn put_body(recorder: &Recorder, key: &str) -> Vec<u8> {
    sent_as(recorder, &format!("S3 PutObject {key}"))
        .pop()
        .unwrap_or_else(|| panic!("no PutObject of {key}"))
        .body
}

/// `body` read as a deployment record.
pub fn record_of(body: &[u8]) -> DeploymentRecord {
    serde_json::from_slice(body).expect("a deployment record")
}

// ----- prepare, the source of every record -----------------------------------

/// `prepare`'s input for `request`, run by the execution named `execution`.
pub fn prepare_input(request: serde_json::Value, execution: &str) -> PrepareInput {
    PrepareInput {
        request,
        execution_id: Some(format!(
            "arn:aws:states:eu-west-1:123456789012:execution:shiftgate:{execution}"
        )),
    }
}

/// The script of a `prepare` that succeeds on an alias at version 7 with
/// `weights` already routed.
pub fn prepare_script(weights: &'static [(&'static str, f64)]) -> Script {
    Script {
        s3: vec![
            s3_put(LOCK, "\"lock-1\""),
            s3_missing(RECORD),
            s3_put(RECORD, "\"rec-1\""),
            s3_put(HISTORY, "\"hist-1\""),
        ],
        lambda: vec![version_published("8"), alias_at("7", weights)],
        sns: vec![published()],
        ..Script::default()
    }
}

/// The record `prepare` writes for `request` (deployment `dep-1`, alias at
/// version 7 with `weights`), exactly as it went to S3.
pub async fn prepared(
    request: serde_json::Value,
    weights: &'static [(&'static str, f64)],
) -> Vec<u8> {
    let recorder = Recorder::default();
    let services = services(&prepare_script(weights), &recorder, started());
    prepare(&services, prepare_input(request, ID))
        .await
        .expect("prepare succeeds");
    put_body(&recorder, RECORD)
}

// ----- shift-traffic, the step every later handler reads ----------------------

/// Run shift-traffic to `weight_percent` on `record`; the first GetObject
/// answers ETag `rec-1`, the read of the update answers `rec-2`.
pub async fn shift(record: &[u8], weight_percent: f64, step_index: usize) -> Recorder {
    let recorder = Recorder::default();
    let script = Script {
        s3: vec![
            s3_get(RECORD, record, "\"rec-1\""),
            s3_get(RECORD, record, "\"rec-2\""),
            s3_put(RECORD, "\"rec-3\""),
        ],
        lambda: vec![alias_updated()],
        sns: vec![published()],
        ..Script::default()
    };
    let services = services(&script, &recorder, started());
    shift_traffic(
        &services,
        ShiftTrafficInput {
            deployment_id: ID.into(),
            step_index,
            weight_percent,
            operator_promotion: false,
        },
    )
    .await
    .expect("shift succeeds");
    recorder
}
