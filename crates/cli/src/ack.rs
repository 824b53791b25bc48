//! `peerwatch ack`: acknowledge an open alert. Its reminders stop until it ends, and a note
//! ("acknowledged by WHO: REASON") goes to the alert's thread through the outbox
//! (`peerwatch_aws::ack`). Who is `--by`, else the caller's identity from STS
//! `GetCallerIdentity`, so the note names the role the operator really holds.

use clap::Args;
use serde::Serialize;

use super::time::absolute;
use super::{
    Context, EXIT_EMPTY, EXIT_FAILED, EXIT_USAGE, Failure, Output, emit, emit_json, explain,
    parse_id,
};
use peerwatch_aws::ack::{AckError, AckOutcome, AckTarget};
use peerwatch_aws::config::ALERT_TOPIC_ARN;
use peerwatch_aws::cycle::Poller;
use peerwatch_core::error_chain;
use peerwatch_core::ids::{RouteServerEndpointId, RouteServerId, RouteServerPeerId};
use peerwatch_core::model::{Ack, Severity};

/// The longest `--reason` or `--by` kept: each is in the note's subject and in the history.
pub const MAX_TEXT_CHARS: usize = 500;

/// What to acknowledge: exactly one peer, endpoint or route server (with `--prefix`: one of
/// its routes).
#[derive(Args, Debug, Clone, Default)]
#[group(required = true, multiple = false)]
pub struct Subject {
    /// The peer (rsp-...)
    #[arg(long, value_name = "PEER_ID", value_parser = parse_id::<RouteServerPeerId>)]
    pub peer: Option<RouteServerPeerId>,
    /// The route server endpoint (rse-...)
    #[arg(long, value_name = "ENDPOINT_ID", value_parser = parse_id::<RouteServerEndpointId>)]
    pub endpoint: Option<RouteServerEndpointId>,
    /// The route server (rs-...): its persisted-routes alert, or with --prefix one route's
    #[arg(long = "route-server", value_name = "RS_ID", value_parser = parse_id::<RouteServerId>)]
    pub route_server: Option<RouteServerId>,
}

#[derive(Args, Debug, Clone, Default)]
#[command(after_help = "Examples:\n  \
    peerwatch ack --peer rsp-0a1b2c3d4e5f60718 --reason \"looking at the firewall\"\n  \
    peerwatch ack --endpoint rse-0a1b2c3d4e5f60718\n  \
    peerwatch ack --route-server rs-0a1b2c3d4e5f60718 --prefix 10.0.0.0/16 --by netops-oncall\n\n\
    Acknowledges the open alert: its reminders stop, and a note (\"acknowledged by WHO: REASON\")\n\
    goes to the alert's chat thread, with event alert.acknowledged and severity info; the note\n\
    is sent whatever NOTIFY_MIN_SEVERITY says. The recovery is still sent, and ends the\n\
    acknowledgement: a new alert after it is not acknowledged, nor is an escalation (a warning\n\
    that becomes critical). WHO is --by, else the caller's identity (STS GetCallerIdentity).\n\
    If the note cannot be published now it stays in the outbox and the next poll cycle sends it.\n\
    Needs ALERT_TOPIC_ARN (or --topic-arn).\n\n\
    Exit codes: 0 acknowledged (or already acknowledged: who and when are shown), 1 an AWS call\n\
    failed, 2 bad arguments or settings, 3 nothing to acknowledge (no alert open, or the subject\n\
    is not known).")]
pub struct AckArgs {
    #[command(flatten)]
    pub subject: Subject,
    /// One route of the route server: its prefix (needs --route-server)
    #[arg(long, value_name = "PREFIX", requires = "route_server")]
    pub prefix: Option<String>,
    /// Why, or what is being done: in the note and the history
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Who, instead of the caller's AWS identity (a team, a rota name)
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,
}

/// The JSON document.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AckDocument {
    /// The `RouteServerPeerId` key value of the subject.
    pub key: String,
    pub subject: String,
    /// `acknowledged` (this call did) or `already-acknowledged` (someone else had).
    pub outcome: &'static str,
    pub by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_arn: Option<String>,
    pub reason: Option<String>,
    pub at: peerwatch_core::model::Timestamp,
    /// The alert acknowledged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<Severity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    /// `sent`, or `pending` (the next poll cycle sends it); absent when already acknowledged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

