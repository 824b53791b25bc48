//! Turning route server peer logging on and off: one delivery source per peer and a delivery to the stack's destination.
//!
//! CloudWatch Logs vends a peer's `EVENT_LOGS` once two things exist in the peer's account and
//! region: a delivery source `peerwatch-<rsp-id>` naming the peer's ARN, and a delivery from
//! that source to the stack's delivery destination (a log group, whose subscription feeds the
//! log consumer). The destination's ARN gives the account and region, so one setting,
//! `PEER_LOGS_DESTINATION_ARN`, says everything.
//!
//! Every operation reads what exists first (one `DescribeDeliverySources` and one
//! `DescribeDeliveries` listing, whatever the number of peers) and changes only what is
//! missing: enabling twice, or disabling what is off, calls nothing that writes. A source
//! named `peerwatch-...` is peerwatch's by its name, so disabling deletes every delivery from
//! it, then the source (CloudWatch refuses to delete a source that still delivers).

use std::collections::HashMap;
use std::fmt;

use aws_sdk_cloudwatchlogs::types::DeliveryDestinationType;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::{StreamExt, stream};
use peerwatch_core::ids::RouteServerPeerId;
use serde::Serialize;

pub use aws_sdk_cloudwatchlogs::Client;

/// The setting that names the stack's delivery destination.
pub const PEER_LOGS_DESTINATION_ARN: &str = "PEER_LOGS_DESTINATION_ARN";

/// The one log type a route server peer vends.
pub const LOG_TYPE: &str = "EVENT_LOGS";

/// Every delivery source peerwatch creates is this prefix and the peer's id.
pub const SOURCE_PREFIX: &str = "peerwatch-";

/// Peers worked on at once. The delivery APIs allow a few requests per second each; four
/// peers of one or two requests stay within that, and the SDK retries what is throttled.
pub const CONCURRENCY: usize = 4;

/// The delivery source of `peer`: `peerwatch-<rsp-id>`.
pub fn source_name(peer: &RouteServerPeerId) -> String {
    format!("{SOURCE_PREFIX}{peer}")
}

/// A CloudWatch Logs delivery destination ARN,
/// `arn:PARTITION:logs:REGION:ACCOUNT:delivery-destination:NAME`, checked once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryDestinationArn {
    arn: String,
    partition: String,
    region: String,
    account: String,
    name: String,
}

/// What is wrong with a string given as a delivery destination ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnProblem {
    #[error("it is empty")]
    Empty,
    #[error("it does not start with arn:")]
    NotAnArn,
    #[error("it has {0} colon-separated parts, not 7")]
    Parts(usize),
    #[error("the partition is empty")]
    Partition,
    #[error("the service is {0:?}, not logs")]
    Service(String),
    #[error("the region {0:?} is not a region name (e.g. us-east-1)")]
    Region(String),
    #[error("the account {0:?} is not 12 digits")]
    Account(String),
    #[error("the resource type is {0:?}, not delivery-destination")]
    ResourceType(String),
    #[error("the destination name {0:?} is not 1 to 60 of A-Z a-z 0-9 _ -")]
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{value:?} is not a CloudWatch Logs delivery destination ARN \
     (arn:PARTITION:logs:REGION:ACCOUNT:delivery-destination:NAME): {problem}"
)]
pub struct DestinationArnError {
    pub value: String,
    pub problem: ArnProblem,
}

