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
    /// What IAM must allow for this call: (action, resource), the resource as the tail of its
    /// ARN (`table/NAME`, `table/NAME/index/INDEX`), a whole topic ARN, or `*`. A transaction
    /// needs one pair per item. An operation this module does not know maps to resource `?`,
    /// so a test comparing these with a policy fails until someone looks.
    pub iam: Vec<(String, String)>,
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
            let iam = iam_needs(md.service(), md.name(), ctx.input());
            self.calls
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(Call {
                    service: md.service().to_string(),
                    operation: md.name().to_string(),
                    published,
                    iam,
                });
        }
        Ok(())
    }
}

fn iam_needs(
    service: &str,
    operation: &str,
    input: &aws_smithy_runtime_api::client::interceptors::context::Input,
) -> Vec<(String, String)> {
    use aws_sdk_dynamodb::operation as ddb;
    let action = |op: &str| format!("{}:{op}", service.to_ascii_lowercase());
    let table = |name: Option<&str>| format!("table/{}", name.unwrap_or("?"));
    let one = |resource: String| vec![(action(operation), resource)];
    if let Some(i) = input.downcast_ref::<ddb::scan::ScanInput>() {
        return one(table(i.table_name()));
    }
    if let Some(i) = input.downcast_ref::<ddb::query::QueryInput>() {
        let t = table(i.table_name());
        return one(match i.index_name() {
            Some(index) => format!("{t}/index/{index}"),
            None => t,
        });
    }
    if let Some(i) = input.downcast_ref::<ddb::update_item::UpdateItemInput>() {
        return one(table(i.table_name()));
    }
    if let Some(i) = input.downcast_ref::<ddb::put_item::PutItemInput>() {
        return one(table(i.table_name()));
    }
    if let Some(i) = input.downcast_ref::<ddb::get_item::GetItemInput>() {
        return one(table(i.table_name()));
    }
    if let Some(i) = input.downcast_ref::<ddb::create_table::CreateTableInput>() {
        return one(table(i.table_name()));
    }
    if let Some(i) = input.downcast_ref::<ddb::update_time_to_live::UpdateTimeToLiveInput>() {
        return one(table(i.table_name()));
    }
    if let Some(i) = input.downcast_ref::<ddb::transact_write_items::TransactWriteItemsInput>() {
        // Authorised per item, with the action of each item's kind.
        return i
            .transact_items()
            .iter()
            .map(|item| {
                let (op, name) = if let Some(p) = item.put() {
                    ("PutItem", p.table_name())
                } else if let Some(u) = item.update() {
                    ("UpdateItem", u.table_name())
                } else if let Some(d) = item.delete() {
                    ("DeleteItem", d.table_name())
                } else if let Some(c) = item.condition_check() {
                    ("ConditionCheckItem", c.table_name())
                } else {
                    ("?", "?")
                };
                (action(op), table(Some(name)))
            })
            .collect();
    }
    if let Some(i) = input.downcast_ref::<aws_sdk_sns::operation::publish::PublishInput>() {
        return one(i.topic_arn().or(i.target_arn()).unwrap_or("?").to_string());
    }
    if let Some(i) = input.downcast_ref::<
        aws_sdk_ec2::operation::get_route_server_routing_database::GetRouteServerRoutingDatabaseInput,
    >() {
        return one(format!("route-server/{}", i.route_server_id().unwrap_or("?")));
    }
    if service == "EC2" && operation.starts_with("Describe") {
        // EC2 Describe* actions take no resource-level permissions.
        return one("*".to_string());
    }
    one("?".to_string())
}
