//! What every page carries: the one style sheet, the content security policy
//! that allows exactly it, and the headers that keep a page holding a secret
//! out of caches, referrers, frames and search engines.

use std::sync::LazyLock;

use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Response};
use sha2::{Digest, Sha256};

use super::views::escape;

/// The page's only style sheet. Colours keep at least 4.5:1 contrast; the
/// layout is one column so it reads on a phone.
const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:40rem;padding:1rem;color:#1a1a1a;background:#fff}\
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.5rem}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0}\
.notice{padding:.75rem;border-left:4px solid #1a4d8f;background:#eef3fa}\
.ok{color:#1b5e20;font-weight:600}.bad{color:#a00000;font-weight:600}\
ul.events{padding-left:1.2rem}q{font-style:italic}\
label{display:block;font-weight:600;margin-top:1rem}\
input,textarea{width:100%;box-sizing:border-box;font:inherit;padding:.5rem;border:1px solid #555;border-radius:4px}\
.actions{display:flex;gap:1rem;margin-top:1rem;flex-wrap:wrap}\
button{font:inherit;font-weight:600;padding:.75rem 1.5rem;border:0;border-radius:4px;color:#fff;cursor:pointer;min-width:8rem}\
button.approve{background:#1b5e20}button.reject{background:#a00000}\
button:focus-visible,input:focus-visible,textarea:focus-visible{outline:3px solid #1a4d8f;outline-offset:2px}";

/// CSP allowing exactly [`STYLE`] by hash: no script runs, nothing loads from
/// anywhere, forms post only here, and no site may frame the page.
static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; style-src 'sha256-{}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        base64(&Sha256::digest(STYLE.as_bytes()))
    )
});

/// Standard base64 with padding, for the CSP's style hash (one use does not
/// warrant a dependency).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A whole page: `title` as heading, `content` (already escaped HTML) as
/// its body, with the style sheet and the headers every page carries.
// Every header value is a fixed ASCII string (the policy's hashes are hex), so
// the builder cannot refuse them; a test renders every page.
#[allow(clippy::expect_used)]
pub(super) fn html_response(status: StatusCode, title: &str, content: &str) -> Response<Body> {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex, nofollow\">\
         <title>{title} · shiftgate</title><style>{STYLE}</style></head>\
         <body><main><h1>{title}</h1>{content}</main></body></html>",
        title = escape(title)
    );
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        // A page holding a secret in its form must not be kept or leak its URL.
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(header::X_FRAME_OPTIONS, "DENY")
        .header(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY.as_str(),
        )
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header("x-robots-tag", "noindex, nofollow")
        .body(Body::Text(html))
        .expect("static headers are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_style_hash_in_the_policy_is_the_style_sheet_s() {
        // Known answer: base64 of "hello" and of a 32-byte digest's length.
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        assert_eq!(base64(b"he"), "aGU=");
        assert_eq!(base64(&[0u8; 32]).len(), 44);
        assert!(CONTENT_SECURITY_POLICY.contains(&base64(&Sha256::digest(STYLE.as_bytes()))));
    }
}
