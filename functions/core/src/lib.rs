//! shiftgate-core: everything shiftgate knows, behind thin Lambda binaries.
//!
//! shiftgate moves the traffic of a Lambda alias from its live version to a new
//! one in planned steps, with hooks, approval gates, health checks and exact
//! rollback, orchestrated by `state-machines/deployment.asl.json`.
//!
//! Layout:
//! - [`strategy`]: the catalogue of deployment strategies and their parsing;
//! - [`plan`]: pure planning of weights, schedule, gates and workflow cost;
//! - [`request`]: the deployment request format and its validation;
//! - [`record`]: the deployment record, lock and history index, and their S3 keys;
//! - [`contracts`]: what each function receives and returns;
//! - [`lambda_name`]: function names, partial ARNs and ARNs, reduced to one name;
//! - [`functions`]: the catalogue of Lambda functions (bin names, SAM ids);
//! - [`handlers`]: one async function per Lambda, over [`ports::Services`];
//! - [`approval`]: approval records, link secrets and the decision logic;
//! - [`operator`]: abort, hold, resume and promote a deployment in flight;
//! - [`approval_page`]: the approval endpoint: the page behind a link, and decisions by POST;
//! - [`store`]: typed, conditional access to the bucket;
//! - [`notify`]: lifecycle notifications;
//! - [`ports`]: the capabilities handlers need;
//! - [`adapters`]: AWS SDK, directory and in-memory implementations of the ports;
//! - [`runtime`]: what every Lambda binary's `main` shares;
//! - [`error`]: handler errors and their Step Functions names;
//! - `testing` (tests and the `test-util` feature only): the shared test
//!   helpers: in-memory services, function URL requests, approval links and
//!   AWS SDK mocks.

pub mod adapters;
pub mod approval;
pub mod approval_page;
pub mod contracts;
pub mod error;
pub mod functions;
pub mod handlers;
pub mod lambda_name;
pub mod notify;
pub mod operator;
pub mod plan;
pub mod ports;
pub mod record;
pub mod request;
pub mod runtime;
pub mod store;
pub mod strategy;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
