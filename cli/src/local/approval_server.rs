//! A local HTTP server on 127.0.0.1 that serves the real approval endpoint
//! handler, for `shiftgate local` and the browser test.
//!
//! Each HTTP/1.1 request becomes the `lambda_http::Request` a Lambda function
//! URL would deliver (method, path, headers, body, pre-parsed query string, and
//! an API Gateway HTTP v2 request context whose `sourceIp` is the peer), and
//! [`shiftgate_core::approval_page::handle`] answers it. So the page, the
//! security headers and the decision logic a reviewer meets locally are the
//! deployed ones, byte for byte.
//!
//! It listens only on loopback: the link secret is the only credential, and a
//! laptop's approval page has no business on a shared network.
//!
//! With a control secret it also answers `POST /_control` (see
//! [`super::control`]): the operator commands run against a local run.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::StatusCode;
use hyper_util::rt::TokioIo;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use shiftgate_core::ports::Services;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The largest request body accepted; the decision form is a few hundred bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Stops a running server: it stops accepting, lets requests in flight finish,
/// and closes idle keep-alive connections.
#[derive(Debug)]
pub struct ShutdownHandle {
    signal: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ShutdownHandle {
    /// Stop the server and wait until every connection has closed.
    pub async fn shutdown(self) {
        let _ = self.signal.send(true);
        let _ = self.task.await;
    }
}

/// Serve the approval endpoint on `addr` (a loopback address; port 0 picks a
/// free port), and with `control_secret` the control requests of operator
/// commands. Returns the address actually bound (for approval links such as
/// `http://127.0.0.1:<port>/`) and the handle that stops the server.
pub async fn serve(
    services: Services,
    addr: SocketAddr,
    control_secret: Option<String>,
) -> Result<(SocketAddr, ShutdownHandle)> {
    if !addr.ip().is_loopback() {
        bail!("the local approval server listens on loopback only, not on {addr}");
    }
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let services = Arc::new(services);
    let control_secret: Arc<Option<String>> = Arc::new(control_secret);
    let (signal, mut stop) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                accepted = listener.accept() => {
                    let Ok((stream, peer)) = accepted else { continue };
                    let services = services.clone();
                    let control_secret = control_secret.clone();
                    let mut stop = stop.clone();
                    connections.spawn(async move {
                        let service = service_fn(move |request| {
                            let services = services.clone();
                            let control_secret = control_secret.clone();
                            async move {
                                Ok::<_, Infallible>(
                                    respond(&services, control_secret.as_deref(), request, peer).await,
                                )
                            }
                        });
                        let connection = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service);
                        tokio::pin!(connection);
                        tokio::select! {
                            _ = connection.as_mut() => {}
                            _ = stop.changed() => {
                                connection.as_mut().graceful_shutdown();
                                let _ = connection.await;
                            }
                        }
                    });
                }
            }
        }
        while connections.join_next().await.is_some() {}
    });
    tracing::info!(address = %bound, "approval page served locally");
    Ok((bound, ShutdownHandle { signal, task }))
}

async fn respond(
    services: &Services,
    control_secret: Option<&str>,
    request: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let mut response = hyper::Response::new(Full::new(Bytes::from_static(
                b"request body too large or unreadable",
            )));
            *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return response;
        }
    };
    if parts.method == hyper::Method::POST && parts.uri.path() == super::control::CONTROL_PATH {
        let presented = parts
            .headers
            .get(super::control::SECRET_HEADER)
            .and_then(|v| v.to_str().ok());
        let (status, reply) =
            super::control::serve(services, control_secret, presented, &body).await;
        let mut response = hyper::Response::new(Full::new(Bytes::from(reply)));
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        return response;
    }
    let request = to_lambda_request(parts, body, peer);
    let response = shiftgate_core::approval_page::handle(services, request).await;
    let (parts, body) = response.into_parts();
    hyper::Response::from_parts(parts, Full::new(Bytes::copy_from_slice(body.as_ref())))
}

