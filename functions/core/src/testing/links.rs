//! The approval links reviewers were sent, read back out of the published
//! notifications, so a test can follow one as the reviewer would.

use crate::ports::Notification;

/// One approval link as a reviewer received it:
/// `<base>/approvals/<deployment>/<approval>?link=<link>&secret=<secret>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedLink {
    /// The `reviewer` attribute of the message (`None` for a shared link).
    pub reviewer: Option<String>,
    /// The whole URL as written in the message.
    pub url: String,
    /// The URL's path (`/approvals/<deployment>/<approval>`).
    pub path: String,
    /// The link id (the `link` query parameter).
    pub link: String,
    /// The link's secret (the `secret` query parameter), as sent.
    pub secret: String,
}

impl IssuedLink {
    /// The link in `message` that points under `base_url` (with or without
    /// its trailing `/`), if there is one.
    pub fn in_message(reviewer: Option<String>, message: &str, base_url: &str) -> Option<Self> {
        let base = base_url.trim_end_matches('/');
        let url = message
            .split_whitespace()
            .find(|word| word.starts_with(base) && word[base.len()..].starts_with('/'))?;
        let (path, query) = url[base.len()..].split_once('?')?;
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                .map(str::to_owned)
        };
        Some(Self {
            reviewer,
            url: url.to_owned(),
            path: path.to_owned(),
            link: param("link")?,
            secret: param("secret")?,
        })
    }

    /// The query that opens the page: `link=<link>&secret=<secret>`.
    pub fn query(&self) -> String {
        format!("link={}&secret={}", self.link, self.secret)
    }
}

/// The links under `base_url` in every `kind=approval` notification of
/// `published`, in the order they were sent.
///
/// ```ignore
/// let links = issued_links(&h.notifier.published(), APPROVAL_BASE_URL);
/// ```
///
/// # Panics
///
/// If an approval notification carries no such link.
pub fn issued_links(published: &[Notification], base_url: &str) -> Vec<IssuedLink> {
    published
        .iter()
        .filter(|n| n.attributes.get("kind").map(String::as_str) == Some("approval"))
        .map(|n| {
            IssuedLink::in_message(n.attributes.get("reviewer").cloned(), &n.body, base_url)
                .unwrap_or_else(|| panic!("no link under {base_url} in {:?}", n.body))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn notification(kind: &str, reviewer: Option<&str>, body: &str) -> Notification {
        let mut attributes = BTreeMap::from([("kind".to_owned(), kind.to_owned())]);
        if let Some(reviewer) = reviewer {
            attributes.insert("reviewer".into(), reviewer.into());
        }
        Notification {
            topic_arn: "arn:aws:sns:us-east-1:123456789012:shiftgate".into(),
            subject: "subject".into(),
            body: body.into(),
            attributes,
        }
    }

    #[test]
    fn links_are_read_from_approval_messages_only() {
        // GIVEN a start message and one approval message per reviewer
        let published = [
            notification(
                "started",
                None,
                "see http://127.0.0.1:9/x?link=no&secret=no",
            ),
            notification(
                "approval",
                Some("ana"),
                "Open\nhttp://127.0.0.1:9/approvals/d1/a1?link=l1&secret=s1\nto decide.",
            ),
            notification(
                "approval",
                None,
                "http://127.0.0.1:9/approvals/d1/a1?link=l2&secret=s2",
            ),
        ];
        // WHEN the links under the server's base are read
        let links = issued_links(&published, "http://127.0.0.1:9/");
        // THEN each approval message gives its reviewer, path, link and secret
        assert_eq!(
            links[0],
            IssuedLink {
                reviewer: Some("ana".into()),
                url: "http://127.0.0.1:9/approvals/d1/a1?link=l1&secret=s1".into(),
                path: "/approvals/d1/a1".into(),
                link: "l1".into(),
                secret: "s1".into(),
            }
        );
        assert_eq!(links[0].query(), "link=l1&secret=s1");
        assert_eq!((links[1].reviewer.as_deref(), links.len()), (None, 2));
    }
}
