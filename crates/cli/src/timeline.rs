//! The report as a picture: an SVG timeline with one bar per peer and one per prefix, grouped
//! by route server.
//!
//! Structure (stable, docs/operating.md describes it and the tests read it):
//! - each peer is a `<g class="peer" data-peer-id=".." data-route-server-id="..">` holding a
//!   `<text class="label">` with the peer id, one `<rect class="segment {health}">` per
//!   timeline segment (attributes `data-health`, `data-from`, `data-to`, and a `<title>` for
//!   hovering), and a `<text class="availability">`;
//! - each prefix, after its route server's peers, is a `<g class="route" data-prefix=".."
//!   data-route-server-id="..">` holding a `<text class="label">` with the prefix, one
//!   `<rect class="segment {state}">` per segment (`data-state`, `data-from`, `data-to`, a
//!   `<title>`), one `<line class="failover">` per failover (`data-at`, `data-from-peer-id`,
//!   `data-to-peer-id`, a `<title>`), and a `<text class="lost">` with its lost time;
//! - segments are laid on a bar [`BAR_WIDTH`] pixels wide, so a segment's width is its share of
//!   the window times [`BAR_WIDTH`];
//! - colours: [`fill`] and [`route_fill`]; unobserved time is hatched (`url(#unobserved)`).

use std::collections::BTreeMap;

use svg::Document;
use svg::Node;
use svg::node::Value;
use svg::node::element::{Definitions, Element, Group, Line, Pattern, Rectangle, Style, Title};

use peerwatch_core::duration::humanise_secs_f64;
use peerwatch_core::model::Timestamp;
use peerwatch_core::report::{
    Condition, PeerReport, Report, RouteCondition, RouteReport, format_percent,
};

/// Width of the whole window on every bar, in pixels.
pub const BAR_WIDTH: f64 = 1000.0;
const MARGIN: f64 = 16.0;
/// Room for a peer id (21 characters) left of the bars.
const LABEL_WIDTH: f64 = 176.0;
/// Room for the availability figure right of the bars.
const FIGURE_WIDTH: f64 = 84.0;
const ROW_HEIGHT: f64 = 22.0;
const BAR_HEIGHT: f64 = 14.0;
const HEADER_HEIGHT: f64 = 52.0;
const MAX_TICKS: i64 = 8;

/// The fill of each condition: green, amber, red, grey, and a pale hatch for unobserved time.
pub fn fill(c: Condition) -> &'static str {
    match c {
        Condition::Healthy => "#2e9d4a",
        Condition::Degraded => "#f0a202",
        Condition::Down => "#d7263d",
        Condition::Transitional => "#9e9e9e",
        Condition::Unobserved => "url(#unobserved)",
    }
}

/// The fill of a prefix's state: blue in the FIB, red lost (as a peer down), hatched when not
/// tracked.
pub fn route_fill(c: RouteCondition) -> &'static str {
    match c {
        RouteCondition::InFib => "#3b7dd8",
        RouteCondition::Lost => "#d7263d",
        RouteCondition::Unobserved => "url(#unobserved)",
    }
}

/// The colour of a failover marker.
const FAILOVER_STROKE: &str = "#222";