impl AckArgs {
    fn target(&self) -> Result<AckTarget, Failure> {
        let s = &self.subject;
        match (&s.peer, &s.endpoint, &s.route_server, &self.prefix) {
            (Some(p), None, None, None) => Ok(AckTarget::Peer(p.clone())),
            (None, Some(e), None, None) => Ok(AckTarget::Endpoint(e.clone())),
            (None, None, Some(rs), None) => Ok(AckTarget::RouteServer(rs.clone())),
            (None, None, Some(rs), Some(prefix)) => {
                let prefix = prefix.trim();
                if prefix.is_empty()
                    || prefix.contains(char::is_whitespace)
                    || !prefix.contains('/')
                {
                    return Err(Failure::new(
                        EXIT_USAGE,
                        format!("--prefix {prefix:?} is not a prefix; expected e.g. 10.0.0.0/16"),
                    ));
                }
                Ok(AckTarget::Route {
                    route_server: rs.clone(),
                    prefix: prefix.to_string(),
                })
            }
            (_, _, _, Some(_)) => Err(Failure::new(
                EXIT_USAGE,
                "--prefix names a route of a route server: give it with --route-server",
            )),
            _ => Err(Failure::new(
                EXIT_USAGE,
                "give exactly one of --peer, --endpoint and --route-server",
            )),
        }
    }
}

