//! `peerwatch logging enable|disable|status`: route server peer logging, per peer, to the
//! stack's delivery destination (`peerwatch_aws::logging`). The peers are named with `--peer`,
//! or taken from `PeerState` (`--route-server`, `--all`), the same single `Scan` as `status`;
//! and `peerwatch logging import`, records from a file ([`import`]).

mod import;

use clap::{Args, Subcommand};
use comfy_table::{Cell, Color};
use serde::Serialize;

use super::{
    Context, EXIT_EMPTY, EXIT_FAILED, EXIT_USAGE, Failure, Output, color_enabled, emit, emit_json,
    explain, new_table, parse_id, table_text,
};
use peerwatch_aws::logging::{
    DeliveryDestinationArn, Logging, LoggingError, Outcome, PEER_LOGS_DESTINATION_ARN,
    PeerDisabled, PeerEnabled, PeerLogs, PeerStatus,
};
use peerwatch_aws::store::Store;
use peerwatch_core::error_chain;
use peerwatch_core::ids::{RouteServerId, RouteServerPeerId};

#[derive(Args, Debug)]
pub struct LoggingArgs {
    #[command(subcommand)]
    pub command: LoggingCommand,
}

#[derive(Subcommand, Debug)]
pub enum LoggingCommand {
    /// Turn peer logging on: a delivery source per peer and a delivery to the destination
    #[command(after_help = "Examples:\n  \
        peerwatch logging enable --peer rsp-0a1b2c3d4e5f60718\n  \
        peerwatch logging enable --route-server rs-0a1b2c3d4e5f60718\n  \
        peerwatch logging enable --all --destination arn:aws:logs:us-east-1:111122223333:delivery-destination:peerwatch-peer-logs\n\n\
        Creates what is missing and nothing else: enabling a peer that is on changes nothing.\n\
        --route-server and --all take the present peers recorded in PeerState.\n\n\
        Exit codes: 0 done, 1 an AWS call failed (for any peer), 2 bad arguments or settings,\n\
        3 no peer to enable.")]
    Enable(Selection),
    /// Turn peer logging off: every delivery from the peer's source, then the source
    #[command(after_help = "Examples:\n  \
        peerwatch logging disable --peer rsp-0a1b2c3d4e5f60718\n  \
        peerwatch logging disable --all\n\n\
        Deletes the deliveries of the peer's source peerwatch-<rsp-id>, to this destination or\n\
        any other, then the source; disabling a peer that is off changes nothing.\n\
        --route-server and --all take the peers recorded in PeerState, vanished ones included.\n\n\
        Exit codes: 0 done, 1 an AWS call failed (for any peer), 2 bad arguments or settings,\n\
        3 no peer to disable.")]
    Disable(Selection),
    /// Each peer's logging: on, off, or partial (and why)
    #[command(after_help = "Examples:\n  \
        peerwatch logging status --all\n  \
        peerwatch logging status --route-server rs-0a1b2c3d4e5f60718 --output json\n\n\
        on: the source exists and delivers to the destination; off: nothing exists; partial:\n\
        the source delivers nowhere or elsewhere only, or is for another resource.\n\
        --route-server and --all take the peers recorded in PeerState, vanished ones included.\n\n\
        Exit codes: 0 shown, 1 an AWS call failed, 2 bad arguments or settings, 3 no peer.")]
    Status(Selection),
    /// Record peer log records from JSON lines (an S3 or Firehose delivery's file), or `-`
    #[command(after_help = "Examples:\n  \
        peerwatch logging import peer-logs-2026-11-30.log.gz\n  \
        aws s3 cp s3://BUCKET/AWSLogs/.../file.log.gz - | peerwatch logging import -\n\n\
        The same code as the Lambda's log consumer: each change is recorded at its own time,\n\
        once, whichever path saw it first; records older than a peer's last change are kept\n\
        as late history items. Importing a file twice records nothing the second time.\n\
        Malformed lines are skipped, each named on standard error.\n\n\
        Exit codes: 0 done, 1 some records could not be recorded (import again), 2 the file\n\
        cannot be read.")]
    Import(import::ImportArgs),
}

#[derive(Args, Debug, Clone)]
pub struct Selection {
    #[command(flatten)]
    pub peers: Peers,
    /// The stack's delivery destination [env: PEER_LOGS_DESTINATION_ARN]
    #[arg(long, value_name = "ARN")]
    pub destination: Option<String>,
}

