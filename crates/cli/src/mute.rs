//! `peerwatch mute`, `peerwatch unmute` and `peerwatch mutes`: maintenance mutes, stored as
//! items of the `PeerState` table (`peerwatch_aws::mutes`), and the peers muted by their
//! `peerwatch:mute` tag. A muted peer's changes are recorded as usual with their alerts held
//! back (`NotificationState` `suppressed`); when the mute ends, a peer still down or degraded
//! alerts once.

use std::collections::HashMap;

use clap::Args;
use comfy_table::{Cell, Color};
use serde::Serialize;

use super::time::{absolute, parse_time, relative};
use super::{
    Context, EXIT_EMPTY, EXIT_USAGE, Failure, Output, color_enabled, emit, emit_json, explain,
    new_table, parse_id, table_text,
};
use peerwatch_aws::mutes;
use peerwatch_aws::store::Store;
use peerwatch_core::ids::{RouteServerId, RouteServerPeerId};
use peerwatch_core::model::{PeerRecord, Timestamp};
use peerwatch_core::mute::{MUTE_TAG, Mute, MuteRecord, MuteTarget, tag_mute, tag_value};

/// The longest `--reason` kept (it is shown in tables and stored with the mute).
pub const MAX_REASON_CHARS: usize = 500;

/// What a mute or unmute applies to: one peer or every peer of one route server.
#[derive(Args, Debug, Clone, Default)]
#[group(required = true, multiple = false)]
pub struct Target {
    /// The peer (rsp-...)
    #[arg(long, value_name = "PEER_ID", value_parser = parse_id::<RouteServerPeerId>)]
    pub peer: Option<RouteServerPeerId>,
    /// Every peer of this route server (rs-...), including peers added to it later
    #[arg(long = "route-server", value_name = "RS_ID", value_parser = parse_id::<RouteServerId>)]
    pub route_server: Option<RouteServerId>,
}

impl Target {
    /// The one target clap let through (the group requires exactly one).
    fn target(&self) -> Result<MuteTarget, Failure> {
        match (&self.peer, &self.route_server) {
            (Some(p), _) => Ok(MuteTarget::Peer(p.clone())),
            (None, Some(r)) => Ok(MuteTarget::RouteServer(r.clone())),
            (None, None) => Err(Failure::new(EXIT_USAGE, "give --peer or --route-server")),
        }
    }
}

/// How long a mute lasts; exactly one is required, so that nothing is muted for ever by
/// accident.
#[derive(Args, Debug, Clone, Default)]
#[group(required = true, multiple = false)]
pub struct Span {
    /// For this long from now: 30m, 2h, 1d, 1h30m
    #[arg(long = "for", value_name = "DURATION")]
    pub for_: Option<String>,
    /// Until this time: RFC 3339 (2026-11-25T21:00:00Z, ...+01:00) or a UTC day (its midnight)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Until `peerwatch unmute`: no end of its own
    #[arg(long)]
    pub indefinitely: bool,
}

#[derive(Args, Debug, Clone, Default)]
#[command(after_help = "Examples:\n  \
    peerwatch mute --peer rsp-0a1b2c3d4e5f60718 --for 2h --reason \"firewall upgrade\"\n  \
    peerwatch mute --route-server rs-0a1b2c3d4e5f60718 --until 2026-11-25T23:00:00Z\n  \
    peerwatch mute --peer rsp-0a1b2c3d4e5f60718 --indefinitely --reason \"decommissioning\"\n\n\
    A muted peer is still polled and every change is recorded (its history shows notification\n\
    `suppressed`), but no alert is sent. When the mute ends, a peer that is still down or\n\
    degraded alerts once; one that recovered meanwhile sends nothing. The recovery of an alert\n\
    sent before the mute still goes out. A route-server mute covers each of its peers.\n\
    One of --for, --until and --indefinitely is required; muting a target again replaces its\n\
    mute. The mute is an item of the PeerState table: the poller applies it from its next\n\
    cycle, with no further setting. A peer can also be muted by its EC2 tag peerwatch:mute\n\
    (value true, or the RFC 3339 time the mute ends).\n\n\
    Exit codes: 0 muted, 1 an AWS call failed, 2 bad arguments or settings.")]
