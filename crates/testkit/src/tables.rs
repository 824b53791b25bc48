//! The two tables as `infra/template.yaml` defines them, for local emulators and tests (the
//! deployed stack creates its own).

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use peerwatch_aws::dynamo::{StoreError, dynamo};
use peerwatch_aws::store::{INDEX_BY_DAY, INDEX_BY_ROUTE_SERVER, INDEX_PENDING, Store};

/// Creates both tables of `store` as `infra/template.yaml` defines them (for local emulators
/// and tests).
pub async fn create_tables(store: &Store) -> Result<(), StoreError> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("name and type are set")
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("name and type are set")
    };
    let gsi = |name: &str, hash: &str, range: &str| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(hash, KeyType::Hash))
            .key_schema(key(range, KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .expect("name, keys and projection are set")
    };
    store
        .client()
        .create_table()
        .table_name(store.state_table())
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("RouteServerPeerId", KeyType::Hash))
        .attribute_definitions(attr("RouteServerPeerId"))
        .send()
        .await
        .map_err(dynamo("CreateTable", store.state_table()))?;
    store
        .client()
        .create_table()
        .table_name(store.transitions_table())
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("RouteServerPeerId", KeyType::Hash))
        .key_schema(key("ObservedAt", KeyType::Range))
        .set_attribute_definitions(Some(
            [
                "RouteServerPeerId",
                "ObservedAt",
                "RouteServerId",
                "Day",
                "Pending",
            ]
            .map(attr)
            .to_vec(),
        ))
        .global_secondary_indexes(gsi(INDEX_BY_ROUTE_SERVER, "RouteServerId", "ObservedAt"))
        .global_secondary_indexes(gsi(INDEX_BY_DAY, "Day", "ObservedAt"))
        .global_secondary_indexes(gsi(INDEX_PENDING, "Pending", "ObservedAt"))
        .send()
        .await
        .map_err(dynamo("CreateTable", store.transitions_table()))?;
    store
        .client()
        .update_time_to_live()
        .table_name(store.transitions_table())
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("ExpiresAt")
                .enabled(true)
                .build()
                .expect("name and flag are set"),
        )
        .send()
        .await
        .map_err(dynamo("UpdateTimeToLive", store.transitions_table()))?;
    Ok(())
}