/// Which peers: named, of route servers, or every recorded one; exactly one is required.
#[derive(Args, Debug, Clone, Default)]
#[group(required = true, multiple = false)]
pub struct Peers {
    /// These peers (repeat the flag or give a comma list)
    #[arg(long, value_name = "PEER_ID", value_delimiter = ',', value_parser = parse_id::<RouteServerPeerId>)]
    pub peer: Vec<RouteServerPeerId>,
    /// The peers of these route servers, as recorded in PeerState
    #[arg(long = "route-server", value_name = "RS_ID", value_delimiter = ',', value_parser = parse_id::<RouteServerId>)]
    pub route_server: Vec<RouteServerId>,
    /// Every peer recorded in PeerState
    #[arg(long)]
    pub all: bool,
}

pub async fn run(ctx: &Context, args: LoggingArgs) -> Result<(), Failure> {
    match args.command {
        LoggingCommand::Enable(s) => enable(ctx, s).await,
        LoggingCommand::Disable(s) => disable(ctx, s).await,
        LoggingCommand::Status(s) => status(ctx, s).await,
        LoggingCommand::Import(a) => import::import(ctx, a).await,
    }
}

/// `--destination`, else `PEER_LOGS_DESTINATION_ARN`, parsed.
pub fn destination(flag: Option<&str>) -> Result<DeliveryDestinationArn, Failure> {
    let usage = |m: String| Failure::new(EXIT_USAGE, m);
    let env = std::env::var(PEER_LOGS_DESTINATION_ARN).ok();
    match (
        flag,
        env.as_deref().map(str::trim).filter(|v| !v.is_empty()),
    ) {
        (Some(arn), _) => DeliveryDestinationArn::parse(arn)
            .map_err(|e| usage(format!("invalid --destination: {e}"))),
        (None, Some(arn)) => DeliveryDestinationArn::parse(arn)
            .map_err(|e| usage(format!("{PEER_LOGS_DESTINATION_ARN} is invalid: {e}"))),
        (None, None) => Err(usage(format!(
            "no delivery destination: give --destination ARN or set {PEER_LOGS_DESTINATION_ARN} \
             to the stack's peer-log delivery destination \
             (arn:aws:logs:REGION:ACCOUNT:delivery-destination:NAME)"
        ))),
    }
}

/// Whether a command wants only the present peers (enable: a vanished peer vends nothing).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Present,
    Known,
}

/// The peers the selection names, sorted by route server and id when read from `PeerState`.
async fn select(
    ctx: &Context,
    peers: &Peers,
    which: Which,
) -> Result<Vec<RouteServerPeerId>, Failure> {
    if !peers.peer.is_empty() {
        let mut ids = Vec::new();
        for p in &peers.peer {
            if !ids.contains(p) {
                ids.push(p.clone());
            }
        }
        return Ok(ids);
    }
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&ctx.sdk),
        &ctx.config.peer_state_table,
        &ctx.config.peer_transitions_table,
        ctx.config.history_retention_days,
    );
    let known = store.load_known().await.map_err(|e| explain(ctx, &e))?;
    let mut records: Vec<_> = known
        .peers
        .into_values()
        .filter(|r| which == Which::Known || r.present)
        .filter(|r| {
            peers.route_server.is_empty()
                || peers
                    .route_server
                    .iter()
                    .any(|rs| rs.as_str() == r.peer.route_server_id)
        })
        .collect();
    records.sort_by(|a, b| {
        (&a.peer.route_server_id, &a.peer.route_server_peer_id)
            .cmp(&(&b.peer.route_server_id, &b.peer.route_server_peer_id))
    });
    // Ids that EC2 sent are kept as sent; one that is not a peer id names no delivery source.
    let ids: Vec<RouteServerPeerId> = records
        .iter()
        .filter_map(|r| RouteServerPeerId::parse(&r.peer.route_server_peer_id).ok())
        .collect();
    if ids.is_empty() {
        let table = &ctx.config.peer_state_table;
        let what = if which == Which::Present {
            "present peers"
        } else {
            "peers"
        };
        let scope = if peers.route_server.is_empty() {
            String::new()
        } else {
            let rs: Vec<&str> = peers
                .route_server
                .iter()
                .map(RouteServerId::as_str)
                .collect();
            format!(" of route server {}", rs.join(", "))
        };
        return Err(Failure::new(
            EXIT_EMPTY,
            format!(
                "no {what}{scope} recorded in table {table} (region {}); the poller records every \
                 peer on its first cycle (try `peerwatch poll`), or name peers with --peer",
                ctx.region()
            ),
        ));
    }
    Ok(ids)
}