pub struct MuteArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub span: Span,
    /// Why, for the other operators (shown by `peerwatch mutes`)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Args, Debug, Clone, Default)]
#[command(after_help = "Examples:\n  \
    peerwatch unmute --peer rsp-0a1b2c3d4e5f60718\n  \
    peerwatch unmute --route-server rs-0a1b2c3d4e5f60718\n\n\
    Deletes the stored mute; from the next poll cycle the target alerts again, and a peer still\n\
    down or degraded whose alert the mute held back alerts once. A mute by tag is removed by\n\
    removing the peer's peerwatch:mute tag in EC2.\n\n\
    Exit codes: 0 unmuted, 1 an AWS call failed, 2 bad arguments or settings,\n\
    3 there was no stored mute of that target.")]
pub struct UnmuteArgs {
    #[command(flatten)]
    pub target: Target,
}

#[derive(Args, Debug, Clone, Default)]
#[command(after_help = "Examples:\n  \
    peerwatch mutes\n  \
    peerwatch mutes --all --output json | jq '.mutes[] | select(.source == \"tag\")'\n\n\
    Lists the stored mutes (source `stored`, from `peerwatch mute`) and the peers muted by\n\
    their peerwatch:mute tag (source `tag`), soonest to end first. Tags are read from PeerState,\n\
    which the poller updates when a peer changes: a tag set on a peer that has not changed\n\
    since is applied by the poller but shown here only after the peer's next recorded change.\n\
    A tag value that mutes nothing (neither true nor an RFC 3339 time) is reported on stderr.\n\n\
    Exit codes: 0 mutes shown, 1 an AWS call failed, 2 bad arguments or settings,\n\
    3 no mute to show.")]
pub struct MutesArgs {
    /// Also the mutes that have ended (stored ones stay until `peerwatch unmute`)
    #[arg(long)]
    pub all: bool,
}

/// Who sets a mute: the `USER` environment variable, else `unknown` (no AWS call asked).
fn current_user() -> String {
    std::env::var("USER")
        .ok()
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// `--for`: a duration (as humantime reads it: `30m`, `2h`, `1d`, `1h30m`) forward from `now`.
pub fn parse_forward(arg: &str, now: Timestamp) -> Result<Timestamp, String> {
    let arg = arg.trim();
    let d = humantime::parse_duration(arg).map_err(|e| {
        format!("{arg:?} is not a duration ({e}); expected e.g. 30m, 2h, 1d, 1h30m")
    })?;
    if d.is_zero() {
        return Err(format!("{arg:?} is no time at all"));
    }
    i64::try_from(d.as_millis())
        .ok()
        .and_then(|ms| now.as_millis().checked_add(ms))
        .and_then(Timestamp::from_millis)
        .ok_or_else(|| format!("{arg:?} reaches too far ahead"))
}

/// When a mute asked for with `span` ends (`None`: until unmuted), checked against `now`.
pub fn resolve_until(span: &Span, now: Timestamp) -> Result<Option<Timestamp>, Failure> {
    let usage = |m: String| Failure::new(EXIT_USAGE, m);
    let until = match (&span.for_, &span.until) {
        (Some(d), _) => parse_forward(d, now).map_err(|e| usage(format!("invalid --for: {e}")))?,
        (None, Some(t)) => {
            let t = t.trim();
            // `parse_time` reads a duration as back from now; here that would be a mistake.
            if !t.contains(['-', ':']) {
                return Err(usage(format!(
                    "invalid --until: {t:?} is not a time; for a duration from now use --for {t}"
                )));
            }
            parse_time(t, now).map_err(|e| usage(format!("invalid --until: {e}")))?
        }
        (None, None) => return Ok(None),
    };
    if until <= now {
        return Err(usage(format!(
            "invalid --until: {until} is not in the future (now is {now})"
        )));
    }
    Ok(Some(until))
}

fn store(ctx: &Context) -> Store {
    Store::new(
        aws_sdk_dynamodb::Client::new(&ctx.sdk),
        &ctx.config.peer_state_table,
        &ctx.config.peer_transitions_table,
        ctx.config.history_retention_days,
    )
}

/// The present peers a mute of `target` covers, sorted.
fn covered<'a>(
    states: impl IntoIterator<Item = &'a PeerRecord>,
    target: &MuteTarget,
) -> Vec<String> {
    let mut ids: Vec<String> = states
        .into_iter()
        .filter(|r| r.present && target.covers(&r.peer))
        .map(|r| r.peer.route_server_peer_id.clone())
        .collect();
    ids.sort();
    ids
}