/// The whole picture as SVG text.
pub fn render(report: &Report) -> String {
    let left = MARGIN + LABEL_WIDTH;
    let width = left + BAR_WIDTH + FIGURE_WIDTH + MARGIN;
    let scale = Scale {
        since: report.since.as_millis(),
        span: (report.until.as_millis() - report.since.as_millis()).max(1),
    };

    let mut doc = Document::new()
        .add(Style::new(
            "text { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; fill: #222 } \
             .title { font-size: 14px; font-weight: bold } \
             .route-server { font-weight: bold } \
             .tick { fill: #666; font-size: 11px }",
        ))
        .add(definitions())
        .add(
            Rectangle::new()
                .set("width", "100%")
                .set("height", "100%")
                .set("fill", "white"),
        )
        .add(
            text(format!(
                "peerwatch: peer health from {} to {} ({})",
                short_time(report.since),
                short_time(report.until),
                humanise_secs_f64(scale.span as f64 / 1000.0)
            ))
            .set("class", "title")
            .set("x", MARGIN)
            .set("y", 22),
        )
        .add(
            text(format!(
                "fleet availability {} (healthy / (healthy + degraded + down)), {} outages, {} open",
                format_percent(report.fleet.availability_percent),
                report.fleet.outage_count,
                report.fleet.open_outages
            ))
            .set("x", MARGIN)
            .set("y", 40),
        );

    let mut by_route_server: BTreeMap<&str, Vec<&PeerReport>> = BTreeMap::new();
    for p in &report.peers {
        by_route_server
            .entry(&p.route_server_id)
            .or_default()
            .push(p);
    }
    let mut routes: BTreeMap<&str, &[RouteReport]> = BTreeMap::new();
    for rs in report.route_servers.iter().filter(|r| !r.routes.is_empty()) {
        routes.insert(&rs.route_server_id, &rs.routes);
        by_route_server.entry(&rs.route_server_id).or_default();
    }
    let route_rows: usize = routes.values().map(|r| r.len()).sum();
    let top = HEADER_HEIGHT;
    // The grid goes first so that the bars are drawn over it.
    let rows = by_route_server.len()
        + report.peers.len()
        + route_rows
        + usize::from(report.peers.is_empty());
    let bottom = top + rows as f64 * ROW_HEIGHT;
    let (axis, below_axis) = axis(report, &scale, left, top, bottom);
    doc = doc.add(axis);
    let mut y = top;
    if report.peers.is_empty() {
        doc = doc.add(
            text("no peer was observed in this window")
                .set("x", left)
                .set("y", y + 15.0),
        );
        y += ROW_HEIGHT;
    }
    for (rs_id, peers) in &by_route_server {
        let name = if rs_id.is_empty() {
            "(no route server)"
        } else {
            rs_id
        };
        let heading = match report
            .route_servers
            .iter()
            .find(|r| r.route_server_id == *rs_id)
        {
            Some(rs) => {
                let mut h = format!(
                    "{name}: {}, availability {}, {} outages, {} open",
                    plural(rs.totals.peers, "peer", "peers"),
                    format_percent(rs.totals.availability_percent),
                    rs.totals.outage_count,
                    rs.totals.open_outages
                );
                if !rs.routes.is_empty() {
                    h.push_str(&format!(
                        "; {}, {}, routes lost {}",
                        plural(rs.routes.len(), "prefix", "prefixes"),
                        plural(rs.route_failovers, "failover", "failovers"),
                        humanise_secs_f64(rs.route_lost_seconds)
                    ));
                }
                h
            }
            None => name.to_string(),
        };
        doc = doc.add(
            text(clean(&heading))
                .set("class", "route-server")
                .set("x", MARGIN)
                .set("y", y + 15.0),
        );
        y += ROW_HEIGHT;
        for p in peers {
            doc = doc.add(peer_row(p, &scale, left, y));
            y += ROW_HEIGHT;
        }
        for r in routes.get(rs_id).copied().unwrap_or(&[]) {
            doc = doc.add(route_row(r, rs_id, &scale, left, y));
            y += ROW_HEIGHT;
        }
    }

    let (legend, mut y) = legend(below_axis + 8.0);
    doc = doc.add(legend);
    if route_rows > 0 {
        let (legend, below) = route_legend(y + 8.0);
        doc = doc.add(legend);
        y = below;
    }
    let height = y + MARGIN;
    doc.set("width", width)
        .set("height", height)
        .set("viewBox", (0, 0, width, height))
        .to_string()
}

/// Window time to bar position.
struct Scale {
    since: i64,
    span: i64,
}

