//! Decides approvals for `--approve auto|reject` the way a reviewer would: a
//! real HTTP POST of the approval form to the local approval server.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// The HTTP status and body of the POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Response body.
    pub body: String,
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
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not a local http link: {url}"))?;
    let (host, path_and_query) = rest
        .split_once('/')
        .ok_or_else(|| format!("no path in {url}"))?;
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
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
    let request = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: shiftgate-local-approver\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(host)
        .await
        .map_err(|e| format!("cannot reach {host}: {e}"))?;
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            format!(
                "not an HTTP response: {}",
                text.chars().take(80).collect::<String>()
            )
        })?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok(Reply { status, body })
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
