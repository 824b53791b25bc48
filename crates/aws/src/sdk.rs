//! How peerwatch builds its AWS SDK configuration.
//!
//! The SDK's default HTTPS client brings rustls with aws-lc-rs, whose static C library
//! alone pushed the deployable zip past its 5 MB budget. peerwatch only ever talks TLS
//! to AWS endpoints (or plain HTTP to the local emulators), so rustls on `ring` does
//! the same job in a smaller binary. Every client, in the Lambda, the CLI, the tests
//! and the examples, is built through here so there is one TLS stack to reason about.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The HTTPS client every peerwatch SDK client uses: rustls with the `ring` provider,
/// trusting the platform's root certificates.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// `aws_config::defaults` (environment, profile, IMDS/container credentials, the
/// standard `AWS_ENDPOINT_URL_*` settings) with peerwatch's HTTP client and [`timeouts`].
pub fn loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .timeout_config(timeouts())
}

/// The SDK sets no attempt timeout by default, so an endpoint that accepts a connection and
/// never answers would hold a cycle until the Lambda's own timeout. Each attempt gets 15 s
/// (a 1 MB `Scan` page or a 1,000-peer describe page takes well under a second) and is then
/// retried like any transient error; connecting gets 3 s.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(15))
        .build()
}