/// `until` for people: `2026-11-25 21:05:00Z (in 2h)`, or `open` text.
fn until_text(until: Option<Timestamp>, now: Timestamp, open: &str) -> String {
    match until {
        Some(u) => format!("{} ({})", absolute(u), relative(u, now)),
        None => open.to_string(),
    }
}

/// `peer rsp-... until ... (in 2h), reason: ... (set by ... at ...)`.
fn describe(r: &MuteRecord, now: Timestamp) -> String {
    format!(
        "{} {} {}",
        r.mute.target.kind(),
        r.mute.target,
        describe_span(r, now)
    )
}

/// `until ... (in 2h), reason: ... (set by ... at ...)`.
fn describe_span(r: &MuteRecord, now: Timestamp) -> String {
    let mut text = format!("until {}", until_text(r.mute.until, now, "unmuted"));
    if let Some(reason) = &r.reason {
        text.push_str(&format!(", reason: {reason}"));
    }
    text.push_str(&format!(
        " (set by {} at {})",
        r.created_by,
        absolute(r.created_at)
    ));
    text
}

/// `peerwatch mute --json`: the mute stored, the one it replaced, and the known peers it covers.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MuteDocument {
    pub mute: MuteRecord,
    pub replaced: Option<MuteRecord>,
    /// Present peers known in `PeerState` that the mute covers (`null` if they could not be
    /// read).
    pub covers: Option<Vec<String>>,
}

pub async fn mute(ctx: &Context, args: MuteArgs) -> Result<(), Failure> {
    let until = resolve_until(&args.span, ctx.now)?;
    let reason = args
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if let Some(r) = reason
        && r.chars().count() > MAX_REASON_CHARS
    {
        return Err(Failure::new(
            EXIT_USAGE,
            format!("invalid --reason: longer than {MAX_REASON_CHARS} characters"),
        ));
    }
    let target = args.target.target()?;
    let record = MuteRecord {
        mute: Mute {
            target: target.clone(),
            until,
        },
        reason: reason.map(str::to_string),
        created_at: ctx.now,
        created_by: current_user(),
    };
    let store = store(ctx);
    let replaced = mutes::put(store.client(), store.state_table(), &record)
        .await
        .map_err(|e| explain(ctx, &e))?;
    // Which known peers it covers: a check on the id, not needed for the mute to work.
    let covers = match store.load_states().await {
        Ok(states) => Some(covered(states.values(), &target)),
        Err(e) => {
            tracing::debug!(error = %e, "cannot read the peers a mute covers");
            None
        }
    };
    if covers.as_ref().is_some_and(Vec::is_empty) {
        eprintln!(
            "peerwatch: note: no {} {target} is known in table {} yet; check the id (the mute \
             applies as soon as the poller sees it)",
            match target {
                MuteTarget::RouteServer(_) => "peer of route server",
                MuteTarget::Peer(_) => "peer",
            },
            ctx.config.peer_state_table
        );
    }
    let doc = MuteDocument {
        mute: record,
        replaced,
        covers,
    };
    match ctx.output {
        Output::Json => emit_json(&doc),
        Output::Table => emit(&mute_text(&doc, ctx.now)),
    }
}

