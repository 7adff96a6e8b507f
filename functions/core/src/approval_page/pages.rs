//! The controllers: GET shows an approval behind a verified link and changes
//! nothing; POST takes a decision through [`approval::decide`]. Each turns the
//! outcome into a page with the status it deserves.

use lambda_http::http::{header, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, RequestPayloadExt, Response};
use serde::Deserialize;

use super::assets::html_response;
use super::views::{
    bad_request, details, escape, form, message_page, not_valid, unavailable, when,
};
use crate::approval::{self, ApprovalRecord, ApprovalStatus, Credential, DecisionError};
use crate::ports::Services;
use crate::record::DeploymentRecord;
use crate::store;

/// The fields of the decision form (`application/x-www-form-urlencoded`).
#[derive(Debug, Default, Deserialize)]
struct DecisionForm {
    /// The link id from the URL.
    link: Option<String>,
    /// The link's secret from the URL.
    secret: Option<String>,
    /// `approve` or `reject` (the button pressed).
    decision: Option<String>,
    /// Optional free text.
    comment: Option<String>,
    /// The reviewer's name, asked for on a shared link only.
    name: Option<String>,
}

/// The `link` and `secret` query parameters (function URLs pre-parse them;
/// a request built by hand may carry only the raw query).
fn link_query(request: &Request) -> (Option<String>, Option<String>) {
    let parsed = request.query_string_parameters();
    let from_uri = || -> lambda_http::aws_lambda_events::query_map::QueryMap {
        request
            .uri()
            .query()
            .unwrap_or_default()
            .parse()
            .expect("query parsing is infallible")
    };
    let query = if parsed.is_empty() {
        from_uri()
    } else {
        parsed
    };
    let get = |key: &str| query.first(key).map(str::to_string);
    (get("link"), get("secret"))
}

/// What the page can offer for a verified link.
enum Standing {
    /// The reviewer can decide.
    Open,
    /// Decided already (by the quorum, a reject, or this personal link).
    Decided(String),
    /// The gate timed out.
    Expired,
}

/// Whether `link_id` may still decide, judged as the engine would, so GET
/// shows buttons only when a POST could succeed.
fn standing(services: &Services, approval: &ApprovalRecord, link_id: &str) -> Standing {
    let link = approval.links.iter().find(|l| l.link_id == link_id);
    let personal = link.is_some_and(|l| l.reviewer.is_some());
    let via = format!("link:{link_id}");
    match approval.status {
        ApprovalStatus::Approved => {
            return Standing::Decided("This deployment was already approved.".into())
        }
        ApprovalStatus::Rejected => {
            return Standing::Decided("This deployment was already rejected.".into())
        }
        ApprovalStatus::Pending => {}
    }
    if personal && approval.decisions.iter().any(|d| d.via == via) {
        return Standing::Decided("You have decided already with this link.".into());
    }
    if services.clock.now() > approval.expires_at {
        return Standing::Expired;
    }
    Standing::Open
}

/// GET: the approval's details and, while it is open, the decision form.
/// Changes nothing, whoever fetches it.
pub(super) async fn show(
    services: &Services,
    request: &Request,
    path: &str,
    deployment_id: &str,
    approval_id: &str,
) -> Response<Body> {
    let (Some(link_id), Some(secret)) = link_query(request) else {
        return not_valid();
    };
    let approval = match approval::load(services, deployment_id, approval_id).await {
        Ok((approval, _)) => approval,
        Err(error) => return decision_error_page(error),
    };
    let Some(link) = approval::verify_link(&approval, &link_id, &secret) else {
        return not_valid();
    };
    let record = match deployment(services, deployment_id).await {
        Ok(record) => record,
        Err(response) => return response,
    };
    let shared = link.reviewer.is_none();
    let mut html = details(&record, &approval);
    if let Some(reviewer) = &link.reviewer {
        html.push_str(&format!(
            "<p class=\"who\">This link is personal to <strong>{}</strong>.</p>",
            escape(reviewer)
        ));
    }
    let (status, title) = match standing(services, &approval, &link_id) {
        Standing::Open => {
            html.push_str(&form(path, &link_id, &secret, shared));
            (StatusCode::OK, "Approval needed")
        }
        Standing::Decided(why) => {
            html.insert_str(0, &format!("<p class=\"notice\">{}</p>", escape(&why)));
            (StatusCode::CONFLICT, "Already decided")
        }
        Standing::Expired => {
            html.insert_str(
                0,
                &format!(
                    "<p class=\"notice\">This approval expired at {}. The deployment went on as its request says for a timeout.</p>",
                    when(approval.expires_at)
                ),
            );
            (StatusCode::GONE, "Approval expired")
        }
    };
    html_response(status, title, &html)
}

