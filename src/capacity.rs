//! Consumed capacity accounting, opt-in ([`crate::store::Store::with_consumed_capacity`]): the
//! benchmark's read and write units. Off by default, so production requests are unchanged.
//!
//! Two figures per operation: what the service reported (`ReturnConsumedCapacity=TOTAL`) and
//! what DynamoDB's documented rules give for the item sizes sent or received, because a local
//! emulator may report nothing, or a flat figure that does not depend on the items.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::AttributeValue;

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

/// Shared by the clones of one `Store`.
#[derive(Debug, Clone, Default)]
pub struct CapacityMeter(Arc<Mutex<CapacityReport>>);

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
