//! How peerwatch builds its AWS SDK configuration.
//!
//! The SDK's default HTTPS client brings rustls with aws-lc-rs, whose static C library
//! alone pushed the deployable zip past its 5 MB budget. peerwatch only ever talks TLS
//! to AWS endpoints (or plain HTTP to the local emulators), so rustls on `ring` does
//! the same job in a smaller binary. Every client, in the Lambda, the CLI, the tests
//! and the examples, is built through here so there is one TLS stack to reason about.

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
/// standard `AWS_ENDPOINT_URL_*` settings) with peerwatch's HTTP client.
pub fn loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client())
}
