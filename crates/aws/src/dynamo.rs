//! What every DynamoDB adapter shares: the store's error, the one mapping of SDK errors to it,
//! and reading and writing item attributes.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB {operation} on table {table} failed")]
    Dynamo {
        operation: &'static str,
        table: String,
        #[source]
        source: Box<aws_sdk_dynamodb::Error>,
    },
    #[error("item {key} in table {table} is malformed: {why}")]
    Malformed {
        table: String,
        key: String,
        why: String,
    },
}

/// The one mapping of an SDK error to [`StoreError::Dynamo`]: the operation, the table, and
/// the service's error kept whole as the source.
pub fn dynamo<E>(operation: &'static str, table: &str) -> impl FnOnce(E) -> StoreError
where
    aws_sdk_dynamodb::Error: From<E>,
{
    let table = table.to_string();
    move |e| StoreError::Dynamo {
        operation,
        table,
        source: Box::new(aws_sdk_dynamodb::Error::from(e)),
    }
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn s(item: &HashMap<String, AttributeValue>, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

pub fn num(item: &HashMap<String, AttributeValue>, key: &str) -> Option<i64> {
    item.get(key)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// A map of strings as a DynamoDB `M` attribute (tags, message attributes).
pub fn string_map<'a>(entries: impl Iterator<Item = (&'a String, &'a String)>) -> AttributeValue {
    AttributeValue::M(
        entries
            .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
            .collect(),
    )
}

/// The string entries of an `M` attribute; none when it is absent or not a map.
pub fn strings_of<'a>(
    item: &'a HashMap<String, AttributeValue>,
    key: &str,
) -> impl Iterator<Item = (String, String)> + 'a {
    item.get(key)
        .and_then(|v| v.as_m().ok())
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone())))
}

/// An item under construction; empty strings are left out, as DynamoDB keys refuse them.
#[derive(Default)]
pub struct Item(pub HashMap<String, AttributeValue>);

impl Item {
    pub fn s(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.0.insert(key.into(), AttributeValue::S(value.into()));
        self
    }
    pub fn opt_s(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            self.s(key, v);
        }
        self
    }
    pub fn n(&mut self, key: &str, value: impl ToString) -> &mut Self {
        self.0.insert(key.into(), n(value));
        self
    }
}