fn mute_text(doc: &MuteDocument, now: Timestamp) -> String {
    let mut out = format!("muted {}", describe(&doc.mute, now));
    if let Some(covers) = &doc.covers
        && matches!(doc.mute.mute.target, MuteTarget::RouteServer(_))
    {
        let n = covers.len();
        out.push_str(&format!(
            "\ncovers {n} known peer{}",
            if n == 1 { "" } else { "s" }
        ));
        if n > 0 {
            out.push_str(&format!(": {}", covers.join(", ")));
        }
    }
    if let Some(old) = &doc.replaced {
        out.push_str(&format!(
            "\nreplaces the earlier mute {}",
            describe_span(old, now)
        ));
    }
    out.push_str(
        "\nChanges are recorded, alerts held back; a peer still down or degraded when the mute \
         ends alerts once.",
    );
    out
}

#[derive(Debug, Serialize)]
pub struct UnmuteDocument {
    pub unmuted: Option<MuteRecord>,
}

pub async fn unmute(ctx: &Context, args: UnmuteArgs) -> Result<(), Failure> {
    let target = args.target.target()?;
    let store = store(ctx);
    let removed = mutes::delete(store.client(), store.state_table(), &target)
        .await
        .map_err(|e| explain(ctx, &e))?;
    // A tag mute stays: say so, whether or not there was a stored one.
    let tag = if let MuteTarget::Peer(peer) = &target {
        store
            .load_states()
            .await
            .ok()
            .and_then(|mut s| s.remove(peer.as_str()))
            .and_then(|r| tag_value(&r.peer.tags).map(str::to_string))
            .filter(|v| tag_mute(v).is_some_and(|u| u.is_none_or(|u| ctx.now < u)))
    } else {
        None
    };
    let tag_note = tag.map(|v| {
        format!(
            "{target} is still muted by its tag {MUTE_TAG}={v}; remove it in EC2 \
             (aws ec2 delete-tags --resources {target} --tags Key={MUTE_TAG})"
        )
    });
    let doc = UnmuteDocument {
        unmuted: removed.clone(),
    };
    let Some(removed) = removed else {
        if ctx.output == Output::Json {
            emit_json(&doc)?;
        }
        let mut message = format!(
            "no stored mute of {} {target} in table {} (region {})",
            target.kind(),
            ctx.config.peer_state_table,
            ctx.region()
        );
        if let Some(note) = tag_note {
            message.push_str(&format!("; {note}"));
        }
        return Err(Failure::new(EXIT_EMPTY, message));
    };
    match ctx.output {
        Output::Json => emit_json(&doc)?,
        Output::Table => {
            let mut text = format!("unmuted {}", describe(&removed, ctx.now));
            if !removed.active(ctx.now) {
                text.push_str("\nit had already ended");
            } else {
                text.push_str(
                    "\nAlerts flow again from the next poll cycle; a peer still down or degraded \
                     whose alert the mute held back alerts once.",
                );
            }
            emit(&text)?;
        }
    }
    if let Some(note) = tag_note {
        eprintln!("peerwatch: note: {note}");
    }
    Ok(())
}

/// Where a listed mute comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// `peerwatch mute`
    Stored,
    /// The peer's `peerwatch:mute` tag
    Tag,
}

/// One line of `peerwatch mutes`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    pub target: String,
    /// `peer` or `route-server`
    pub target_type: &'static str,
    pub source: Source,
    /// `null`: until unmuted (or, for a tag, until the tag is removed).
    pub until: Option<Timestamp>,
    pub active: bool,
    /// Present peers known in `PeerState` that it covers.
    pub peers_covered: usize,
    pub reason: Option<String>,
    pub created_at: Option<Timestamp>,
    pub created_by: Option<String>,
    /// The tag's value, for a mute by tag.
    pub tag_value: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MutesDocument {
    pub mutes: Vec<Listed>,
}