impl Scale {
    fn x(&self, t: Timestamp) -> f64 {
        let share = (t.as_millis() - self.since) as f64 / self.span as f64;
        round(share.clamp(0.0, 1.0) * BAR_WIDTH)
    }
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// One row of the timeline: its label on the left, its identifying data attributes.
fn row(class: &str, label: &str, data: [(&str, &str); 2], left: f64, y: f64) -> Group {
    let mut g = Group::new().set("class", class);
    for (name, value) in data {
        g = g.set(name, clean(value));
    }
    g.set("transform", format!("translate({left},{y})")).add(
        text(clean(label))
            .set("class", "label")
            .set("x", -8)
            .set("y", 15)
            .set("text-anchor", "end"),
    )
}

/// One coloured stretch of a row: `state` (under the data attribute `attr`) from `from` to
/// `to`, titled with who it is of and how long it lasted.
#[allow(clippy::too_many_arguments)]
fn segment(
    scale: &Scale,
    who: &str,
    attr: &str,
    state: &str,
    from: Timestamp,
    to: Timestamp,
    millis: i64,
    colour: &str,
) -> Rectangle {
    let (x0, x1) = (scale.x(from), scale.x(to));
    let title = format!(
        "{who}: {state} from {from} to {to} ({})",
        humanise_secs_f64(millis as f64 / 1000.0)
    );
    Rectangle::new()
        .set("class", format!("segment {state}"))
        .set(attr, state)
        .set("data-from", from.to_string())
        .set("data-to", to.to_string())
        .set("x", x0)
        .set("y", 4)
        .set("width", round(x1 - x0))
        .set("height", BAR_HEIGHT)
        .set("fill", colour)
        .add(Title::new(clean(&title)))
}

fn peer_row(p: &PeerReport, scale: &Scale, left: f64, y: f64) -> Group {
    let mut g = row(
        "peer",
        &p.route_server_peer_id,
        [
            ("data-peer-id", &p.route_server_peer_id),
            ("data-route-server-id", &p.route_server_id),
        ],
        left,
        y,
    );
    for s in &p.timeline {
        g = g.add(segment(
            scale,
            &p.route_server_peer_id,
            "data-health",
            s.health.as_str(),
            s.from,
            s.to,
            s.millis(),
            fill(s.health),
        ));
    }
    let open = p.open_outage.as_ref().map_or(String::new(), |o| {
        format!(
            ", {} for {}",
            o.health,
            humanise_secs_f64(o.duration_seconds)
        )
    });
    g.add(
        text(format_percent(p.availability_percent))
            .set("class", "availability")
            .set("x", BAR_WIDTH + 8.0)
            .set("y", 15),
    )
    .add(Title::new(clean(&format!(
        "{}: availability {}, {} outages{open}",
        p.route_server_peer_id,
        format_percent(p.availability_percent),
        p.outage_count
    ))))
}

fn route_row(r: &RouteReport, rs_id: &str, scale: &Scale, left: f64, y: f64) -> Group {
    let mut g = row(
        "route",
        &r.prefix,
        [("data-prefix", &r.prefix), ("data-route-server-id", rs_id)],
        left,
        y,
    );
    for s in &r.timeline {
        g = g.add(segment(
            scale,
            &r.prefix,
            "data-state",
            s.state.as_str(),
            s.from,
            s.to,
            s.millis(),
            route_fill(s.state),
        ));
    }
    // Markers after the segments, so that they are drawn over them.
    for f in &r.failover_events {
        let x = scale.x(f.observed_at);
        let title = format!(
            "{}: failover at {} from {} to {}",
            r.prefix, f.observed_at, f.from_peer_id, f.to_peer_id
        );
        g = g.add(
            Line::new()
                .set("class", "failover")
                .set("data-at", f.observed_at.to_string())
                .set("data-from-peer-id", clean(&f.from_peer_id))
                .set("data-to-peer-id", clean(&f.to_peer_id))
                .set("x1", x)
                .set("x2", x)
                .set("y1", 1)
                .set("y2", BAR_HEIGHT + 7.0)
                .set("stroke", FAILOVER_STROKE)
                .set("stroke-width", 2)
                .add(Title::new(clean(&title))),
        );
    }
    g.add(
        text(format!("lost {}", humanise_secs_f64(r.lost_seconds)))
            .set("class", "lost")
            .set("x", BAR_WIDTH + 8.0)
            .set("y", 15),
    )
    .add(Title::new(clean(&format!(
        "{}: {} lost, {}",
        r.prefix,
        humanise_secs_f64(r.lost_seconds),
        plural(r.failovers, "failover", "failovers")
    ))))
}

/// Grid lines at round times across the rows, with their labels below; answers the next y.
fn axis(report: &Report, scale: &Scale, left: f64, top: f64, bottom: f64) -> (Group, f64) {
    let mut g = Group::new().set("class", "axis");
    for t in ticks(report.since, report.until) {
        let x = left + scale.x(t);
        g = g
            .add(
                Line::new()
                    .set("x1", x)
                    .set("x2", x)
                    .set("y1", top)
                    .set("y2", bottom + 4.0)
                    .set("stroke", "#bbb")
                    .set("stroke-width", 0.5),
            )
            .add(
                text(tick_label(t, report.since, report.until))
                    .set("class", "tick")
                    .set("x", x)
                    .set("y", bottom + 16.0)
                    .set("text-anchor", "middle"),
            );
    }
    g = g.add(
        Line::new()
            .set("x1", left)
            .set("x2", left + BAR_WIDTH)
            .set("y1", bottom + 4.0)
            .set("y2", bottom + 4.0)
            .set("stroke", "#888"),
    );
    (g, bottom + 20.0)
}

/// Round instants in the window (UTC), at most [`MAX_TICKS`] of them.
fn ticks(since: Timestamp, until: Timestamp) -> Vec<Timestamp> {
    const STEPS: [i64; 14] = [
        60, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800,
        2_592_000,
    ];
    let (a, b) = (since.as_millis(), until.as_millis());
    let span_s = ((b - a) / 1000).max(1);
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span_s / s < MAX_TICKS)
        .unwrap_or(span_s / MAX_TICKS + 1)
        * 1000;
    let mut t = a.div_euclid(step) * step;
    if t < a {
        t += step;
    }
    let mut out = Vec::new();
    while t <= b {
        out.extend(Timestamp::from_millis(t));
        t += step;
    }
    out
}