impl DeliveryDestinationArn {
    /// The ARN in `s` (surrounding whitespace ignored).
    pub fn parse(s: &str) -> Result<Self, DestinationArnError> {
        let value = s.trim();
        let fail = |problem| DestinationArnError {
            value: value.to_string(),
            problem,
        };
        if value.is_empty() {
            return Err(fail(ArnProblem::Empty));
        }
        let parts: Vec<&str> = value.split(':').collect();
        if parts[0] != "arn" {
            return Err(fail(ArnProblem::NotAnArn));
        }
        let [_, partition, service, region, account, kind, name] = parts[..] else {
            return Err(fail(ArnProblem::Parts(parts.len())));
        };
        let lower = |s: &str, extra: &[char]| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(&c))
        };
        if !lower(partition, &['-']) {
            return Err(fail(ArnProblem::Partition));
        }
        if service != "logs" {
            return Err(fail(ArnProblem::Service(service.into())));
        }
        if !lower(region, &['-']) || !region.contains('-') {
            return Err(fail(ArnProblem::Region(region.into())));
        }
        if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
            return Err(fail(ArnProblem::Account(account.into())));
        }
        if kind != "delivery-destination" {
            return Err(fail(ArnProblem::ResourceType(kind.into())));
        }
        if !(1..=60).contains(&name.len())
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        {
            return Err(fail(ArnProblem::Name(name.into())));
        }
        Ok(DeliveryDestinationArn {
            arn: value.to_string(),
            partition: partition.into(),
            region: region.into(),
            account: account.into(),
            name: name.into(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.arn
    }
    pub fn partition(&self) -> &str {
        &self.partition
    }
    pub fn region(&self) -> &str {
        &self.region
    }
    pub fn account(&self) -> &str {
        &self.account
    }
    /// The destination's name, what `GetDeliveryDestination` takes.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ARN of `peer` in the destination's partition, region and account: what its
    /// delivery source names and what its records carry as `resource_arn`.
    pub fn peer_arn(&self, peer: &RouteServerPeerId) -> String {
        format!(
            "arn:{}:ec2:{}:{}:route-server-peer/{peer}",
            self.partition, self.region, self.account
        )
    }
}

impl fmt::Display for DeliveryDestinationArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

impl std::str::FromStr for DeliveryDestinationArn {
    type Err = DestinationArnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A CloudWatch Logs client for `destination`'s region: sources and deliveries live in the
/// region of the peer, which is the destination's (vended delivery does not cross regions),
/// whatever region the rest of the configuration names. Endpoints come from `sdk` as usual
/// (`AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`, `AWS_ENDPOINT_URL`).
pub fn client(sdk: &aws_config::SdkConfig, destination: &DeliveryDestinationArn) -> Client {
    let conf = aws_sdk_cloudwatchlogs::config::Builder::from(sdk)
        .region(aws_config::Region::new(destination.region.clone()))
        .build();
    Client::from_conf(conf)
}

/// A failed step, naming the peer (when there is one) and the CloudWatch Logs operation.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error("peer {peer}: CloudWatch Logs {operation} failed")]
    Peer {
        peer: RouteServerPeerId,
        operation: &'static str,
        #[source]
        source: Box<aws_sdk_cloudwatchlogs::Error>,
    },
    #[error("CloudWatch Logs {operation} failed (listing the delivery sources and deliveries)")]
    Listing {
        operation: &'static str,
        #[source]
        source: Box<aws_sdk_cloudwatchlogs::Error>,
    },
    #[error("delivery destination {destination}: CloudWatch Logs GetDeliveryDestination failed")]
    Destination {
        destination: String,
        #[source]
        source: Box<aws_sdk_cloudwatchlogs::Error>,
    },
    #[error(
        "delivery destination {destination} delivers to {kind}, not to a CloudWatch Logs log \
         group: peerwatch consumes peer logs through the log group's subscription"
    )]
    NotLogGroup { destination: String, kind: String },
    #[error(
        "peer {peer}: delivery source {source_name} exists for {found} (log type {log_type}), \
         not for {expected} (log type EVENT_LOGS); delete it (`peerwatch logging disable --peer {peer}`) \
         and enable again"
    )]
    ForeignSource {
        peer: RouteServerPeerId,
        source_name: String,
        found: String,
        log_type: String,
        expected: String,
    },
    #[error("peer logging failed for {} of {attempted} peers", failed.len())]
    SomePeers {
        attempted: usize,
        /// What was done for the others.
        done: Box<Outcome>,
        failed: Vec<LoggingError>,
    },
}

impl LoggingError {
    /// The CloudWatch Logs error behind this one, if a call failed.
    pub fn service_error(&self) -> Option<&aws_sdk_cloudwatchlogs::Error> {
        match self {
            LoggingError::Peer { source, .. }
            | LoggingError::Listing { source, .. }
            | LoggingError::Destination { source, .. } => Some(source),
            _ => None,
        }
    }

