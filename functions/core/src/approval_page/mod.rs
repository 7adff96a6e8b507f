//! The approval endpoint: the page a reviewer opens from an approval link.
//!
//! ```text
//! GET  /approvals/<deployment>/<approval>?link=<id>&secret=<s>   show; changes nothing
//! POST /approvals/<deployment>/<approval>                         decide (form: link,
//!      secret, decision=approve|reject, comment, name)
//! ```
//!
//! GET never decides because mail scanners and link previewers fetch every
//! link in a message; only a POST carrying the secret does, through
//! [`approval::decide`](crate::approval::decide). The same handler runs behind
//! the Lambda function URL (`approval-endpoint`) and behind `shiftgate local`'s
//! loopback server.
//!
//! What a response may carry: the page never shows the task token (it is not
//! even read here), never reflects a secret that did not verify, and answers an
//! unknown approval, link or secret with one and the same 403 page so a guesser
//! learns nothing. Every stored or submitted text is HTML-escaped. Logs hold
//! ids, the method and the status: never the query string, the body or the secret.
//!
//! Layout: routing is here; `pages` holds the GET and POST controllers,
//! `views` builds the HTML, `assets` holds the style sheet, the content
//! security policy and the headers every page carries, and `tests` drives it
//! all end to end.

mod assets;
mod pages;
mod views;

use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};

use crate::ports::Services;
use pages::{show, submit};
use views::message_page;

pub use views::escape;

/// Serve one request to the approval endpoint. Every outcome is a page, so
/// this never fails: the runtime has nothing to log about a request.
pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    let path = request.uri().path().to_string();
    let Some((deployment_id, approval_id)) = route(&path) else {
        return message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing here. Open the approval link from your message.",
        );
    };
    let method = request.method().clone();
    let response = match method {
        Method::GET | Method::HEAD => {
            show(services, &request, &path, deployment_id, approval_id).await
        }
        Method::POST => submit(services, &request, deployment_id, approval_id).await,
        _ => {
            let mut response = message_page(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed",
                "Open the link to see the approval; use its buttons to decide.",
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
            response
        }
    };
    tracing::info!(
        deployment_id = %deployment_id,
        approval_id = %approval_id,
        method = %method,
        status = response.status().as_u16(),
        "approval page"
    );
    response
}

/// `<anything>/approvals/<deployment>/<approval>[/]` → the two ids. A prefix
/// is allowed so the page also works behind a path-mapped domain.
fn route(path: &str) -> Option<(&str, &str)> {
    let mut segments = path.trim_end_matches('/').rsplit('/');
    let approval_id = segments.next()?;
    let deployment_id = segments.next()?;
    (segments.next()? == "approvals" && !approval_id.is_empty() && !deployment_id.is_empty())
        .then_some((deployment_id, approval_id))
}

#[cfg(test)]
mod tests;