/// `10:30` within one day, `11-20 10:30` over several, `2026-11-20` for midnights of long windows.
fn tick_label(t: Timestamp, since: Timestamp, until: Timestamp) -> String {
    let text = t.to_string(); // 2026-11-20T10:30:00.000Z
    let (day, hm) = (&text[..10], &text[11..16]);
    if since.day() == until.day() || (until.as_millis() - since.as_millis() <= 86_400_000) {
        hm.to_string()
    } else if hm == "00:00" {
        day.to_string()
    } else {
        format!("{} {hm}", &day[5..])
    }
}

fn legend(y: f64) -> (Group, f64) {
    let mut g = Group::new().set("class", "legend").set(
        "transform",
        format!("translate({},{y})", MARGIN + LABEL_WIDTH),
    );
    let mut x = 0.0;
    for c in Condition::ALL {
        let label = match c {
            Condition::Transitional => "transitional (pending, deleting, deleted)",
            Condition::Unobserved => "not observed",
            other => other.as_str(),
        };
        g = g
            .add(
                Rectangle::new()
                    .set("class", format!("swatch {c}"))
                    .set("x", x)
                    .set("y", 0)
                    .set("width", 14)
                    .set("height", 12)
                    .set("fill", fill(c))
                    .set("stroke", "#888")
                    .set("stroke-width", 0.5),
            )
            .add(text(label).set("x", x + 18.0).set("y", 10));
        x += 18.0 + label.len() as f64 * 7.3 + 16.0;
    }
    (g, y + 12.0)
}

/// The prefixes' colours and the failover marker, on a line of their own.
fn route_legend(y: f64) -> (Group, f64) {
    let mut g = Group::new().set("class", "legend routes").set(
        "transform",
        format!("translate({},{y})", MARGIN + LABEL_WIDTH),
    );
    let mut x = 0.0;
    for c in RouteCondition::ALL {
        let label = match c {
            RouteCondition::InFib => "prefix in the FIB",
            RouteCondition::Lost => "prefix lost",
            RouteCondition::Unobserved => continue,
        };
        g = g
            .add(
                Rectangle::new()
                    .set("class", format!("swatch {c}"))
                    .set("x", x)
                    .set("y", 0)
                    .set("width", 14)
                    .set("height", 12)
                    .set("fill", route_fill(c))
                    .set("stroke", "#888")
                    .set("stroke-width", 0.5),
            )
            .add(text(label).set("x", x + 18.0).set("y", 10));
        x += 18.0 + label.len() as f64 * 7.3 + 16.0;
    }
    g = g
        .add(
            Line::new()
                .set("class", "swatch failover")
                .set("x1", x + 7.0)
                .set("x2", x + 7.0)
                .set("y1", -1)
                .set("y2", 13)
                .set("stroke", FAILOVER_STROKE)
                .set("stroke-width", 2),
        )
        .add(text("failover").set("x", x + 18.0).set("y", 10));
    (g, y + 12.0)
}