    /// The operation that failed, for messages: `PutDeliverySource`, ...
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            LoggingError::Peer { operation, .. } | LoggingError::Listing { operation, .. } => {
                Some(operation)
            }
            LoggingError::Destination { .. } => Some("GetDeliveryDestination"),
            _ => None,
        }
    }

    /// The peer it is about, if one.
    pub fn peer(&self) -> Option<&RouteServerPeerId> {
        match self {
            LoggingError::Peer { peer, .. } | LoggingError::ForeignSource { peer, .. } => {
                Some(peer)
            }
            _ => None,
        }
    }
}

fn peer_error<E>(
    peer: &RouteServerPeerId,
    operation: &'static str,
) -> impl FnOnce(E) -> LoggingError
where
    aws_sdk_cloudwatchlogs::Error: From<E>,
{
    let peer = peer.clone();
    move |e| LoggingError::Peer {
        peer,
        operation,
        source: Box::new(e.into()),
    }
}

fn listing_error<E>(operation: &'static str) -> impl FnOnce(E) -> LoggingError
where
    aws_sdk_cloudwatchlogs::Error: From<E>,
{
    move |e| LoggingError::Listing {
        operation,
        source: Box::new(e.into()),
    }
}

/// Is logging on for a peer?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Logging {
    /// Its source exists and delivers to this destination.
    On,
    /// Neither its source nor any delivery from it exists.
    Off,
    /// Something of it exists, not all: see [`Partial`].
    Partial,
}

impl Logging {
    pub fn as_str(self) -> &'static str {
        match self {
            Logging::On => "on",
            Logging::Off => "off",
            Logging::Partial => "partial",
        }
    }
}

impl fmt::Display for Logging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a peer's logging is partial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partial {
    /// The source exists and delivers nowhere.
    SourceOnly,
    /// The source delivers, but not to this destination.
    OtherDestination,
    /// A source of that name exists for another resource or log type.
    ForeignSource {
        resource_arns: Vec<String>,
        log_type: String,
    },
    /// Deliveries name the source, which does not exist.
    NoSource,
}

impl fmt::Display for Partial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Partial::SourceOnly => f.write_str("the delivery source delivers nowhere"),
            Partial::OtherDestination => {
                f.write_str("the delivery source delivers to other destinations only")
            }
            Partial::ForeignSource {
                resource_arns,
                log_type,
            } => write!(
                f,
                "the delivery source is for {} (log type {log_type})",
                resource_arns.join(", ")
            ),
            Partial::NoSource => f.write_str("deliveries name a delivery source that is missing"),
        }
    }
}

/// One peer's logging as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStatus {
    pub peer: RouteServerPeerId,
    pub logging: Logging,
    /// Set when `logging` is [`Logging::Partial`].
    pub partial: Option<Partial>,
    /// `peerwatch-<rsp-id>` when it exists.
    pub delivery_source: Option<String>,
    /// The id of the delivery to this destination, when it exists.
    pub delivery_id: Option<String>,
    /// Destinations the source delivers to besides this one.
    pub other_destinations: Vec<String>,
}

/// What `enable` did for one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerEnabled {
    pub peer: RouteServerPeerId,
    pub created_source: bool,
    pub created_delivery: bool,
    pub delivery_source: String,
    pub delivery_id: Option<String>,
}

impl PeerEnabled {
    /// Whether anything was created (false: it was on already).
    pub fn changed(&self) -> bool {
        self.created_source || self.created_delivery
    }
}

/// What `disable` did for one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerDisabled {
    pub peer: RouteServerPeerId,
    /// Ids of the deliveries deleted, to this destination or any other.
    pub deleted_deliveries: Vec<String>,
    pub deleted_source: bool,
}

impl PeerDisabled {
    /// Whether anything was deleted (false: it was off already).
    pub fn changed(&self) -> bool {
        self.deleted_source || !self.deleted_deliveries.is_empty()
    }
}

/// What [`enable_all`] did, per peer, in the order asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enabled {
    pub peers: Vec<PeerEnabled>,
}

