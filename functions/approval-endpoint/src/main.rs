//! `approval-endpoint` Lambda (function URL): the page reviewers open from
//! their approval link. GET shows the deployment and changes nothing; POST
//! with the link's secret decides.
//!
//! Thin by design: the logic is `shiftgate_core::approval_page::handle` in
//! shiftgate-core, which `shiftgate local` serves too.

use lambda_http::{run, service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = shiftgate_core::runtime::aws_services().await?;
    run(service_fn(|request: Request| async {
        // The handler answers every request with a page (errors included), so
        // the runtime never sees an error and never logs a request.
        Ok::<_, Error>(shiftgate_core::approval_page::handle(&services, request).await)
    }))
    .await
}