/// The stored mutes and the tag mutes of present peers, active first, then soonest to end
/// (open-ended last), then by target; ended ones only with `all`. Also answers the tag values
/// that mute nothing, as (peer, value).
pub fn select(
    states: &HashMap<String, PeerRecord>,
    stored: Vec<MuteRecord>,
    now: Timestamp,
    all: bool,
) -> (Vec<Listed>, Vec<(String, String)>) {
    let mut out: Vec<Listed> = stored
        .into_iter()
        .map(|r| Listed {
            target_type: match r.mute.target {
                MuteTarget::RouteServer(_) => "route-server",
                MuteTarget::Peer(_) => "peer",
            },
            source: Source::Stored,
            active: r.active(now),
            peers_covered: covered(states.values(), &r.mute.target).len(),
            until: r.mute.until,
            reason: r.reason,
            created_at: Some(r.created_at),
            created_by: Some(r.created_by),
            tag_value: None,
            target: r.mute.target.to_string(),
        })
        .collect();
    let mut invalid = Vec::new();
    for r in states.values().filter(|r| r.present) {
        let Some(value) = tag_value(&r.peer.tags) else {
            continue;
        };
        let id = &r.peer.route_server_peer_id;
        match tag_mute(value) {
            Some(until) => out.push(Listed {
                target: id.clone(),
                target_type: "peer",
                source: Source::Tag,
                until,
                active: until.is_none_or(|u| now < u),
                peers_covered: 1,
                reason: None,
                created_at: None,
                created_by: None,
                tag_value: Some(value.to_string()),
            }),
            None => invalid.push((id.clone(), value.to_string())),
        }
    }
    out.retain(|l| all || l.active);
    out.sort_by(|a, b| {
        let key = |l: &Listed| {
            (
                !l.active,
                l.until.is_none(),
                l.until,
                l.target.clone(),
                l.source,
            )
        };
        key(a).cmp(&key(b))
    });
    invalid.sort();
    (out, invalid)
}

pub async fn list(ctx: &Context, args: MutesArgs) -> Result<(), Failure> {
    let known = store(ctx)
        .load_known()
        .await
        .map_err(|e| explain(ctx, &e))?;
    let (states, stored) = (known.peers, known.mutes);
    let stored_count = stored.len();
    let (listed, invalid) = select(&states, stored, ctx.now, args.all);
    for (peer, value) in &invalid {
        eprintln!(
            "peerwatch: note: peer {peer} has the tag {MUTE_TAG}={value:?}, which mutes nothing \
             (expected true or an RFC 3339 time such as 2026-11-25T21:00:00Z)"
        );
    }
    let doc = MutesDocument { mutes: listed };
    match ctx.output {
        Output::Json => emit_json(&doc)?,
        Output::Table if doc.mutes.is_empty() => {}
        Output::Table => emit(&render(&doc.mutes, ctx.now, color_enabled()))?,
    }
    if doc.mutes.is_empty() {
        let message = if stored_count > 0 && !args.all {
            format!(
                "no active mute: {stored_count} stored mute(s) in table {} have ended (--all \
                 shows them; `peerwatch unmute` deletes them)",
                ctx.config.peer_state_table
            )
        } else {
            format!(
                "no mute: none stored in table {} (region {}) and no known peer has the tag \
                 {MUTE_TAG}",
                ctx.config.peer_state_table,
                ctx.region()
            )
        };
        return Err(Failure::new(EXIT_EMPTY, message));
    }
    Ok(())
}