/// Text an operator typed: trimmed, one line, not empty, not too long.
fn text(flag: &str, v: Option<&str>) -> Result<Option<String>, Failure> {
    let Some(v) = v else { return Ok(None) };
    let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
    if v.is_empty() {
        return Err(Failure::new(EXIT_USAGE, format!("{flag} is empty")));
    }
    if v.chars().count() > MAX_TEXT_CHARS {
        return Err(Failure::new(
            EXIT_USAGE,
            format!("{flag} is longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(Some(v))
}

/// `arn:aws:sts::123456789012:assumed-role/OnCall/alice` -> `OnCall/alice`;
/// `arn:aws:iam::123456789012:user/bob` -> `bob`; anything else as it is.
pub fn readable_arn(arn: &str) -> String {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    if let Some(rest) = resource.strip_prefix("assumed-role/") {
        return rest.to_string();
    }
    if let Some(rest) = resource
        .strip_prefix("user/")
        .or_else(|| resource.strip_prefix("federated-user/"))
    {
        // A user's path (`user/team/bob`) says less than the name.
        return rest.rsplit('/').next().unwrap_or(rest).to_string();
    }
    if resource == "root" {
        return "root".to_string();
    }
    arn.to_string()
}

/// The caller's identity: (readable, full ARN).
async fn caller(ctx: &Context) -> Result<(String, String), Failure> {
    let sts = aws_sdk_sts::Client::new(&ctx.sdk);
    let out = sts.get_caller_identity().send().await.map_err(|e| {
        Failure::new(
            EXIT_FAILED,
            format!(
                "cannot tell who you are (STS GetCallerIdentity, region {}): {}; give --by WHO",
                ctx.region(),
                error_chain(&e)
            ),
        )
    })?;
    let arn = out.arn().unwrap_or_default().to_string();
    if arn.is_empty() {
        return Err(Failure::new(
            EXIT_FAILED,
            "STS GetCallerIdentity answered no ARN; give --by WHO",
        ));
    }
    Ok((readable_arn(&arn), arn))
}

pub async fn run(ctx: &Context, args: AckArgs) -> Result<(), Failure> {
    let target = args.target()?;
    let reason = text("--reason", args.reason.as_deref())?;
    let by = text("--by", args.by.as_deref())?;
    if ctx.config.alert_topic_arn.is_none() {
        return Err(Failure::new(
            EXIT_USAGE,
            format!(
                "{ALERT_TOPIC_ARN} is not set: the acknowledgement's note goes to the alert \
                 topic; set {ALERT_TOPIC_ARN} or give --topic-arn"
            ),
        ));
    }
    let (by, caller_arn) = match by {
        Some(by) => (by, None),
        None => {
            let (by, arn) = caller(ctx).await?;
            (by, Some(arn))
        }
    };
    let poller = Poller::new(&ctx.sdk, ctx.config.clone());
    let ack = Ack {
        by,
        reason,
        at: ctx.now,
    };
    let outcome = poller
        .acknowledge(&target, ack)
        .await
        .map_err(|e| failure(ctx, &e))?;
    let doc = match outcome {
        AckOutcome::Acknowledged {
            ack,
            alert,
            version,
            thread_id,
            delivered,
        } => AckDocument {
            key: target.key(),
            subject: target.to_string(),
            outcome: "acknowledged",
            by: ack.by,
            caller_arn,
            reason: ack.reason,
            at: ack.at,
            alert,
            thread_id: Some(thread_id),
            notification: Some(if delivered { "sent" } else { "pending" }),
            version: Some(version),
        },
        AckOutcome::AlreadyAcked(first) => AckDocument {
            key: target.key(),
            subject: target.to_string(),
            outcome: "already-acknowledged",
            by: first.by,
            caller_arn: None,
            reason: first.reason,
            at: first.at,
            alert: None,
            thread_id: None,
            notification: None,
            version: None,
        },
    };
    match ctx.output {
        Output::Json => emit_json(&doc),
        Output::Table => emit(&render(&doc)),
    }
}

fn failure(ctx: &Context, e: &AckError) -> Failure {
    match e {
        AckError::NoTopic => Failure::new(EXIT_USAGE, e.to_string()),
        AckError::NotKnown { .. } => Failure::new(
            EXIT_EMPTY,
            format!(
                "{e} (region {}): nothing to acknowledge; `peerwatch status` lists what is known",
                ctx.region()
            ),
        ),
        AckError::NothingOpen { .. } => Failure::new(
            EXIT_EMPTY,
            format!("{e}; only an alert that was sent and has not recovered can be acknowledged"),
        ),
        AckError::Busy { .. } => Failure::new(EXIT_FAILED, e.to_string()),
        AckError::Read { .. } | AckError::Write { .. } => {
            let f = explain(ctx, e);
            Failure::new(f.code, format!("{e}: {}", f.message))
        }
    }
}

/// The table output: what was done, in a few lines.
pub fn render(doc: &AckDocument) -> String {
    let why = doc
        .reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    let mut out = match doc.outcome {
        "acknowledged" => format!(
            "Acknowledged the {} alert on {} as {}{why} at {}.",
            doc.alert.map_or("open", |s| s.as_str()),
            doc.subject,
            doc.by,
            absolute(doc.at)
        ),
        _ => format!(
            "Already acknowledged: {} by {}{why} at {}. Nothing changed.",
            doc.subject,
            doc.by,
            absolute(doc.at)
        ),
    };
    match doc.notification {
        Some("sent") => out.push_str(&format!(
            "\nThe note went to thread {}. Reminders stop until the alert ends.",
            doc.thread_id.as_deref().unwrap_or("-")
        )),
        Some(_) => out.push_str(
            "\nThe note could not be published now: it stays in the outbox, and the next poll \
             cycle sends it. Reminders stop until the alert ends.",
        ),
        None => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_is_made_readable() {
        for (arn, want) in [
            (
                "arn:aws:sts::123456789012:assumed-role/OnCall/alice",
                "OnCall/alice",
            ),
            ("arn:aws:iam::123456789012:user/bob", "bob"),
            ("arn:aws:iam::123456789012:user/netops/bob", "bob"),
            ("arn:aws:iam::123456789012:root", "root"),
            ("arn:aws:sts::123456789012:federated-user/carol", "carol"),
            ("not an arn", "not an arn"),
        ] {
            assert_eq!(readable_arn(arn), want, "{arn}");
        }
    }

    #[test]
    fn the_subject_is_exactly_one_and_a_prefix_needs_its_route_server() {
        let rs: RouteServerId = "rs-1".parse().unwrap();
        let args = AckArgs {
            subject: Subject {
                route_server: Some(rs.clone()),
                ..Default::default()
            },
            prefix: Some(" 10.0.0.0/16 ".into()),
            ..Default::default()
        };
        assert_eq!(args.target().unwrap().key(), "route#rs-1#10.0.0.0/16");
        let bad = AckArgs {
            prefix: Some("ten".into()),
            ..args.clone()
        };
        assert!(bad.target().unwrap_err().message.contains("\"ten\""));
        let no_rs = AckArgs {
            subject: Subject {
                peer: Some("rsp-1".parse().unwrap()),
                ..Default::default()
            },
            prefix: Some("10.0.0.0/16".into()),
            ..Default::default()
        };
        assert_eq!(no_rs.target().unwrap_err().code, EXIT_USAGE);
    }

    #[test]
    fn text_is_one_line_and_bounded() {
        assert_eq!(
            text("--reason", Some("  on\n it ")).unwrap(),
            Some("on it".into())
        );
        assert_eq!(text("--reason", Some("  ")).unwrap_err().code, EXIT_USAGE);
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        assert!(
            text("--by", Some(&long))
                .unwrap_err()
                .message
                .contains("--by")
        );
    }
}