async fn prepare(
    ctx: &Context,
    selection: &Selection,
    which: Which,
) -> Result<(PeerLogs, Vec<RouteServerPeerId>), Failure> {
    // The destination first: a wrong ARN is a usage error before any AWS call.
    let dest = destination(selection.destination.as_deref())?;
    let peers = select(ctx, &selection.peers, which).await?;
    let client = peerwatch_aws::logging::client(&ctx.sdk, &dest);
    Ok((PeerLogs::new(client, dest), peers))
}

/// The JSON document of `status`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDocument {
    pub destination_arn: String,
    pub peers: Vec<StatusRow>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusRow {
    pub route_server_peer_id: String,
    pub logging: Logging,
    pub delivery_source: Option<String>,
    pub delivery_id: Option<String>,
    pub other_destinations: Vec<String>,
    /// Why it is partial; `null` otherwise.
    pub detail: Option<String>,
}

impl From<&PeerStatus> for StatusRow {
    fn from(s: &PeerStatus) -> Self {
        StatusRow {
            route_server_peer_id: s.peer.to_string(),
            logging: s.logging,
            delivery_source: s.delivery_source.clone(),
            delivery_id: s.delivery_id.clone(),
            other_destinations: s.other_destinations.clone(),
            detail: s.partial.as_ref().map(ToString::to_string),
        }
    }
}