fn definitions() -> Definitions {
    Definitions::new().add(
        Pattern::new()
            .set("id", "unobserved")
            .set("width", 6)
            .set("height", 6)
            .set("patternUnits", "userSpaceOnUse")
            .set("patternTransform", "rotate(45)")
            .add(
                Rectangle::new()
                    .set("width", 6)
                    .set("height", 6)
                    .set("fill", "#f4f4f4"),
            )
            .add(
                Line::new()
                    .set("x1", 0)
                    .set("y1", 0)
                    .set("x2", 0)
                    .set("y2", 6)
                    .set("stroke", "#d0d0d0")
                    .set("stroke-width", 2),
            ),
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `2026-11-20 10:00:00Z`: the RFC 3339 form without its milliseconds, easier to read.
fn short_time(t: Timestamp) -> String {
    let text = t.to_string();
    format!("{} {}Z", &text[..10], &text[11..19])
}

/// A `<text>` holding exactly `content`: the crate's own `Text` pads its content with newlines,
/// which readers of the labels would have to trim.
fn text(content: impl Into<String>) -> Element {
    let mut e = Element::new("text");
    e.append(svg::node::Text::new(content));
    e
}

/// Builder-style attributes for a bare [`Element`].
trait With {
    fn set(self, name: &str, value: impl Into<Value>) -> Self;
}

impl With for Element {
    fn set(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.assign(name, value);
        self
    }
}

/// Text as XML 1.0 allows it: the crate escapes markup, but control characters are not
/// allowed even escaped, so they become U+FFFD.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerwatch_core::fabric::route_key;
    use peerwatch_core::history::HistoryRow;
    use peerwatch_core::model::{Field, FieldChange};
    use peerwatch_core::report::{Segment, TimeSplit, build, build_with_routes};

    /// A peer report with just a timeline, for the picture's tests.
    fn peer_with_timeline(id: &str, timeline: Vec<Segment>) -> PeerReport {
        PeerReport {
            route_server_peer_id: id.into(),
            route_server_id: "rs-00000000000000001".into(),
            peer_address: None,
            peer_asn: None,
            health_at_until: Condition::Healthy,
            availability_percent: Some(100.0),
            time: TimeSplit::default(),
            outage_count: 0,
            recovered_count: 0,
            mean_time_to_recover_seconds: None,
            longest_time_to_recover_seconds: None,
            open_outage: None,
            outages: Vec::new(),
            timeline,
        }
    }

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn ticks_fall_on_round_times_within_the_window() {
        let got = ticks(t("2026-11-20T10:00:00Z"), t("2026-11-20T11:00:00Z"));
        let labels: Vec<String> = got
            .iter()
            .map(|&x| tick_label(x, got[0], *got.last().unwrap()))
            .collect();
        assert_eq!(
            labels,
            [
                "10:00", "10:10", "10:20", "10:30", "10:40", "10:50", "11:00"
            ]
        );
        let month = ticks(t("2026-10-27T01:30:00Z"), t("2026-11-26T01:30:00Z"));
        assert!(
            month.len() <= MAX_TICKS as usize && month.len() >= 3,
            "{month:?}"
        );
        assert!(
            month
                .iter()
                .all(|x| x.to_string().ends_with("T00:00:00.000Z"))
        );
        assert_eq!(
            tick_label(
                month[0],
                t("2026-10-27T01:30:00Z"),
                t("2026-11-26T01:30:00Z")
            ),
            month[0].day()
        );
    }

    #[test]
    fn text_is_escaped_and_control_characters_replaced() {
        let mut report = build(
            &[],
            &[],
            t("2026-11-20T10:00:00Z"),
            t("2026-11-20T11:00:00Z"),
        );
        let peer = peer_with_timeline(
            "rsp-<&\"'>\u{1}",
            vec![Segment {
                from: report.since,
                to: report.until,
                health: Condition::Healthy,
            }],
        );
        report.peers.push(peer);
        let text = render(&report);
        let doc = roxmltree::Document::parse(&text).expect("valid XML");
        let g = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("peer"))
            .unwrap();
        assert_eq!(g.attribute("data-peer-id"), Some("rsp-<&\"'>\u{FFFD}"));
        let label = g
            .children()
            .find(|n| n.attribute("class") == Some("label"))
            .unwrap();
        assert_eq!(label.text(), Some("rsp-<&\"'>\u{FFFD}"));
    }

    #[test]
    fn an_empty_report_still_draws_a_valid_picture() {
        let report = build(
            &[],
            &[],
            t("2026-11-20T10:00:00Z"),
            t("2026-11-20T11:00:00Z"),
        );
        let text = render(&report);
        let doc = roxmltree::Document::parse(&text).expect("valid XML");
        assert!(text.contains("no peer was observed"));
        assert_eq!(
            doc.descendants()
                .filter(|n| n.attribute("class") == Some("peer"))
                .count(),
            0
        );
    }

    /// A route transition of `rs-1`'s 100.64.0.0/24 at `10:MM`.
    fn route_row(
        minute: u32,
        health: (&str, &str),
        hop: (Option<&str>, Option<&str>),
    ) -> HistoryRow {
        HistoryRow {
            route_server_peer_id: route_key("rs-00000000000000001", "100.64.0.0/24"),
            observed_at: t(&format!("2026-11-20T10:{minute:02}:00Z")),
            route_server_id: "rs-00000000000000001".into(),
            kind: "changed".into(),
            source: None,
            late: false,
            changes: vec![FieldChange {
                field: Field::RouteServerPeerId,
                from: hop.0.map(String::from),
                to: hop.1.map(String::from),
            }],
            health_from: Some(health.0.into()),
            health_to: Some(health.1.into()),
            severity: "info".into(),
            event: None,
            notification_state: "not-required".into(),
            notification_message_id: None,
            failure_reason: None,
            previous_observed_at: None,
            previous_duration_seconds: None,
            version: 2,
            ack: None,
        }
    }

    #[test]
    fn a_prefix_gets_a_row_with_its_states_and_a_marker_per_failover() {
        // In the FIB, failover at 10:15, lost 10:30-10:45.
        let rows = [
            route_row(15, ("healthy", "healthy"), (Some("rsp-a"), Some("rsp-b"))),
            route_row(30, ("healthy", "down"), (Some("rsp-b"), None)),
            route_row(45, ("down", "healthy"), (None, Some("rsp-a"))),
        ];
        let mut report = build_with_routes(
            &[],
            &[],
            &[],
            &rows,
            t("2026-11-20T10:00:00Z"),
            t("2026-11-20T11:00:00Z"),
        );
        report.peers.push(peer_with_timeline(
            "rsp-a",
            vec![Segment {
                from: report.since,
                to: report.until,
                health: Condition::Healthy,
            }],
        ));
        let text = render(&report);
        let doc = roxmltree::Document::parse(&text).expect("valid XML");
        let rows: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("route"))
            .collect();
        assert_eq!(rows.len(), 1);
        let g = rows[0];
        assert_eq!(g.attribute("data-prefix"), Some("100.64.0.0/24"));
        assert_eq!(
            g.attribute("data-route-server-id"),
            Some("rs-00000000000000001")
        );
        let segments: Vec<(&str, &str, &str)> = g
            .children()
            .filter(|n| n.has_tag_name("rect"))
            .map(|n| {
                (
                    n.attribute("data-state").unwrap(),
                    n.attribute("width").unwrap(),
                    n.attribute("fill").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            segments,
            [
                ("in-fib", "500", "#3b7dd8"),
                ("lost", "250", "#d7263d"),
                ("in-fib", "250", "#3b7dd8")
            ]
        );
        let markers: Vec<_> = g
            .children()
            .filter(|n| n.attribute("class") == Some("failover"))
            .collect();
        assert_eq!(markers.len(), 1);
        assert_eq!(markers[0].attribute("x1"), Some("250"));
        assert_eq!(markers[0].attribute("data-to-peer-id"), Some("rsp-b"));
        let lost = g
            .children()
            .find(|n| n.attribute("class") == Some("lost"))
            .and_then(|n| n.text());
        assert_eq!(lost, Some("lost 15m"));
        // The prefix row comes after its route server's peer row, and the legend names it.
        let classes: Vec<&str> = doc
            .descendants()
            .filter_map(|n| n.attribute("class"))
            .filter(|c| *c == "peer" || *c == "route")
            .collect();
        assert_eq!(classes, ["peer", "route"]);
        assert!(
            doc.descendants()
                .any(|n| n.attribute("class") == Some("swatch failover"))
        );
    }
}