/// The table output of `peerwatch mutes`, closed by a count.
pub fn render(listed: &[Listed], now: Timestamp, color: bool) -> String {
    let mut t = new_table(
        &[
            "TARGET", "TYPE", "SOURCE", "STATUS", "UNTIL", "PEERS", "REASON", "SET BY",
        ],
        color,
    );
    for l in listed {
        let mut status = Cell::new(if l.active { "active" } else { "ended" });
        if color && l.active {
            status = status.fg(Color::Yellow);
        }
        let open = match l.source {
            Source::Stored => "until unmuted",
            Source::Tag => "until the tag is removed",
        };
        let source = match (&l.source, &l.tag_value) {
            (Source::Tag, Some(v)) => format!("tag ({MUTE_TAG}={v})"),
            (Source::Tag, None) => "tag".into(),
            (Source::Stored, _) => "stored".into(),
        };
        let set_by = match (&l.created_by, l.created_at) {
            (Some(by), Some(at)) => format!("{by} at {}", absolute(at)),
            _ => "-".into(),
        };
        t.add_row(vec![
            Cell::new(&l.target),
            Cell::new(l.target_type),
            Cell::new(source),
            status,
            Cell::new(until_text(l.until, now, open)),
            Cell::new(l.peers_covered),
            Cell::new(l.reason.as_deref().unwrap_or("-")),
            Cell::new(set_by),
        ]);
    }
    let active = listed.iter().filter(|l| l.active).count();
    let ended = listed.len() - active;
    let by_tag = listed
        .iter()
        .filter(|l| l.active && l.source == Source::Tag)
        .count();
    let mut footer = format!(
        "{active} active mute{} ({} stored, {by_tag} by tag)",
        if active == 1 { "" } else { "s" },
        active - by_tag
    );
    if ended > 0 {
        footer.push_str(&format!("; {ended} ended"));
    }
    format!("{}\n\n{footer}", table_text(&t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerwatch_core::model::{Health, PeerSnapshot};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const NOW: &str = "2026-11-25T19:05:00.500Z";

    fn span(for_: Option<&str>, until: Option<&str>, indefinitely: bool) -> Span {
        Span {
            for_: for_.map(Into::into),
            until: until.map(Into::into),
            indefinitely,
        }
    }

    #[test]
    fn for_counts_forward_and_until_must_be_a_future_time() {
        let now = t(NOW);
        for (arg, want) in [
            ("2h", "2026-11-25T21:05:00.500Z"),
            ("90m", "2026-11-25T20:35:00.500Z"),
            ("1d", "2026-11-26T19:05:00.500Z"),
            ("1h 30m", "2026-11-25T20:35:00.500Z"),
        ] {
            assert_eq!(
                resolve_until(&span(Some(arg), None, false), now).unwrap(),
                Some(t(want)),
                "{arg}"
            );
        }
        assert_eq!(
            resolve_until(&span(None, Some("2026-11-25T23:00:00+01:00"), false), now).unwrap(),
            Some(t("2026-11-25T22:00:00Z"))
        );
        assert_eq!(
            resolve_until(&span(None, Some("2026-11-26"), false), now).unwrap(),
            Some(t("2026-11-26T00:00:00Z"))
        );
        assert_eq!(resolve_until(&span(None, None, true), now).unwrap(), None);
        for (s, want) in [
            (span(Some("0s"), None, false), "no time at all"),
            (span(Some("soon"), None, false), "not a duration"),
            (span(Some("-2h"), None, false), "not a duration"),
            (span(Some("99999999999d"), None, false), "too far ahead"),
            (span(None, Some("2h"), false), "use --for 2h"),
            (
                span(None, Some("2026-11-25T19:00:00Z"), false),
                "not in the future",
            ),
            (span(None, Some("2026-11-25T21:00:00"), false), "add Z"),
        ] {
            let f = resolve_until(&s, now).unwrap_err();
            assert_eq!(f.code, EXIT_USAGE);
            assert!(f.message.contains(want), "{s:?}: {}", f.message);
        }
    }

    #[test]
    fn ids_must_have_their_prefix() {
        let peer_id = parse_id::<RouteServerPeerId>;
        let route_server_id = parse_id::<RouteServerId>;
        assert_eq!(
            peer_id(" rsp-0a1b2c3d4e5f60718 ").unwrap().as_str(),
            "rsp-0a1b2c3d4e5f60718"
        );
        assert!(route_server_id("rs-0a1b2c3d4e5f60718").is_ok());
        for bad in ["rs-0a1b", "rsp-", "vpc-1", "rsp-0a#1", ""] {
            assert!(peer_id(bad).is_err(), "{bad}");
        }
        assert!(route_server_id("rsp-0a1b").unwrap_err().contains("rs-..."));
    }

    fn peer(id: &str, rs: &str, present: bool, tag: Option<&str>) -> (String, PeerRecord) {
        let mut tags = std::collections::BTreeMap::new();
        if let Some(v) = tag {
            tags.insert(MUTE_TAG.to_string(), v.to_string());
        }
        let r = PeerRecord {
            peer: PeerSnapshot {
                route_server_peer_id: id.into(),
                route_server_id: rs.into(),
                tags,
                ..Default::default()
            },
            first_seen_at: t("2026-11-20T10:00:00Z"),
            last_changed_at: t("2026-11-20T10:00:00Z"),
            present,
            version: 1,
            sessions_changed_at: Default::default(),
            health: Health::Healthy,
            open_alert: None,
            alerting: Default::default(),
        };
        (id.to_string(), r)
    }

    fn stored(target: &str, until: Option<&str>) -> MuteRecord {
        MuteRecord {
            mute: Mute {
                target: MuteTarget::parse(target).unwrap(),
                until: until.map(t),
            },
            reason: Some("maintenance".into()),
            created_at: t("2026-11-25T18:00:00Z"),
            created_by: "ops".into(),
        }
    }

    #[test]
    fn listing_orders_active_first_soonest_end_first_and_reads_tags() {
        let now = t(NOW);
        let states: HashMap<_, _> = [
            peer("rsp-a", "rs-1", true, None),
            peer("rsp-b", "rs-1", true, Some("true")),
            peer("rsp-c", "rs-1", true, Some("2026-11-25T20:00:00Z")),
            peer("rsp-d", "rs-2", true, Some("2026-11-25T10:00:00Z")),
            peer("rsp-e", "rs-2", true, Some("tomorrow")),
            peer("rsp-f", "rs-2", false, Some("true")),
        ]
        .into();
        let mutes = vec![
            stored("rs-1", Some("2026-11-25T21:00:00Z")),
            stored("rsp-a", None),
            stored("rsp-x", Some("2026-11-25T12:00:00Z")),
        ];
        let key = |l: &Listed| (l.target.clone(), l.source, l.active, l.peers_covered);
        let (active, invalid) = select(&states, mutes.clone(), now, false);
        assert_eq!(
            active.iter().map(key).collect::<Vec<_>>(),
            [
                ("rsp-c".to_string(), Source::Tag, true, 1),
                ("rs-1".to_string(), Source::Stored, true, 3),
                ("rsp-a".to_string(), Source::Stored, true, 1),
                ("rsp-b".to_string(), Source::Tag, true, 1),
            ]
        );
        assert_eq!(invalid, [("rsp-e".to_string(), "tomorrow".to_string())]);
        let (all, _) = select(&states, mutes, now, true);
        assert_eq!(
            all[4..].iter().map(key).collect::<Vec<_>>(),
            [
                ("rsp-d".to_string(), Source::Tag, false, 1),
                ("rsp-x".to_string(), Source::Stored, false, 0),
            ]
        );
        let text = render(&all, now, false);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("TARGET") && lines[0].ends_with("SET BY"));
        let rs = lines.iter().find(|l| l.starts_with("rs-1")).unwrap();
        for want in [
            "route-server",
            "stored",
            "active",
            "2026-11-25 21:00:00Z (in 1h 54m)",
            "maintenance",
            "ops at 2026-11-25 18:00:00Z",
        ] {
            assert!(rs.contains(want), "{want} in {rs}");
        }
        let b = lines.iter().find(|l| l.starts_with("rsp-b")).unwrap();
        assert!(
            b.contains("tag (peerwatch:mute=true)") && b.contains("until the tag is removed"),
            "{b}"
        );
        assert!(
            text.ends_with("4 active mutes (2 stored, 2 by tag); 2 ended"),
            "{text}"
        );
    }
}
