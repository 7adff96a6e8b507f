//! Requests to the approval endpoint as a Lambda function URL delivers them
//! (the API Gateway HTTP API v2 payload), and reading its answers.

use lambda_http::{Body, Request, Response};

/// The client address a [`FunctionUrlRequest`] comes from unless told otherwise.
pub const SOURCE_IP: &str = "203.0.113.7";

/// The browser a [`FunctionUrlRequest`] comes from unless told otherwise.
pub const USER_AGENT: &str = "Mozilla/5.0 (test)";

/// A function URL request, built up and turned into the [`Request`] the
/// endpoint's handler receives.
///
/// ```ignore
/// let get = FunctionUrlRequest::get(&link.path).query(&link.query()).build();
/// let post = FunctionUrlRequest::post(&link.path).form(&[("decision", "approve")]).build();
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct FunctionUrlRequest {
    method: String,
    path: String,
    query: String,
    body: Option<String>,
    source_ip: String,
    user_agent: String,
}

impl FunctionUrlRequest {
    /// A `method` request of `path` (`/approvals/<deployment>/<approval>`),
    /// without query or body, from [`SOURCE_IP`] with [`USER_AGENT`].
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            query: String::new(),
            body: None,
            source_ip: SOURCE_IP.into(),
            user_agent: USER_AGENT.into(),
        }
    }

    /// A `GET` of `path`.
    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    /// A `POST` to `path`.
    pub fn post(path: &str) -> Self {
        Self::new("POST", path)
    }

    /// The raw query string, without `?` (`link=…&secret=…`).
    pub fn query(mut self, query: &str) -> Self {
        self.query = query.into();
        self
    }

    /// The raw body (sent as `application/x-www-form-urlencoded`).
    pub fn body(mut self, body: &str) -> Self {
        self.body = Some(body.into());
        self
    }

    /// `fields` as the body, encoded as a browser encodes a form ([`form_body`]).
    pub fn form(self, fields: &[(&str, &str)]) -> Self {
        let body = form_body(fields);
        self.body(&body)
    }

    /// The client address the function URL reports (`requestContext.http.sourceIp`).
    pub fn source_ip(mut self, source_ip: &str) -> Self {
        self.source_ip = source_ip.into();
        self
    }

    /// The browser's `User-Agent`, in the header and in `requestContext.http.userAgent`.
    pub fn user_agent(mut self, user_agent: &str) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The event as JSON, exactly as Lambda would deliver it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": {
                "host": "abcdef.example.invalid",
                "user-agent": self.user_agent,
                "content-type": "application/x-www-form-urlencoded"
            },
            "requestContext": {
                "accountId": "anonymous",
                "apiId": "abcdef",
                "domainName": "abcdef.example.invalid",
                "domainPrefix": "abcdef",
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": self.source_ip,
                    "userAgent": self.user_agent
                },
                "requestId": "req-1",
                "routeKey": "$default",
                "stage": "$default",
                "time": "22/Nov/2026:12:00:00 +0000",
                "timeEpoch": 1795262400000u64
            },
            "body": self.body,
            "isBase64Encoded": false
        })
    }

    /// The request as the endpoint's handler receives it.
    pub fn build(&self) -> Request {
        lambda_http::request::from_str(&self.to_json().to_string()).expect("a function URL event")
    }
}

/// `application/x-www-form-urlencoded`, as a browser encodes a form.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                b => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A response's body as text (lossy: the endpoint only answers UTF-8).
pub fn body_text(response: &Response<Body>) -> String {
    String::from_utf8_lossy(response.body().as_ref()).into_owned()
}

#[cfg(test)]
mod tests {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;

    use super::*;

    #[test]
    fn the_request_carries_what_a_function_url_reports() {
        // GIVEN a form post from a given client
        let request = FunctionUrlRequest::post("/approvals/d1/a1")
            .query("link=l1")
            .form(&[("decision", "approve"), ("comment", "ok & done")])
            .source_ip("198.51.100.2")
            .user_agent("test")
            .build();
        // THEN the handler sees the path, query, body, address and agent
        assert_eq!(request.method(), "POST");
        assert_eq!(request.raw_http_path(), "/approvals/d1/a1");
        assert_eq!(request.query_string_parameters().first("link"), Some("l1"));
        assert_eq!(
            request.body().as_ref(),
            b"decision=approve&comment=ok+%26+done"
        );
        match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => {
                assert_eq!(context.http.source_ip.as_deref(), Some("198.51.100.2"));
                assert_eq!(context.http.user_agent.as_deref(), Some("test"));
            }
            other => panic!("unexpected context {other:?}"),
        }
    }
}
