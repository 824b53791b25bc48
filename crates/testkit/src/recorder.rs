//! An SDK interceptor that records every AWS operation a client performs: the benchmarks
//! count requests with it, and the tests check what a cycle did (and that IAM allows it).

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use serde_json::Value;

/// CloudWatch Logs as the SDK's operation metadata names it.
const CLOUDWATCH_LOGS: &str = "CloudWatch Logs";

/// Where a CloudWatch Logs call sits in `calls`, kept in that operation's config bag: what
/// IAM needs for it is read from its request body, which exists only once serialised (this
/// crate does not link the CloudWatch Logs SDK, so its inputs cannot be downcast).
#[derive(Debug, Clone, Copy)]
struct PendingLogsCall(usize);

impl Storable for PendingLogsCall {
    type Storer = StoreReplace<Self>;
}

/// One operation attempt as the SDK started it (retries are not counted again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The service as the SDK names it, e.g. `DynamoDB`, `EC2`, `SNS`.
    pub service: String,
    pub operation: String,
    /// For SNS `Publish`: the subject and the whole `MessageStructure=json` document.
    pub published: Option<(String, String)>,
    /// What IAM must allow for this call: (action, resource), the resource as the tail of its
    /// ARN (`table/NAME`, `table/NAME/index/INDEX`, `delivery-source:NAME`,
    /// `route-server-peer/ID`), a whole topic ARN, or `*`. A transaction or batch needs one
    /// pair per item or table. An operation this module does not know maps to resource `?`,
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
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            calls.push(Call {
                service: md.service().to_string(),
                operation: md.name().to_string(),
                published,
                iam,
            });
            if md.service() == CLOUDWATCH_LOGS {
                cfg.interceptor_state()
                    .store_put(PendingLogsCall(calls.len() - 1));
            }
        }
        Ok(())
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(PendingLogsCall(index)) = cfg.load::<PendingLogsCall>().copied() else {
            return Ok(());
        };
        let body: Value = ctx
            .request()
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        // (`take` may have emptied the list since: then the call is no longer ours to fill.)
        if let Some(call) = calls
            .get_mut(index)
            .filter(|c| c.service == CLOUDWATCH_LOGS)
        {
            call.iam = logs_needs(&call.operation, &body);
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
    if let Some(i) = input.downcast_ref::<ddb::batch_get_item::BatchGetItemInput>() {
        // Authorised per table read.
        let mut tables: Vec<&String> = i
            .request_items()
            .into_iter()
            .flatten()
            .map(|(t, _)| t)
            .collect();
        tables.sort();
        return tables
            .into_iter()
            .map(|t| (action(operation), table(Some(t))))
            .collect();
    }
    if let Some(i) = input.downcast_ref::<ddb::transact_get_items::TransactGetItemsInput>() {
        // Authorised per item, as a GetItem.
        return i
            .transact_items()
            .iter()
            .map(|item| (action("GetItem"), table(item.get().map(|g| g.table_name()))))
            .collect();
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

/// What IAM must allow for a CloudWatch Logs call, from its JSON request body. The delivery
/// actions are authorised on the delivery source, destination and delivery they name; a
/// delivery source also needs the vending service's own `AllowVendedLogDeliveryForResource`
/// on the resource whose logs it delivers.
fn logs_needs(operation: &str, body: &Value) -> Vec<(String, String)> {
    let field = |name: &str| body[name].as_str().unwrap_or("?");
    let action = format!("logs:{operation}");
    let source = |name: &str| format!("delivery-source:{name}");
    match operation {
        "PutDeliverySource" => {
            let resource_arn = field("resourceArn");
            let mut parts = resource_arn.splitn(6, ':');
            let vendor = parts.nth(2).unwrap_or("?");
            let resource = parts.nth(2).unwrap_or("?");
            vec![
                (action, source(field("name"))),
                (
                    format!("{vendor}:AllowVendedLogDeliveryForResource"),
                    resource.to_string(),
                ),
            ]
        }
        "GetDeliverySource" | "DeleteDeliverySource" => vec![(action, source(field("name")))],
        "GetDeliveryDestination" => {
            vec![(action, format!("delivery-destination:{}", field("name")))]
        }
        "CreateDelivery" => vec![
            (action.clone(), source(field("deliverySourceName"))),
            (action.clone(), arn_tail(field("deliveryDestinationArn"))),
            // The new delivery, whose id exists only once it is made.
            (action, "delivery:*".to_string()),
        ],
        "GetDelivery" | "DeleteDelivery" => vec![(action, format!("delivery:{}", field("id")))],
        // List actions take no resource-level permissions.
        "DescribeDeliveries" | "DescribeDeliverySources" | "DescribeDeliveryDestinations" => {
            vec![(action, "*".to_string())]
        }
        _ => vec![(action, "?".to_string())],
    }
}

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:TAIL` as `TAIL` (which may hold colons itself).
fn arn_tail(arn: &str) -> String {
    arn.splitn(6, ':').nth(5).unwrap_or("?").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, r)| (a.to_string(), r.to_string()))
            .collect()
    }

    #[test]
    fn logs_calls_need_their_delivery_resources() {
        let peer = "arn:aws:ec2:us-east-1:111122223333:route-server-peer/rsp-0abc";
        assert_eq!(
            logs_needs(
                "PutDeliverySource",
                &json!({"name": "peerwatch-rsp-0abc", "resourceArn": peer, "logType": "EVENT_LOGS"})
            ),
            pairs(&[
                (
                    "logs:PutDeliverySource",
                    "delivery-source:peerwatch-rsp-0abc"
                ),
                (
                    "ec2:AllowVendedLogDeliveryForResource",
                    "route-server-peer/rsp-0abc"
                ),
            ])
        );
        assert_eq!(
            logs_needs(
                "CreateDelivery",
                &json!({"deliverySourceName": "peerwatch-rsp-0abc",
                        "deliveryDestinationArn": "arn:aws:logs:us-east-1:111122223333:delivery-destination:pw-peer-logs"})
            ),
            pairs(&[
                ("logs:CreateDelivery", "delivery-source:peerwatch-rsp-0abc"),
                ("logs:CreateDelivery", "delivery-destination:pw-peer-logs"),
                ("logs:CreateDelivery", "delivery:*"),
            ])
        );
        assert_eq!(
            logs_needs("DeleteDelivery", &json!({"id": "d-1"})),
            pairs(&[("logs:DeleteDelivery", "delivery:d-1")])
        );
        assert_eq!(
            logs_needs("DescribeDeliveries", &json!({})),
            pairs(&[("logs:DescribeDeliveries", "*")])
        );
        // Unknown to this module: a resource no policy grants.
        assert_eq!(
            logs_needs("PutLogEvents", &json!({"logGroupName": "g"})),
            pairs(&[("logs:PutLogEvents", "?")])
        );
        // A body without the field names no resource either.
        assert_eq!(
            logs_needs("GetDeliverySource", &Value::Null),
            pairs(&[("logs:GetDeliverySource", "delivery-source:?")])
        );
    }
}