impl Enabled {
    /// Peers for which something was created.
    pub fn changed(&self) -> usize {
        self.peers.iter().filter(|p| p.changed()).count()
    }
}

/// What [`PeerLogs::disable_all`] did, per peer, in the order asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Disabled {
    pub peers: Vec<PeerDisabled>,
}

/// What a batch did before some of its peers failed ([`LoggingError::SomePeers`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Enabled(Enabled),
    Disabled(Disabled),
}

/// A delivery source as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Source {
    resource_arns: Vec<String>,
    log_type: String,
}

/// A delivery as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Delivery {
    id: String,
    destination_arn: String,
}

/// peerwatch's delivery sources and their deliveries, as listed at one moment.
#[derive(Debug, Default)]
struct Existing {
    sources: HashMap<String, Source>,
    deliveries: HashMap<String, Vec<Delivery>>,
}

impl Existing {
    fn status(&self, peer: &RouteServerPeerId, destination: &DeliveryDestinationArn) -> PeerStatus {
        let name = source_name(peer);
        let source = self.sources.get(&name);
        let deliveries = self.deliveries.get(&name).map(Vec::as_slice).unwrap_or(&[]);
        let ours = deliveries
            .iter()
            .find(|d| d.destination_arn == destination.as_str());
        let other_destinations: Vec<String> = deliveries
            .iter()
            .filter(|d| d.destination_arn != destination.as_str())
            .map(|d| d.destination_arn.clone())
            .collect();
        let expected = destination.peer_arn(peer);
        let partial = match source {
            None if deliveries.is_empty() => None,
            None => Some(Partial::NoSource),
            Some(s) if s.resource_arns != [expected] || s.log_type != LOG_TYPE => {
                Some(Partial::ForeignSource {
                    resource_arns: s.resource_arns.clone(),
                    log_type: s.log_type.clone(),
                })
            }
            Some(_) if ours.is_some() => None,
            Some(_) if deliveries.is_empty() => Some(Partial::SourceOnly),
            Some(_) => Some(Partial::OtherDestination),
        };
        let logging = match (&partial, source) {
            (Some(_), _) => Logging::Partial,
            (None, None) => Logging::Off,
            (None, Some(_)) => Logging::On,
        };
        PeerStatus {
            peer: peer.clone(),
            logging,
            partial,
            delivery_source: source.map(|_| name),
            delivery_id: ours.map(|d| d.id.clone()),
            other_destinations,
        }
    }
}

/// Peer logging for one destination, through one CloudWatch Logs client.
#[derive(Debug, Clone)]
pub struct PeerLogs {
    client: Client,
    destination: DeliveryDestinationArn,
}

impl PeerLogs {
    pub fn new(client: Client, destination: DeliveryDestinationArn) -> Self {
        PeerLogs {
            client,
            destination,
        }
    }

    pub fn destination(&self) -> &DeliveryDestinationArn {
        &self.destination
    }

    /// Turns one peer's logging on (idempotent).
    pub async fn enable(&self, peer: &RouteServerPeerId) -> Result<PeerEnabled, LoggingError> {
        let mut done = self
            .enable_all(std::slice::from_ref(peer))
            .await
            .map_err(single)?;
        Ok(done.peers.remove(0))
    }

    /// Turns one peer's logging off (idempotent).
    pub async fn disable(&self, peer: &RouteServerPeerId) -> Result<PeerDisabled, LoggingError> {
        let mut done = self
            .disable_all(std::slice::from_ref(peer))
            .await
            .map_err(single)?;
        Ok(done.peers.remove(0))
    }

    /// Each peer's logging as it is, in the order asked: two listings, whatever the number of
    /// peers.
    pub async fn status(
        &self,
        peers: &[RouteServerPeerId],
    ) -> Result<Vec<PeerStatus>, LoggingError> {
        let existing = self.existing().await?;
        Ok(peers
            .iter()
            .map(|p| existing.status(p, &self.destination))
            .collect())
    }

