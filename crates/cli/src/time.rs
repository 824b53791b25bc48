//! Times on the command line: `--since 2h`, `--since 7d`, `--until 2026-11-25T19:05:00Z`, and
//! how times and durations are shown (`3h 12m ago`).

use peerwatch_core::duration::humanise;
use peerwatch_core::model::Timestamp;

/// What `--since`/`--until` accept, for error messages and help texts.
pub const TIME_FORMS: &str = "a duration back from now (90m, 2h, 7d, 1w, 1h30m) \
     or an RFC 3339 time (2026-11-25T19:05:00Z, 2026-11-25T19:05:00.123+01:00) or a UTC day (2026-11-25)";

/// A `--since`/`--until` argument: a duration (`90m`, `2h`, `7d`, `1w`, `1h30m`, as humantime
/// reads them) meaning that long before `now`; an RFC 3339 time with `Z` or an offset, with or
/// without fractional seconds; or a bare date, meaning midnight UTC of that day.
pub fn parse_time(arg: &str, now: Timestamp) -> Result<Timestamp, String> {
    let arg = arg.trim();
    if arg.is_empty() {
        return Err(format!("empty; expected {TIME_FORMS}"));
    }
    // A duration starts with a digit and has no '-' or ':'; anything else is a date or time.
    if !arg.contains(['-', ':']) {
        return match humantime::parse_duration(arg) {
            Ok(d) => {
                let ms = i64::try_from(d.as_millis()).map_err(|_| too_far(arg))?;
                Timestamp::from_millis(now.as_millis().saturating_sub(ms))
                    .ok_or_else(|| too_far(arg))
            }
            Err(e) => Err(format!(
                "{arg:?} is not a duration ({e}); expected {TIME_FORMS}"
            )),
        };
    }
    if let Ok(t) = arg.parse::<Timestamp>() {
        return Ok(t);
    }
    // jiff reads a date out of a date-time too; only a bare date means midnight.
    let bare_date = !arg.contains(['T', 't', ' ']);
    if let Ok(date) = arg.parse::<jiff::civil::Date>()
        && bare_date
    {
        let midnight = date
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map_err(|e| format!("{arg:?}: {e}"))?;
        return Timestamp::from_millis(midnight.timestamp().as_millisecond())
            .ok_or_else(|| format!("{arg:?} is out of range"));
    }
    let hint = if arg.parse::<jiff::civil::DateTime>().is_ok() {
        " (add Z for UTC, or an offset such as +01:00)"
    } else {
        ""
    };
    Err(format!(
        "{arg:?} is not a time{hint}; expected {TIME_FORMS}"
    ))
}

fn too_far(arg: &str) -> String {
    format!("{arg:?} reaches too far back")
}

/// How long ago `t` was, seen from `now`, to the minute (a table cell is read at a glance; the
/// exact time is beside it): `just now` (under a minute), `12m ago`, `3h 12m ago`, `2d 4h ago`;
/// a time after `now` reads `in 5m`. The span is written by the one formatter,
/// [`humanise`].
pub fn relative(t: Timestamp, now: Timestamp) -> String {
    let ms = now.as_millis() - t.as_millis();
    if ms.abs() < 60_000 {
        return "just now".into();
    }
    if ms > 0 {
        format!("{} ago", humanise(ms / 60_000 * 60))
    } else {
        format!("in {}", humanise(-ms / 60_000 * 60))
    }
}

/// A time for a table cell, to the second: `2026-11-25 19:05:00Z`.
pub fn absolute(t: Timestamp) -> String {
    let text = t.to_string();
    // `2026-11-25T19:05:00.123Z` -> `2026-11-25 19:05:00Z`
    match (text.get(..10), text.get(11..19)) {
        (Some(day), Some(time)) => format!("{day} {time}Z"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const NOW: &str = "2026-11-25T19:05:00.500Z";

    #[test]
    fn durations_count_back_from_now() {
        let now = t(NOW);
        for (arg, want) in [
            ("90m", "2026-11-25T17:35:00.500Z"),
            ("2h", "2026-11-25T17:05:00.500Z"),
            ("7d", "2026-11-18T19:05:00.500Z"),
            ("1w", "2026-11-18T19:05:00.500Z"),
            ("1h30m", "2026-11-25T17:35:00.500Z"),
            ("1h 30m", "2026-11-25T17:35:00.500Z"),
            ("45s", "2026-11-25T19:04:15.500Z"),
            ("0s", NOW),
            (" 24h ", "2026-11-24T19:05:00.500Z"),
        ] {
            assert_eq!(parse_time(arg, now), Ok(t(want)), "{arg}");
        }
    }

    #[test]
    fn rfc3339_times_and_days_are_absolute() {
        let now = t(NOW);
        for (arg, want) in [
            ("2026-11-20T10:00:00Z", "2026-11-20T10:00:00.000Z"),
            ("2026-11-20T10:00:00.123Z", "2026-11-20T10:00:00.123Z"),
            ("2026-11-20T11:00:00+01:00", "2026-11-20T10:00:00.000Z"),
            ("2026-11-20t10:00:00z", "2026-11-20T10:00:00.000Z"),
            ("2026-11-20", "2026-11-20T00:00:00.000Z"),
        ] {
            assert_eq!(parse_time(arg, now), Ok(t(want)), "{arg}");
        }
    }

    #[test]
    fn bad_arguments_say_what_is_expected() {
        let now = t(NOW);
        for arg in ["", "yesterday", "2x", "-2h", "2026-13-01", "10:00"] {
            let err = parse_time(arg, now).unwrap_err();
            assert!(err.contains("expected a duration"), "{arg}: {err}");
        }
        let err = parse_time("2026-11-20T10:00:00", now).unwrap_err();
        assert!(err.contains("add Z"), "{err}");
        assert!(parse_time("99999999999d", now).is_err());
    }

    #[test]
    fn relative_times_read_naturally() {
        let now = t(NOW);
        for (then, want) in [
            ("2026-11-25T19:05:00.000Z", "just now"),
            ("2026-11-25T19:04:01.000Z", "just now"),
            ("2026-11-25T19:04:00.000Z", "1m ago"),
            ("2026-11-25T19:03:30.500Z", "1m ago"),
            ("2026-11-25T18:53:00.000Z", "12m ago"),
            ("2026-11-25T15:53:00.000Z", "3h 12m ago"),
            ("2026-11-25T16:05:00.000Z", "3h ago"),
            ("2026-11-23T15:05:00.000Z", "2d 4h ago"),
            ("2026-11-23T19:05:00.000Z", "2d ago"),
            ("2026-11-25T19:10:00.500Z", "in 5m"),
        ] {
            assert_eq!(relative(t(then), now), want, "{then}");
        }
    }

    #[test]
    fn durations_and_absolute_times_format() {
        assert_eq!(humanise(0), "0s");
        assert_eq!(humanise(59), "59s");
        assert_eq!(humanise(3_600 + 120), "1h 2m");
        assert_eq!(humanise(86_400 * 3 + 3_600), "3d 1h");
        assert_eq!(
            absolute(t("2026-11-25T19:05:00.123Z")),
            "2026-11-25 19:05:00Z"
        );
    }
}
