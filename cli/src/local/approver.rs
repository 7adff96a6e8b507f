//! Decides approvals for `--approve auto|reject` the way a reviewer would: a
//! real HTTP POST of the approval form to the local approval server.

use super::http::{self, Reply};

/// What to do with approval links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ApproveMode {
    /// Approve every link through the approval page's form.
    Auto,
    /// Reject through the approval page's form.
    Reject,
    /// Print the link; a person opens it in a browser and decides.
    Manual,
}

fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// POST the decision for the link `url` (`http://127.0.0.1:<port>/approvals/…?link=…&secret=…`).
pub async fn submit(url: &str, approve: bool, name: &str, comment: &str) -> Result<Reply, String> {
    let (page, query) = url.split_once('?').unwrap_or((url, ""));
    let mut fields: Vec<(String, String)> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    fields.push((
        "decision".into(),
        if approve { "approve" } else { "reject" }.into(),
    ));
    fields.push(("name".into(), form_encode(name)));
    fields.push(("comment".into(), form_encode(comment)));
    let body = fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    http::post(
        page,
        "application/x-www-form-urlencoded",
        &[("User-Agent", "shiftgate-local-approver")],
        &body,
    )
    .await
}

/// The approval link in a notification body, if any.
pub fn link_in(body: &str) -> Option<String> {
    body.split_whitespace()
        .find(|word| word.starts_with("http://") && word.contains("/approvals/"))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_link_and_encodes_form_values() {
        let body = "Open this link:\nhttp://127.0.0.1:9/approvals/d/a?link=1&secret=2\n";
        assert_eq!(
            link_in(body).unwrap(),
            "http://127.0.0.1:9/approvals/d/a?link=1&secret=2"
        );
        assert_eq!(form_encode("a b&c<"), "a+b%26c%3C");
    }
}
