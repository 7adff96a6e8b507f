//! The HTML: the deployment's details, the decision form, one-message pages,
//! and the escaping every stored or submitted text goes through.

use chrono::{DateTime, Utc};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};

use super::assets::html_response;
use crate::approval::{self, ApprovalRecord, MAX_COMMENT_CHARS, MAX_REVIEWER_NAME_CHARS};
use crate::record::{keys, DeploymentRecord, EventKind};

/// The deployment's details: what moves where, health so far, who decided, expiry.
pub(super) fn details(record: &DeploymentRecord, approval: &ApprovalRecord) -> String {
    let mut html = String::from("<dl>");
    let mut row = |term: &str, value: String| {
        html.push_str(&format!("<dt>{term}</dt><dd>{value}</dd>"));
    };
    row(
        "Deployment",
        format!("<code>{}</code>", escape(&record.deployment_id)),
    );
    row(
        "Function",
        format!(
            "<code>{}:{}</code>",
            escape(keys::function_key(record.function_name())),
            escape(record.alias())
        ),
    );
    row(
        "Versions",
        format!(
            "{} → {}",
            escape(record.current_version()),
            escape(record.target_version())
        ),
    );
    row(
        "Traffic now",
        format!(
            "{} % on version {}",
            record.current_weight_percent,
            escape(record.target_version())
        ),
    );
    row(
        "Next step",
        format!(
            "moves <strong>{} %</strong> of traffic to version {}",
            approval.weight_percent,
            escape(record.target_version())
        ),
    );
    row(
        "Approvals",
        format!(
            "{} of {} needed",
            approval::approvers(&approval.decisions),
            approval.quorum
        ),
    );
    row("Expires", when(approval.expires_at));
    html.push_str("</dl>");

    html.push_str("<h2>Health so far</h2>");
    let checks: Vec<_> = record
        .timeline
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::HealthChecked | EventKind::SmokeTest | EventKind::Hook
            )
        })
        .collect();
    if checks.is_empty() {
        html.push_str("<p>No health checks have run yet.</p>");
    } else {
        html.push_str("<ul class=\"events\">");
        // The latest checks matter most; a long bake would make the page too long.
        for event in checks.iter().rev().take(10).rev() {
            let (class, mark) = if event.ok {
                ("ok", "OK")
            } else {
                ("bad", "FAILED")
            };
            html.push_str(&format!(
                "<li><span class=\"{class}\">{mark}</span> {} — {}</li>",
                when(event.at),
                escape(&event.message)
            ));
        }
        html.push_str("</ul>");
    }

    html.push_str("<h2>Decisions</h2>");
    if approval.decisions.is_empty() {
        html.push_str("<p>Nobody has decided yet.</p>");
    } else {
        html.push_str("<ul class=\"events\">");
        // Addresses and user agents stay in the audit record: other reviewers need not see them.
        for decision in &approval.decisions {
            let (class, verb) = if decision.approve {
                ("ok", "approved")
            } else {
                ("bad", "rejected")
            };
            let comment = decision
                .comment
                .as_deref()
                .map(|c| format!("<q>{}</q>", escape(c)))
                .unwrap_or_default();
            html.push_str(&format!(
                "<li><strong>{}</strong> <span class=\"{class}\">{verb}</span> at {} {comment}</li>",
                escape(&decision.reviewer),
                when(decision.at)
            ));
        }
        html.push_str("</ul>");
    }
    html
}

/// The decision form: the link and secret as hidden fields, a name field on a
/// shared link, a comment, and the two buttons.
pub(super) fn form(path: &str, link_id: &str, secret: &str, shared: bool) -> String {
    // The fields hold no more than the record keeps (`approval::MAX_*`).
    let name = if shared {
        format!(
            "<label for=\"name\">Your name</label>\
             <input id=\"name\" name=\"name\" required maxlength=\"{MAX_REVIEWER_NAME_CHARS}\" autocomplete=\"name\">"
        )
    } else {
        String::new()
    };
    // The secret travels in the body, not again in the URL: the form posts to the bare path.
    format!(
        "<form method=\"post\" action=\"{}\">\
         <input type=\"hidden\" name=\"link\" value=\"{}\">\
         <input type=\"hidden\" name=\"secret\" value=\"{}\">\
         {name}\
         <label for=\"comment\">Comment (optional)</label>\
         <textarea id=\"comment\" name=\"comment\" rows=\"3\" maxlength=\"{MAX_COMMENT_CHARS}\"></textarea>\
         <div class=\"actions\">\
         <button type=\"submit\" name=\"decision\" value=\"approve\" class=\"approve\">Approve</button>\
         <button type=\"submit\" name=\"decision\" value=\"reject\" class=\"reject\">Reject</button>\
         </div></form>",
        escape(path),
        escape(link_id),
        escape(secret)
    )
}

/// One page for an unknown approval, link or secret: nothing here helps a guesser.
pub(super) fn not_valid() -> Response<Body> {
    message_page(
        StatusCode::FORBIDDEN,
        "Link not valid",
        "This approval link is not valid. Open the whole link from your message; each link works only for the approval it was sent for.",
    )
}

/// 400: the form was incomplete; `why` says what to do.
pub(super) fn bad_request(why: &str) -> Response<Body> {
    message_page(StatusCode::BAD_REQUEST, "Incomplete form", why)
}

/// 500: the backend failed; the detail goes to the log, not the page.
pub(super) fn unavailable() -> Response<Body> {
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Try again",
        "Your decision could not be handled just now. Please try again in a moment.",
    )
}

/// A page holding one escaped message.
pub(super) fn message_page(status: StatusCode, title: &str, message: &str) -> Response<Body> {
    html_response(
        status,
        title,
        &format!("<p class=\"notice\">{}</p>", escape(message)),
    )
}

/// `2026-11-22 13:00 UTC`: unambiguous for reviewers in any time zone.
pub(super) fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Escape text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
