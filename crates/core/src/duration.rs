//! Spans of time as people read them: the one formatter behind alerts, the CLI, reports and
//! the demo, so 90 seconds reads `1m 30s` everywhere.

/// `45s`, `12m 5s`, `3h 12m`, `2d 3h`: the two largest units, the second left out when 0.
pub fn humanise(secs: i64) -> String {
    const UNITS: [(i64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let secs = secs.max(0);
    let i = UNITS
        .iter()
        .position(|&(size, _)| secs >= size)
        .unwrap_or(UNITS.len() - 1);
    let (size, unit) = UNITS[i];
    let mut out = format!("{}{unit}", secs / size);
    if let Some(&(next, next_unit)) = UNITS.get(i + 1) {
        let minor = secs % size / next;
        if minor > 0 {
            out.push_str(&format!(" {minor}{next_unit}"));
        }
    }
    out
}

/// [`humanise`] of a span in fractional seconds (reports), rounded to the second.
pub fn humanise_secs_f64(seconds: f64) -> String {
    humanise(seconds.max(0.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanised_durations() {
        for (secs, want) in [
            (-5, "0s"),
            (0, "0s"),
            (45, "45s"),
            (60, "1m"),
            (125, "2m 5s"),
            (3_600, "1h"),
            (3_659, "1h"),
            (11_520, "3h 12m"),
            (86_400, "1d"),
            (90_061, "1d 1h"),
            (400 * 86_400, "400d"),
        ] {
            assert_eq!(humanise(secs), want, "{secs}");
        }
    }

    #[test]
    fn spans_read_in_their_two_largest_units() {
        for (secs, want) in [
            (0.0, "0s"),
            (45.0, "45s"),
            (450.0, "7m 30s"),
            (600.0, "10m"),
            (3_725.0, "1h 2m"),
            (3_600.0, "1h"),
            (90_061.0, "1d 1h"),
            (86_400.0 * 3.0 + 59.0, "3d"),
            (525.4, "8m 45s"),
        ] {
            assert_eq!(humanise_secs_f64(secs), want, "{secs}");
        }
    }

    #[test]
    fn ninety_seconds_read_the_same_everywhere() {
        // Alerts said `1m 30s` and the CLI `1m` before there was one formatter.
        assert_eq!(humanise(90), "1m 30s");
        assert_eq!(humanise_secs_f64(89.6), "1m 30s");
    }
}