/// The JSON document of `enable` and `disable`: what was done per peer, and what failed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeDocument<T> {
    pub destination_arn: String,
    pub peers: Vec<T>,
    pub failed: Vec<FailedRow>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnabledRow {
    pub route_server_peer_id: String,
    pub changed: bool,
    pub created_delivery_source: bool,
    pub created_delivery: bool,
    pub delivery_source: String,
    pub delivery_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DisabledRow {
    pub route_server_peer_id: String,
    pub changed: bool,
    pub deleted_deliveries: Vec<String>,
    pub deleted_delivery_source: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedRow {
    pub route_server_peer_id: Option<String>,
    pub error: String,
}

impl From<&PeerEnabled> for EnabledRow {
    fn from(p: &PeerEnabled) -> Self {
        EnabledRow {
            route_server_peer_id: p.peer.to_string(),
            changed: p.changed(),
            created_delivery_source: p.created_source,
            created_delivery: p.created_delivery,
            delivery_source: p.delivery_source.clone(),
            delivery_id: p.delivery_id.clone(),
        }
    }
}

impl From<&PeerDisabled> for DisabledRow {
    fn from(p: &PeerDisabled) -> Self {
        DisabledRow {
            route_server_peer_id: p.peer.to_string(),
            changed: p.changed(),
            deleted_deliveries: p.deleted_deliveries.clone(),
            deleted_delivery_source: p.deleted_source,
        }
    }
}

async fn status(ctx: &Context, selection: Selection) -> Result<(), Failure> {
    let (logs, peers) = prepare(ctx, &selection, Which::Known).await?;
    let statuses = logs
        .status(&peers)
        .await
        .map_err(|e| Failure::new(EXIT_FAILED, word(logs.destination(), &e)))?;
    let doc = StatusDocument {
        destination_arn: logs.destination().to_string(),
        peers: statuses.iter().map(StatusRow::from).collect(),
    };
    match ctx.output {
        Output::Json => emit_json(&doc),
        Output::Table => emit(&render_status(&doc, color_enabled())),
    }
}

async fn enable(ctx: &Context, selection: Selection) -> Result<(), Failure> {
    let (logs, peers) = prepare(ctx, &selection, Which::Present).await?;
    let (done, failed) = match logs.enable_all(&peers).await {
        Ok(done) => (done.peers, Vec::new()),
        Err(LoggingError::SomePeers { done, failed, .. }) => match *done {
            Outcome::Enabled(d) => (d.peers, failed),
            Outcome::Disabled(_) => (Vec::new(), failed),
        },
        Err(e) => return Err(Failure::new(EXIT_FAILED, word(logs.destination(), &e))),
    };
    let rows: Vec<EnabledRow> = done.iter().map(EnabledRow::from).collect();
    let changed = rows.iter().filter(|r| r.changed).count();
    finish(
        ctx,
        &logs,
        rows,
        failed,
        "enabled",
        |color, rows| {
            let mut t = new_table(&["PEER", "CHANGE", "DELIVERY SOURCE", "DELIVERY"], color);
            for r in rows {
                t.add_row(vec![
                    Cell::new(&r.route_server_peer_id),
                    change_cell(r.changed, "enabled", "already on", color),
                    Cell::new(&r.delivery_source),
                    Cell::new(r.delivery_id.as_deref().unwrap_or("-")),
                ]);
            }
            t
        },
        format!("{changed} enabled, {} already on", done.len() - changed),
    )
}

async fn disable(ctx: &Context, selection: Selection) -> Result<(), Failure> {
    let (logs, peers) = prepare(ctx, &selection, Which::Known).await?;
    let (done, failed) = match logs.disable_all(&peers).await {
        Ok(done) => (done.peers, Vec::new()),
        Err(LoggingError::SomePeers { done, failed, .. }) => match *done {
            Outcome::Disabled(d) => (d.peers, failed),
            Outcome::Enabled(_) => (Vec::new(), failed),
        },
        Err(e) => return Err(Failure::new(EXIT_FAILED, word(logs.destination(), &e))),
    };
    let rows: Vec<DisabledRow> = done.iter().map(DisabledRow::from).collect();
    let changed = rows.iter().filter(|r| r.changed).count();
    finish(
        ctx,
        &logs,
        rows,
        failed,
        "disabled",
        |color, rows| {
            let mut t = new_table(&["PEER", "CHANGE", "DELETED"], color);
            for r in rows {
                let mut deleted: Vec<String> = r
                    .deleted_deliveries
                    .iter()
                    .map(|id| format!("delivery {id}"))
                    .collect();
                if r.deleted_delivery_source {
                    deleted.push(format!(
                        "source {}{}",
                        peerwatch_aws::logging::SOURCE_PREFIX,
                        r.route_server_peer_id
                    ));
                }
                t.add_row(vec![
                    Cell::new(&r.route_server_peer_id),
                    change_cell(r.changed, "disabled", "already off", color),
                    Cell::new(if deleted.is_empty() {
                        "-".into()
                    } else {
                        deleted.join(", ")
                    }),
                ]);
            }
            t
        },
        format!("{changed} disabled, {} already off", done.len() - changed),
    )
}

/// Prints what was done, then fails naming each peer that failed.
fn finish<T: Serialize>(
    ctx: &Context,
    logs: &PeerLogs,
    rows: Vec<T>,
    failed: Vec<LoggingError>,
    verb: &str,
    table: impl Fn(bool, &[T]) -> comfy_table::Table,
    counts: String,
) -> Result<(), Failure> {
    let dest = logs.destination();
    let succeeded = rows.len();
    let worded: Vec<(Option<String>, String)> = failed
        .iter()
        .map(|e| (e.peer().map(ToString::to_string), word(dest, e)))
        .collect();
    match ctx.output {
        Output::Json => emit_json(&ChangeDocument {
            destination_arn: dest.to_string(),
            failed: worded
                .iter()
                .map(|(peer, error)| FailedRow {
                    route_server_peer_id: peer.clone(),
                    error: error.clone(),
                })
                .collect(),
            peers: rows,
        })?,
        Output::Table if rows.is_empty() => {}
        Output::Table => {
            let color = color_enabled();
            let plural = if rows.len() == 1 { "" } else { "s" };
            emit(&format!(
                "{}\n\n{} peer{plural}: {counts} (destination {dest})",
                table_text(&table(color, &rows)),
                rows.len()
            ))?;
        }
    }
    if worded.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = worded.into_iter().map(|(_, m)| format!("  {m}")).collect();
    Err(Failure::new(
        EXIT_FAILED,
        format!(
            "logging could not be {verb} for {} of {} peers:\n{}",
            lines.len(),
            lines.len() + succeeded,
            lines.join("\n")
        ),
    ))
}

fn change_cell(changed: bool, did: &str, already: &str, color: bool) -> Cell {
    let cell = Cell::new(if changed { did } else { already });
    if color && changed {
        cell.fg(Color::Cyan)
    } else {
        cell
    }
}

/// The status table and a closing count.
pub fn render_status(doc: &StatusDocument, color: bool) -> String {
    let mut t = new_table(
        &["PEER", "LOGGING", "DELIVERY SOURCE", "DELIVERY", "DETAIL"],
        color,
    );
    for r in &doc.peers {
        let logging = Cell::new(r.logging.as_str());
        let logging = match (color, r.logging) {
            (false, _) | (true, Logging::Off) => logging,
            (true, Logging::On) => logging.fg(Color::Green),
            (true, Logging::Partial) => logging.fg(Color::Yellow),
        };
        let mut detail = r.detail.clone().unwrap_or_default();
        if !r.other_destinations.is_empty() {
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            detail.push_str(&format!(
                "also delivers to {}",
                r.other_destinations.join(", ")
            ));
        }
        t.add_row(vec![
            Cell::new(&r.route_server_peer_id),
            logging,
            Cell::new(r.delivery_source.as_deref().unwrap_or("-")),
            Cell::new(r.delivery_id.as_deref().unwrap_or("-")),
            Cell::new(if detail.is_empty() {
                "-".into()
            } else {
                detail
            }),
        ]);
    }
    let count = |l: Logging| doc.peers.iter().filter(|r| r.logging == l).count();
    let plural = if doc.peers.len() == 1 { "" } else { "s" };
    format!(
        "{}\n\n{} peer{plural}: {} on, {} partial, {} off (destination {})",
        table_text(&t),
        doc.peers.len(),
        count(Logging::On),
        count(Logging::Partial),
        count(Logging::Off),
        doc.destination_arn
    )
}

/// A logging error worded for the operator: the peer, what failed, and the likely cause when
/// it is one of the usual ones (no such destination, not allowed, no credentials, no network).
pub fn word(dest: &DeliveryDestinationArn, err: &LoggingError) -> String {
    use aws_credential_types::provider::error::CredentialsError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;

    let (region, account) = (dest.region(), dest.account());
    let peer = err
        .peer()
        .map(|p| format!("peer {p}: "))
        .unwrap_or_default();
    let chain = || {
        std::iter::successors(Some(err as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
    };
    if let (Some(service), Some(operation)) = (err.service_error(), err.operation()) {
        let detail = error_chain(service);
        let message = match service.code() {
            Some("ResourceNotFoundException")
                if matches!(err, LoggingError::Destination { .. }) =>
            {
                Some(format!(
                    "delivery destination {} does not exist in account {account}, region \
                     {region}: check --destination or {PEER_LOGS_DESTINATION_ARN} (the stack's \
                     peer-log delivery destination)",
                    dest.name()
                ))
            }
            Some("AccessDeniedException") => {
                let ec2 = if operation == "PutDeliverySource" {
                    format!(
                        " and ec2:AllowVendedLogDeliveryForResource on \
                         arn:{}:ec2:{region}:{account}:route-server-peer/*",
                        dest.partition()
                    )
                } else {
                    String::new()
                };
                Some(format!(
                    "{peer}not allowed to call CloudWatch Logs {operation} in account {account}, \
                     region {region}: the caller needs logs:{operation}{ec2} (docs/operating.md, \
                     Peer logs) ({detail})"
                ))
            }
            Some("UnrecognizedClientException" | "InvalidSignatureException") => Some(format!(
                "{peer}AWS rejected the credentials for CloudWatch Logs {operation} in region \
                 {region}: check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE ({detail})"
            )),
            Some("ExpiredTokenException" | "ExpiredToken") => Some(format!(
                "{peer}the AWS credentials have expired (CloudWatch Logs {operation} in region \
                 {region}): refresh them, e.g. `aws sso login` ({detail})"
            )),
            _ => None,
        };
        if let Some(m) = message {
            return m;
        }
    }
    let operation = err.operation().unwrap_or("request");
    if chain().any(|e| e.downcast_ref::<CredentialsError>().is_some()) {
        return format!(
            "{peer}no AWS credentials were found (CloudWatch Logs {operation}, region {region}): \
             set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE for a profile in \
             ~/.aws (`aws configure`, `aws sso login`), or run where a role provides them"
        );
    }
    if chain()
        .filter_map(|e| e.downcast_ref::<ConnectorError>())
        .any(|c| c.is_io() || c.is_timeout())
    {
        let endpoint = ["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "AWS_ENDPOINT_URL"]
            .iter()
            .find_map(|v| std::env::var(v).ok().map(|url| format!("{v}={url}")))
            .unwrap_or_else(|| format!("logs.{region}.amazonaws.com"));
        let cause = chain().last().map(|e| e.to_string()).unwrap_or_default();
        return format!(
            "{peer}CloudWatch Logs could not be reached in region {region} ({endpoint}): check \
             the destination's region, the endpoint settings and the network ({cause})"
        );
    }
    format!("{} (region {region})", error_chain(err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatchlogs::types::error::{AccessDeniedException, ResourceNotFoundException};
    use aws_smithy_types::error::ErrorMetadata;

    fn dest() -> DeliveryDestinationArn {
        DeliveryDestinationArn::parse(
            "arn:aws:logs:eu-west-1:111122223333:delivery-destination:peerwatch-peer-logs",
        )
        .unwrap()
    }

    fn meta(code: &str) -> ErrorMetadata {
        ErrorMetadata::builder()
            .code(code)
            .message("denied")
            .build()
    }

    fn peer() -> RouteServerPeerId {
        RouteServerPeerId::parse("rsp-0a1").unwrap()
    }

    #[test]
    fn access_denied_names_the_permissions_the_call_needs() {
        let denied = |operation| LoggingError::Peer {
            peer: peer(),
            operation,
            source: Box::new(aws_sdk_cloudwatchlogs::Error::AccessDeniedException(
                AccessDeniedException::builder()
                    .message("denied")
                    .meta(meta("AccessDeniedException"))
                    .build(),
            )),
        };
        let m = word(&dest(), &denied("PutDeliverySource"));
        assert!(
            m.starts_with(
                "peer rsp-0a1: not allowed to call CloudWatch Logs PutDeliverySource in account \
                 111122223333, region eu-west-1: the caller needs logs:PutDeliverySource and \
                 ec2:AllowVendedLogDeliveryForResource on \
                 arn:aws:ec2:eu-west-1:111122223333:route-server-peer/*"
            ),
            "{m}"
        );
        let m = word(&dest(), &denied("CreateDelivery"));
        assert!(m.contains("the caller needs logs:CreateDelivery ("), "{m}");
        assert!(!m.contains("ec2:"), "{m}");
    }

    #[test]
    fn a_missing_destination_is_named_with_where_it_was_looked_for() {
        let e = LoggingError::Destination {
            destination: dest().to_string(),
            source: Box::new(aws_sdk_cloudwatchlogs::Error::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .meta(meta("ResourceNotFoundException"))
                    .build(),
            )),
        };
        assert_eq!(
            word(&dest(), &e),
            "delivery destination peerwatch-peer-logs does not exist in account 111122223333, \
             region eu-west-1: check --destination or PEER_LOGS_DESTINATION_ARN (the stack's \
             peer-log delivery destination)"
        );
    }

    #[test]
    fn the_status_table_has_a_row_per_peer_and_a_count() {
        let doc = StatusDocument {
            destination_arn: dest().to_string(),
            peers: vec![
                StatusRow {
                    route_server_peer_id: "rsp-0a1".into(),
                    logging: Logging::On,
                    delivery_source: Some("peerwatch-rsp-0a1".into()),
                    delivery_id: Some("d1".into()),
                    other_destinations: vec![
                        "arn:aws:logs:eu-west-1:111122223333:delivery-destination:old".into(),
                    ],
                    detail: None,
                },
                StatusRow {
                    route_server_peer_id: "rsp-0b2".into(),
                    logging: Logging::Partial,
                    delivery_source: Some("peerwatch-rsp-0b2".into()),
                    delivery_id: None,
                    other_destinations: vec![],
                    detail: Some("the delivery source delivers nowhere".into()),
                },
            ],
        };
        let text = render_status(&doc, false);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("PEER") && lines[0].ends_with("DETAIL"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("rsp-0a1  on ")
                && lines[1].ends_with(
                    "also delivers to arn:aws:logs:eu-west-1:111122223333:delivery-destination:old"
                ),
            "{text}"
        );
        assert!(
            lines[2].contains(" partial ")
                && lines[2].ends_with("the delivery source delivers nowhere"),
            "{text}"
        );
        assert_eq!(
            lines.last().unwrap(),
            &"2 peers: 1 on, 1 partial, 0 off (destination \
              arn:aws:logs:eu-west-1:111122223333:delivery-destination:peerwatch-peer-logs)"
        );
        assert!(!text.contains('\u{1b}'));
        assert!(render_status(&doc, true).contains("\u{1b}["));
    }
}