    /// Turns logging on for every peer, [`CONCURRENCY`] at a time. The destination is checked
    /// first (it exists, and is a log group), so a wrong ARN fails before anything is
    /// created. One peer's failure does not stop the others: they are all tried, and the
    /// error then carries what was done.
    pub async fn enable_all(&self, peers: &[RouteServerPeerId]) -> Result<Enabled, LoggingError> {
        if peers.is_empty() {
            return Ok(Enabled::default());
        }
        self.check_destination().await?;
        let existing = self.existing().await?;
        let results: Vec<_> = stream::iter(peers)
            .map(|p| self.enable_one(p, existing.status(p, &self.destination)))
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let (done, failed) = split(results);
        if failed.is_empty() {
            Ok(Enabled { peers: done })
        } else {
            Err(LoggingError::SomePeers {
                attempted: peers.len(),
                done: Box::new(Outcome::Enabled(Enabled { peers: done })),
                failed,
            })
        }
    }

    /// Turns logging off for every peer, [`CONCURRENCY`] at a time: every delivery from the
    /// peer's source, then the source. Like [`PeerLogs::enable_all`], one failure stops no
    /// other peer.
    pub async fn disable_all(&self, peers: &[RouteServerPeerId]) -> Result<Disabled, LoggingError> {
        if peers.is_empty() {
            return Ok(Disabled::default());
        }
        let existing = self.existing().await?;
        let results: Vec<_> = stream::iter(peers)
            .map(|p| {
                let name = source_name(p);
                let deliveries = existing.deliveries.get(&name).cloned().unwrap_or_default();
                let has_source = existing.sources.contains_key(&name);
                self.disable_one(p, deliveries, has_source)
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let (done, failed) = split(results);
        if failed.is_empty() {
            Ok(Disabled { peers: done })
        } else {
            Err(LoggingError::SomePeers {
                attempted: peers.len(),
                done: Box::new(Outcome::Disabled(Disabled { peers: done })),
                failed,
            })
        }
    }

    async fn check_destination(&self) -> Result<(), LoggingError> {
        let destination = self.destination.as_str().to_string();
        let got = self
            .client
            .get_delivery_destination()
            .name(self.destination.name())
            .send()
            .await
            .map_err(|e| LoggingError::Destination {
                destination: destination.clone(),
                source: Box::new(e.into()),
            })?;
        match got
            .delivery_destination()
            .and_then(|d| d.delivery_destination_type())
        {
            None | Some(DeliveryDestinationType::Cwl) => Ok(()),
            Some(other) => Err(LoggingError::NotLogGroup {
                destination,
                kind: other.as_str().to_string(),
            }),
        }
    }

    /// peerwatch's sources and every delivery from them. The listings cover the whole account
    /// and region, a page at a time; names outside peerwatch's prefix are dropped as read.
    async fn existing(&self) -> Result<Existing, LoggingError> {
        let mut existing = Existing::default();
        let sources: Vec<_> = self
            .client
            .describe_delivery_sources()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(listing_error("DescribeDeliverySources"))?;
        for s in sources {
            let Some(name) = s.name().filter(|n| n.starts_with(SOURCE_PREFIX)) else {
                continue;
            };
            existing.sources.insert(
                name.to_string(),
                Source {
                    resource_arns: s.resource_arns().to_vec(),
                    log_type: s.log_type().unwrap_or_default().to_string(),
                },
            );
        }
        existing.deliveries = self.deliveries().await?;
        Ok(existing)
    }

    async fn deliveries(&self) -> Result<HashMap<String, Vec<Delivery>>, LoggingError> {
        let deliveries: Vec<_> = self
            .client
            .describe_deliveries()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(listing_error("DescribeDeliveries"))?;
        let mut by_source: HashMap<String, Vec<Delivery>> = HashMap::new();
        for d in deliveries {
            let (Some(source), Some(id)) = (
                d.delivery_source_name()
                    .filter(|n| n.starts_with(SOURCE_PREFIX)),
                d.id(),
            ) else {
                continue;
            };
            by_source
                .entry(source.to_string())
                .or_default()
                .push(Delivery {
                    id: id.to_string(),
                    destination_arn: d.delivery_destination_arn().unwrap_or_default().to_string(),
                });
        }
        Ok(by_source)
    }

    async fn enable_one(
        &self,
        peer: &RouteServerPeerId,
        now: PeerStatus,
    ) -> Result<PeerEnabled, LoggingError> {
        let name = source_name(peer);
        let expected = self.destination.peer_arn(peer);
        if let Some(Partial::ForeignSource {
            resource_arns,
            log_type,
        }) = &now.partial
        {
            return Err(LoggingError::ForeignSource {
                peer: peer.clone(),
                source_name: name,
                found: resource_arns.join(", "),
                log_type: log_type.clone(),
                expected,
            });
        }
        let created_source = now.delivery_source.is_none();
        if created_source {
            self.client
                .put_delivery_source()
                .name(&name)
                .resource_arn(&expected)
                .log_type(LOG_TYPE)
                .send()
                .await
                .map_err(peer_error(peer, "PutDeliverySource"))?;
        }
        let mut delivery_id = now.delivery_id.clone();
        let mut created_delivery = false;
        if delivery_id.is_none() {
            let created = self
                .client
                .create_delivery()
                .delivery_source_name(&name)
                .delivery_destination_arn(self.destination.as_str())
                .send()
                .await;
            match created {
                Ok(out) => {
                    created_delivery = true;
                    delivery_id = out.delivery().and_then(|d| d.id()).map(str::to_string);
                }
                // Another run may have created it since the listing; if not, the conflict
                // is real (CloudWatch names it) and is the error.
                Err(e) if e.code() == Some("ConflictException") => {
                    let listed = self.deliveries().await?;
                    delivery_id = listed
                        .get(&name)
                        .into_iter()
                        .flatten()
                        .find(|d| d.destination_arn == self.destination.as_str())
                        .map(|d| d.id.clone());
                    if delivery_id.is_none() {
                        return Err(peer_error(peer, "CreateDelivery")(e));
                    }
                }
                Err(e) => return Err(peer_error(peer, "CreateDelivery")(e)),
            }
        }
        Ok(PeerEnabled {
            peer: peer.clone(),
            created_source,
            created_delivery,
            delivery_source: name,
            delivery_id,
        })
    }

    async fn disable_one(
        &self,
        peer: &RouteServerPeerId,
        deliveries: Vec<Delivery>,
        has_source: bool,
    ) -> Result<PeerDisabled, LoggingError> {
        let mut deleted_deliveries = Vec::new();
        for d in deliveries {
            match self.client.delete_delivery().id(&d.id).send().await {
                Ok(_) => deleted_deliveries.push(d.id),
                // Deleted since the listing: what was wanted.
                Err(e) if e.code() == Some("ResourceNotFoundException") => {}
                Err(e) => return Err(peer_error(peer, "DeleteDelivery")(e)),
            }
        }
        let mut deleted_source = false;
        if has_source {
            match self
                .client
                .delete_delivery_source()
                .name(source_name(peer))
                .send()
                .await
            {
                Ok(_) => deleted_source = true,
                Err(e) if e.code() == Some("ResourceNotFoundException") => {}
                Err(e) => return Err(peer_error(peer, "DeleteDeliverySource")(e)),
            }
        }
        Ok(PeerDisabled {
            peer: peer.clone(),
            deleted_deliveries,
            deleted_source,
        })
    }
}

/// Turns logging on for each of `peer_ids` (what the poller does with `PEER_LOGS=auto` for the
/// peers it discovers): [`PeerLogs::enable_all`] with a client and a destination.
pub async fn enable_all(
    client: &Client,
    destination: &DeliveryDestinationArn,
    peer_ids: &[RouteServerPeerId],
) -> Result<Enabled, LoggingError> {
    PeerLogs::new(client.clone(), destination.clone())
        .enable_all(peer_ids)
        .await
}

fn split<T>(results: Vec<Result<T, LoggingError>>) -> (Vec<T>, Vec<LoggingError>) {
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for r in results {
        match r {
            Ok(t) => done.push(t),
            Err(e) => failed.push(e),
        }
    }
    (done, failed)
}

/// A one-peer batch's error is that peer's own.
fn single(e: LoggingError) -> LoggingError {
    match e {
        LoggingError::SomePeers { mut failed, .. } if failed.len() == 1 => failed.remove(0),
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str =
        "arn:aws:logs:eu-west-1:111122223333:delivery-destination:peerwatch-peer-logs";

    fn peer(id: &str) -> RouteServerPeerId {
        RouteServerPeerId::parse(id).unwrap()
    }

    fn problem(s: &str) -> ArnProblem {
        DeliveryDestinationArn::parse(s).unwrap_err().problem
    }

    #[test]
    fn a_destination_arn_gives_its_parts_and_the_peer_arn() {
        let d = DeliveryDestinationArn::parse(&format!("  {ARN}\n")).unwrap();
        assert_eq!(d.as_str(), ARN);
        assert_eq!(
            (d.partition(), d.region(), d.account(), d.name()),
            ("aws", "eu-west-1", "111122223333", "peerwatch-peer-logs")
        );
        assert_eq!(
            d.peer_arn(&peer("rsp-0a1b2c3d4e5f60718")),
            "arn:aws:ec2:eu-west-1:111122223333:route-server-peer/rsp-0a1b2c3d4e5f60718"
        );
        assert_eq!(d.to_string(), ARN);
        let cn: DeliveryDestinationArn =
            "arn:aws-cn:logs:cn-north-1:111122223333:delivery-destination:d_1"
                .parse()
                .unwrap();
        assert_eq!(
            cn.peer_arn(&peer("rsp-1")),
            "arn:aws-cn:ec2:cn-north-1:111122223333:route-server-peer/rsp-1"
        );
        assert_eq!(source_name(&peer("rsp-1")), "peerwatch-rsp-1");
    }

    #[test]
    fn each_wrong_part_is_named() {
        let acct = "111122223333";
        let cases: [(&str, ArnProblem); 11] = [
            ("", ArnProblem::Empty),
            ("peerwatch-peer-logs", ArnProblem::NotAnArn),
            (
                "arn:aws:logs:eu-west-1:111122223333:delivery-destination",
                ArnProblem::Parts(6),
            ),
            (
                "arn:aws:logs:eu-west-1:111122223333:delivery-destination:a:b",
                ArnProblem::Parts(8),
            ),
            (
                "arn::logs:eu-west-1:111122223333:delivery-destination:d",
                ArnProblem::Partition,
            ),
            (
                "arn:aws:s3:eu-west-1:111122223333:delivery-destination:d",
                ArnProblem::Service("s3".into()),
            ),
            (
                "arn:aws:logs::111122223333:delivery-destination:d",
                ArnProblem::Region("".into()),
            ),
            (
                "arn:aws:logs:EU-WEST-1:111122223333:delivery-destination:d",
                ArnProblem::Region("EU-WEST-1".into()),
            ),
            (
                "arn:aws:logs:eu-west-1:11112222333:delivery-destination:d",
                ArnProblem::Account("11112222333".into()),
            ),
            (
                // The log group's ARN, the likeliest mistake.
                "arn:aws:logs:eu-west-1:111122223333:log-group:peer-logs",
                ArnProblem::ResourceType("log-group".into()),
            ),
            (
                "arn:aws:logs:eu-west-1:111122223333:delivery-destination:peer.logs",
                ArnProblem::Name("peer.logs".into()),
            ),
        ];
        for (arn, want) in cases {
            assert_eq!(problem(arn), want, "{arn:?}");
        }
        assert_eq!(
            problem(&format!(
                "arn:aws:logs:eu-west-1:{acct}:delivery-destination:{}",
                "d".repeat(61)
            )),
            ArnProblem::Name("d".repeat(61))
        );
        assert!(
            DeliveryDestinationArn::parse(&format!(
                "arn:aws:logs:eu-west-1:{acct}:delivery-destination:{}",
                "d".repeat(60)
            ))
            .is_ok()
        );
        let e = DeliveryDestinationArn::parse("arn:aws:logs:eu-west-1:111122223333:log-group:x")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("\"arn:aws:logs:eu-west-1:111122223333:log-group:x\" is not a CloudWatch Logs delivery destination ARN (arn:PARTITION:logs:REGION:ACCOUNT:delivery-destination:NAME): the resource type is \"log-group\""),
            "{e}"
        );
    }

    fn destination() -> DeliveryDestinationArn {
        DeliveryDestinationArn::parse(ARN).unwrap()
    }

    fn existing(sources: &[(&str, &str, &str)], deliveries: &[(&str, &str, &str)]) -> Existing {
        let mut e = Existing::default();
        for (name, arn, log_type) in sources {
            e.sources.insert(
                name.to_string(),
                Source {
                    resource_arns: vec![arn.to_string()],
                    log_type: log_type.to_string(),
                },
            );
        }
        for (source, id, dest) in deliveries {
            e.deliveries
                .entry(source.to_string())
                .or_default()
                .push(Delivery {
                    id: id.to_string(),
                    destination_arn: dest.to_string(),
                });
        }
        e
    }

    #[test]
    fn status_tells_on_off_and_each_partial() {
        let d = destination();
        let p = peer("rsp-1");
        let arn = d.peer_arn(&p);
        let other = "arn:aws:logs:eu-west-1:111122223333:delivery-destination:old";
        let status = |e: Existing| e.status(&p, &d);

        let off = status(existing(&[], &[]));
        assert_eq!(
            (off.logging, off.partial, off.delivery_source),
            (Logging::Off, None, None)
        );

        let on = status(existing(
            &[("peerwatch-rsp-1", &arn, "EVENT_LOGS")],
            &[
                ("peerwatch-rsp-1", "d1", ARN),
                ("peerwatch-rsp-1", "d2", other),
            ],
        ));
        assert_eq!(on.logging, Logging::On);
        assert_eq!(on.delivery_id.as_deref(), Some("d1"));
        assert_eq!(on.delivery_source.as_deref(), Some("peerwatch-rsp-1"));
        assert_eq!(on.other_destinations, [other]);

        let source_only = status(existing(&[("peerwatch-rsp-1", &arn, "EVENT_LOGS")], &[]));
        assert_eq!(
            (source_only.logging, source_only.partial),
            (Logging::Partial, Some(Partial::SourceOnly))
        );

        let elsewhere = status(existing(
            &[("peerwatch-rsp-1", &arn, "EVENT_LOGS")],
            &[("peerwatch-rsp-1", "d2", other)],
        ));
        assert_eq!(
            (elsewhere.logging, elsewhere.partial, elsewhere.delivery_id),
            (Logging::Partial, Some(Partial::OtherDestination), None)
        );

        let foreign = status(existing(
            &[(
                "peerwatch-rsp-1",
                "arn:aws:ec2:eu-west-1:444455556666:route-server-peer/rsp-1",
                "EVENT_LOGS",
            )],
            &[("peerwatch-rsp-1", "d1", ARN)],
        ));
        assert_eq!(foreign.logging, Logging::Partial);
        assert!(matches!(
            foreign.partial,
            Some(Partial::ForeignSource { .. })
        ));

        let orphan = status(existing(&[], &[("peerwatch-rsp-1", "d1", ARN)]));
        assert_eq!(
            (orphan.logging, orphan.partial),
            (Logging::Partial, Some(Partial::NoSource))
        );

        // Another peer's source and deliveries are not this peer's.
        let neighbour = status(existing(
            &[(
                "peerwatch-rsp-10",
                &d.peer_arn(&peer("rsp-10")),
                "EVENT_LOGS",
            )],
            &[("peerwatch-rsp-10", "d9", ARN)],
        ));
        assert_eq!(neighbour.logging, Logging::Off);
    }

    #[test]
    fn a_one_peer_batch_fails_with_that_peers_error() {
        let e = LoggingError::SomePeers {
            attempted: 1,
            done: Box::new(Outcome::Enabled(Enabled::default())),
            failed: vec![LoggingError::ForeignSource {
                peer: peer("rsp-1"),
                source_name: "peerwatch-rsp-1".into(),
                found: "x".into(),
                log_type: "EVENT_LOGS".into(),
                expected: "y".into(),
            }],
        };
        let e = single(e);
        assert_eq!(e.peer(), Some(&peer("rsp-1")));
        assert!(
            e.to_string()
                .starts_with("peer rsp-1: delivery source peerwatch-rsp-1 exists for x"),
            "{e}"
        );
    }
}