/// POST: take the decision the form carries and confirm it, or say why not.
pub(super) async fn submit(
    services: &Services,
    request: &Request,
    deployment_id: &str,
    approval_id: &str,
) -> Response<Body> {
    let form: DecisionForm = match request.payload() {
        Ok(Some(form)) => form,
        Ok(None) | Err(_) => {
            return bad_request("Send the decision with the page's form.");
        }
    };
    let non_empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let (Some(link_id), Some(secret)) = (non_empty(form.link), non_empty(form.secret)) else {
        return bad_request("The form is missing the link; open the link from your message again.");
    };
    let approve = match form.decision.as_deref() {
        Some("approve") => true,
        Some("reject") => false,
        _ => return bad_request("Choose Approve or Reject."),
    };
    let (source_ip, context_agent) = client(request);
    let user_agent = context_agent.or_else(|| {
        request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    let decision = approval::DecisionRequest {
        deployment_id: deployment_id.to_string(),
        approval_id: approval_id.to_string(),
        credential: Credential::Link {
            link_id,
            secret,
            name: non_empty(form.name),
        },
        approve,
        comment: non_empty(form.comment).map(|c| c.trim().to_string()),
        source_ip,
        user_agent,
    };
    let reviewer_hint = match &decision.credential {
        Credential::Link { name, .. } => name.clone(),
        Credential::Operator(arn) => Some(arn.clone()),
    };
    let approval = match approval::decide(services, decision).await {
        Ok(approval) => approval,
        Err(error) => return decision_error_page(error),
    };
    let reviewer = approval
        .decisions
        .last()
        .map(|d| d.reviewer.clone())
        .or(reviewer_hint)
        .unwrap_or_default();
    let (title, outcome) = match approval.status {
        ApprovalStatus::Approved => (
            "Approved",
            "The approvals needed are in: the deployment goes on within seconds.".to_string(),
        ),
        ApprovalStatus::Rejected => (
            "Rejected",
            "The deployment stops here and rolls back to the version that was live.".to_string(),
        ),
        ApprovalStatus::Pending => (
            "Approval recorded",
            format!(
                "{} of {} approvals so far; the deployment waits for the others.",
                approval::approvers(&approval.decisions),
                approval.quorum
            ),
        ),
    };
    let mut html = format!(
        "<p class=\"notice\">Thank you, {}. Your decision was recorded. {}</p>",
        escape(&reviewer),
        escape(&outcome)
    );
    if let Ok(record) = deployment(services, deployment_id).await {
        html.push_str(&details(&record, &approval));
    }
    html_response(StatusCode::OK, title, &html)
}

/// The client's address and user agent, as the function URL saw them.
fn client(request: &Request) -> (Option<String>, Option<String>) {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => (
            context.http.source_ip.clone(),
            context.http.user_agent.clone(),
        ),
        _ => (None, None),
    }
}

/// The deployment record the page describes; a missing one is the one
/// "not valid" page, an unreadable one "try again".
async fn deployment(
    services: &Services,
    deployment_id: &str,
) -> Result<DeploymentRecord, Response<Body>> {
    match store::load_record(services.store.as_ref(), deployment_id).await {
        Ok((record, _)) => Ok(record),
        Err(store::StoreError::RecordNotFound(_)) => Err(not_valid()),
        Err(error) => {
            tracing::error!(deployment_id = %deployment_id, %error, "deployment record unreadable");
            Err(unavailable())
        }
    }
}

/// The page for a refused decision: 403, 409, 410, 400 or 500, never with
/// backend detail.
fn decision_error_page(error: DecisionError) -> Response<Body> {
    match error {
        DecisionError::NotValid => not_valid(),
        DecisionError::AlreadyDecided(why) => {
            message_page(StatusCode::CONFLICT, "Already decided", &why)
        }
        DecisionError::Expired(at) => message_page(
            StatusCode::GONE,
            "Approval expired",
            &format!(
                "This approval expired at {}. The deployment went on as its request says for a timeout.",
                when(at)
            ),
        ),
        DecisionError::BadRequest(why) => bad_request(&why),
        DecisionError::Backend(error) => {
            tracing::error!(%error, "approval decision failed");
            unavailable()
        }
    }
}