/// The request as a Lambda function URL would hand it to the function.
pub fn to_lambda_request(
    parts: lambda_http::http::request::Parts,
    body: Bytes,
    peer: SocketAddr,
) -> lambda_http::Request {
    let query: QueryMap = parts
        .uri
        .query()
        .unwrap_or_default()
        .parse()
        .expect("query parsing is infallible");
    let path = parts.uri.path().to_string();
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.stage = Some("$default".into());
    context.http.method = parts.method.clone();
    context.http.path = Some(path.clone());
    context.http.protocol = Some(format!("{:?}", parts.version));
    context.http.source_ip = Some(peer.ip().to_string());
    context.http.user_agent = parts
        .headers
        .get(lambda_http::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = if body.is_empty() {
        lambda_http::Body::Empty
    } else {
        match String::from_utf8(body.to_vec()) {
            Ok(text) => lambda_http::Body::Text(text),
            Err(binary) => lambda_http::Body::Binary(binary.into_bytes()),
        }
    };
    lambda_http::Request::from_parts(parts, body)
        .with_raw_http_path(path)
        .with_query_string_parameters(query)
        .with_request_context(RequestContext::ApiGatewayV2(context))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_carries_the_query_and_the_peer_as_a_function_url_would() {
        // GIVEN a request from 127.0.0.1:5555 with a link query
        let (parts, _) = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/approvals/d1/a1?link=l1&secret=s%2B1")
            .header("user-agent", "test-agent")
            .body(())
            .unwrap()
            .into_parts();
        // WHEN it is converted
        let request = to_lambda_request(
            parts,
            Bytes::from_static(b"decision=approve"),
            "127.0.0.1:5555".parse().unwrap(),
        );
        // THEN the handler sees what a function URL event would give it
        let query = request.query_string_parameters();
        assert_eq!(query.first("link"), Some("l1"));
        assert_eq!(query.first("secret"), Some("s+1"));
        assert_eq!(request.raw_http_path(), "/approvals/d1/a1");
        match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => {
                assert_eq!(context.http.source_ip.as_deref(), Some("127.0.0.1"));
                assert_eq!(context.http.user_agent.as_deref(), Some("test-agent"));
            }
            other => panic!("unexpected context {other:?}"),
        }
        assert_eq!(request.body().as_ref(), b"decision=approve");
    }

    fn memory_services() -> Services {
        use shiftgate_core::adapters::memory::ManualClock;
        use shiftgate_core::testing::MemoryServices;
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        MemoryServices::builder().clock(clock).build().services
    }

    /// One HTTP/1.1 exchange over a fresh connection: (status line, whole response).
    async fn exchange(addr: SocketAddr, request: &str) -> (String, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let status = response.lines().next().unwrap_or_default().to_string();
        (status, response)
    }

    #[tokio::test]
    async fn the_page_is_served_over_http_with_its_headers_then_shuts_down() {
        let (addr, server) = serve(memory_services(), "127.0.0.1:0".parse().unwrap(), None)
            .await
            .unwrap();
        assert!(addr.ip().is_loopback() && addr.port() != 0);
        let (status, response) = exchange(
            addr,
            "GET /approvals/d1/a1?link=l1&secret=nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status, "HTTP/1.1 403 Forbidden");
        let lower = response.to_lowercase();
        for header in [
            "content-type: text/html; charset=utf-8",
            "cache-control: no-store",
            "referrer-policy: no-referrer",
            "x-frame-options: deny",
        ] {
            assert!(lower.contains(header), "{header} missing: {response}");
        }
        let body = "link=l1&secret=nope&decision=approve";
        let (status, _) = exchange(
            addr,
            &format!(
                "POST /approvals/d1/a1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
        .await;
        assert_eq!(status, "HTTP/1.1 403 Forbidden");
        let (status, _) = exchange(
            addr,
            "PUT /approvals/d1/a1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
        // An idle keep-alive connection does not hold the shutdown up.
        let idle = tokio::net::TcpStream::connect(addr).await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), server.shutdown())
            .await
            .expect("the server stops");
        drop(idle);
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn only_loopback_addresses_are_served() {
        let services = memory_services();
        let err = serve(services, "0.0.0.0:0".parse().unwrap(), None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("loopback"));
    }
}
