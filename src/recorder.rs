//! An SDK interceptor that records every AWS operation a client performs: the benchmarks
//! count requests with it, and the tests check what a cycle did (and that IAM allows it).

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// One operation attempt as the SDK started it (retries are not counted again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The service as the SDK names it, e.g. `DynamoDB`, `EC2`, `SNS`.
    pub service: String,
    pub operation: String,
    /// For SNS `Publish`: the subject and the whole `MessageStructure=json` document.
    pub published: Option<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Recorder {
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Recorder {
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Takes the calls recorded so far and starts afresh.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// `Service:Operation` for each call, e.g. `DynamoDB:Scan`.
    pub fn operations(&self) -> Vec<String> {
        self.calls()
            .iter()
            .map(|c| format!("{}:{}", c.service, c.operation))
            .collect()
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "peerwatch::Recorder"
    }

    // Not `read_before_execution`: client interceptors run that before the operation's
    // metadata is in the config bag.
    fn read_before_serialization(
        &self,
        ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(md) = cfg.load::<Metadata>() {
            let published = ctx
                .input()
                .downcast_ref::<aws_sdk_sns::operation::publish::PublishInput>()
                .map(|p| {
                    (
                        p.subject().unwrap_or_default().to_string(),
                        p.message().unwrap_or_default().to_string(),
                    )
                });
            self.calls
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(Call {
                    service: md.service().to_string(),
                    operation: md.name().to_string(),
                    published,
                });
        }
        Ok(())
    }
}
