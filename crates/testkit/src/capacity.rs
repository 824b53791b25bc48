//! Consumed capacity accounting for the benchmark: a [`CapacityMeter`] is an interceptor on
//! the DynamoDB client, so the store's own requests are never changed for it. It asks `Scan`,
//! `Query`, `TransactWriteItems` and `UpdateItem` for `ReturnConsumedCapacity=TOTAL` (and
//! `UpdateItem` for its old item, to size it) and counts the units per operation.
//!
//! Two figures per operation: what the service reported and what DynamoDB's documented rules
//! give for the item sizes sent or received, because a local emulator may report nothing, or
//! a flat figure that does not depend on the items.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::scan::{ScanInput, ScanOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemInput, UpdateItemOutput};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity, ReturnValue};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// One operation's requests and units.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OperationCapacity {
    pub requests: u64,
    /// Responses that carried a `ConsumedCapacity` figure.
    pub reported_responses: u64,
    /// The sum of the `CapacityUnits` those responses carried.
    pub reported_units: f64,
    /// Units from DynamoDB's rules on the item sizes: a strongly consistent `Scan` page costs
    /// 1 RCU per 4 KB of the page's items summed (at least 1), an eventually consistent `Query`
    /// page half that (at least 0.5); a transactional write 2 WCU per 1 KB of each item; an
    /// `UpdateItem` 1 WCU per 1 KB of the item as it was before (its updates only rewrite or
    /// remove attributes, so it is the larger of before and after).
    pub computed_units: f64,
}

/// Per operation name (`Scan`, `Query`, `TransactWriteItems`, `UpdateItem`).
pub type CapacityReport = BTreeMap<&'static str, OperationCapacity>;

/// Counts the units of every request of the DynamoDB clients it is an interceptor of; clones
/// share the count.
#[derive(Debug, Clone, Default)]
pub struct CapacityMeter(Arc<Mutex<CapacityReport>>);

/// What a request's items cost by DynamoDB's rules, worked out from the input before it is
/// sent (writes) and completed from the output (reads).
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// Read units per 4 KB: 1 strongly consistent, 0.5 eventually consistent.
    per_4kb: f64,
    /// Write units of the items sent, for a transaction.
    written: f64,
}

impl Storable for Pending {
    type Storer = StoreReplace<Self>;
}

impl Intercept for CapacityMeter {
    fn name(&self) -> &'static str {
        "peerwatch::CapacityMeter"
    }

    fn modify_before_serialization(
        &self,
        ctx: &mut BeforeSerializationInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = ctx.input_mut();
        let total = Some(ReturnConsumedCapacity::Total);
        let mut pending = Pending {
            per_4kb: 0.5,
            written: 0.0,
        };
        if let Some(scan) = input.downcast_mut::<ScanInput>() {
            scan.return_consumed_capacity = total;
            if scan.consistent_read == Some(true) {
                pending.per_4kb = 1.0;
            }
        } else if let Some(query) = input.downcast_mut::<QueryInput>() {
            // A global secondary index is read eventually consistent: half a unit per 4 KB.
            query.return_consumed_capacity = total;
            if query.consistent_read == Some(true) {
                pending.per_4kb = 1.0;
            }
        } else if let Some(tx) = input.downcast_mut::<TransactWriteItemsInput>() {
            tx.return_consumed_capacity = total;
            pending.written = tx
                .transact_items
                .iter()
                .flatten()
                .filter_map(|t| t.put())
                .map(|put| write_units(put.item(), 2.0))
                .sum();
        } else if let Some(update) = input.downcast_mut::<UpdateItemInput>() {
            update.return_consumed_capacity = total;
            if update.return_values.is_none() {
                update.return_values = Some(ReturnValue::AllOld);
            }
        }
        cfg.interceptor_state().store_put(pending);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        ctx: &AfterDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(pending) = cfg.load::<Pending>().copied() else {
            return Ok(());
        };
        let output = ctx.output_or_error();
        let output = output.as_ref().ok();
        if let Some(out) = output.and_then(|o| o.downcast_ref::<ScanOutput>()) {
            let reported = out.consumed_capacity().and_then(|c| c.capacity_units());
            self.add("Scan", reported, read_units(out.items(), pending.per_4kb));
        } else if let Some(out) = output.and_then(|o| o.downcast_ref::<QueryOutput>()) {
            let reported = out.consumed_capacity().and_then(|c| c.capacity_units());
            self.add("Query", reported, read_units(out.items(), pending.per_4kb));
        } else if let Some(out) = output.and_then(|o| o.downcast_ref::<TransactWriteItemsOutput>())
        {
            let reported = out
                .consumed_capacity()
                .iter()
                .filter_map(|c| c.capacity_units())
                .reduce(|a, b| a + b);
            self.add("TransactWriteItems", reported, pending.written);
        } else if let Some(out) = output.and_then(|o| o.downcast_ref::<UpdateItemOutput>()) {
            let computed = out
                .attributes
                .as_ref()
                .map_or(1.0, |old| write_units(old, 1.0));
            let reported = out.consumed_capacity().and_then(|c| c.capacity_units());
            self.add("UpdateItem", reported, computed);
        } else if ctx.output_or_error().is_err() {
            // A failed transaction (a lost race) still consumed its write units.
            if pending.written > 0.0 {
                self.add("TransactWriteItems", None, pending.written);
            }
        }
        Ok(())
    }
}

impl CapacityMeter {
    pub fn add(&self, operation: &'static str, reported: Option<f64>, computed: f64) {
        let mut report = self.0.lock().expect("capacity meter");
        let op = report.entry(operation).or_default();
        op.requests += 1;
        if let Some(units) = reported {
            op.reported_responses += 1;
            op.reported_units += units;
        }
        op.computed_units += computed;
    }

    /// What was counted so far, and starts again from zero.
    pub fn take(&self) -> CapacityReport {
        std::mem::take(&mut *self.0.lock().expect("capacity meter"))
    }
}

/// Read units of one page of items: `per_4kb` is 1 for a strongly consistent read, 0.5 for an
/// eventually consistent one; a page costs at least `per_4kb`.
pub fn read_units<'a>(
    items: impl IntoIterator<Item = &'a HashMap<String, AttributeValue>>,
    per_4kb: f64,
) -> f64 {
    let bytes: usize = items.into_iter().map(item_size).sum();
    bytes.div_ceil(4096).max(1) as f64 * per_4kb
}

/// Write units of one item: `per_kb` is 2 in a transaction, 1 otherwise.
pub fn write_units(item: &HashMap<String, AttributeValue>, per_kb: f64) -> f64 {
    item_size(item).div_ceil(1024).max(1) as f64 * per_kb
}

/// An item's size as DynamoDB counts it: each attribute's name plus its value.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    // A number is about 1 byte per two significant digits, plus 1.
    let number = |s: &str| s.trim_start_matches('-').len().div_ceil(2) + 1;
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(s) => number(s),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(l) => l.iter().map(String::len).sum(),
        AttributeValue::Ns(l) => l.iter().map(|s| number(s)).sum(),
        AttributeValue::Bs(l) => l.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}
