//! Configuration from the environment, the same for the Lambda and the CLI. Read once at
//! start; a missing or invalid setting is one clear error naming the variable.

pub use peerwatch_core::detect::Alerting;
use peerwatch_core::detect::Rules;
use peerwatch_core::ids::RouteServerId;
use peerwatch_core::model::Severity;

use crate::logging::DeliveryDestinationArn;

pub const PEER_STATE_TABLE: &str = "PEER_STATE_TABLE";
pub const PEER_TRANSITIONS_TABLE: &str = "PEER_TRANSITIONS_TABLE";
pub const ALERT_TOPIC_ARN: &str = "ALERT_TOPIC_ARN";
pub const ROUTE_SERVER_IDS: &str = "ROUTE_SERVER_IDS";
pub const HISTORY_RETENTION_DAYS: &str = "HISTORY_RETENTION_DAYS";
pub const NOTIFY_MIN_SEVERITY: &str = "NOTIFY_MIN_SEVERITY";
pub const STORM_THRESHOLD: &str = "STORM_THRESHOLD";
pub const FLAP_THRESHOLD: &str = "FLAP_THRESHOLD";
pub const FLAP_WINDOW_MINUTES: &str = "FLAP_WINDOW_MINUTES";
pub const FLAP_HOLD_MINUTES: &str = "FLAP_HOLD_MINUTES";
pub const REMIND_EVERY_MINUTES: &str = "REMIND_EVERY_MINUTES";
pub const PEER_METRICS: &str = "PEER_METRICS";
pub const WRITE_CONCURRENCY: &str = "WRITE_CONCURRENCY";
pub const PEER_LOGS: &str = "PEER_LOGS";
pub use crate::logging::PEER_LOGS_DESTINATION_ARN;

/// Writes (transactions, marks, claims) a cycle keeps in flight at once by default: enough to
/// keep a storm short, few enough not to be throttled.
pub const DEFAULT_WRITE_CONCURRENCY: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub peer_state_table: String,
    pub peer_transitions_table: String,
    /// `None`: record only, publish nothing.
    pub alert_topic_arn: Option<String>,
    pub route_server_ids: Option<Vec<RouteServerId>>,
    /// 0 keeps history forever.
    pub history_retention_days: u32,
    pub notify_min_severity: Severity,
    pub alerting: Alerting,
    /// Writes in flight at once (`WRITE_CONCURRENCY`, 1 to 256, default
    /// [`DEFAULT_WRITE_CONCURRENCY`]); lower it for tables with little provisioned capacity.
    pub write_concurrency: usize,
    /// `PEER_LOGS=auto`: peer logging is turned on, to this delivery destination
    /// (`PEER_LOGS_DESTINATION_ARN`), for each peer a cycle discovers. `None`: `off`.
    pub peer_logs_auto: Option<DeliveryDestinationArn>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set; it must name the DynamoDB table")]
    Missing(&'static str),
    #[error("{name} is not set; {why}")]
    Required {
        name: &'static str,
        why: &'static str,
    },
    #[error("{name} is invalid: {value:?}: {why}")]
    Invalid {
        name: &'static str,
        value: String,
        why: &'static str,
    },
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests and the CLI's flags can supply them.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let table = |name: &'static str| -> Result<String, ConfigError> {
            let value = get(name).ok_or(ConfigError::Missing(name))?;
            if !valid_table_name(&value) {
                return Err(ConfigError::Invalid {
                    name,
                    value,
                    why: "a table name is 3 to 255 of A-Z a-z 0-9 _ - .",
                });
            }
            Ok(value)
        };
        let peer_state_table = table(PEER_STATE_TABLE)?;
        let peer_transitions_table = table(PEER_TRANSITIONS_TABLE)?;
        let alert_topic_arn = match get(ALERT_TOPIC_ARN) {
            Some(arn) if !arn.starts_with("arn:") || arn.split(':').count() != 6 => {
                return Err(ConfigError::Invalid {
                    name: ALERT_TOPIC_ARN,
                    value: arn,
                    why: "expected an SNS topic ARN, arn:PARTITION:sns:REGION:ACCOUNT:NAME",
                });
            }
            other => other,
        };
        let route_server_ids = match get(ROUTE_SERVER_IDS) {
            None => None,
            Some(list) => {
                let ids: Result<Vec<RouteServerId>, _> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(RouteServerId::parse)
                    .collect();
                match ids {
                    Ok(ids) if !ids.is_empty() => Some(ids),
                    _ => {
                        return Err(ConfigError::Invalid {
                            name: ROUTE_SERVER_IDS,
                            value: list,
                            why: "expected a comma-separated list of route server ids (rs-...)",
                        });
                    }
                }
            }
        };
        let history_retention_days = match get(HISTORY_RETENTION_DAYS) {
            None => 90,
            Some(v) => {
                v.parse::<u32>()
                    .ok()
                    .filter(|d| *d <= 36_500)
                    .ok_or(ConfigError::Invalid {
                        name: HISTORY_RETENTION_DAYS,
                        value: v,
                        why: "expected a whole number of days from 0 (keep forever) to 36500",
                    })?
            }
        };
        let notify_min_severity = match get(NOTIFY_MIN_SEVERITY) {
            None => Severity::Warning,
            Some(v) => match Severity::parse(&v.to_ascii_lowercase()) {
                Some(s @ (Severity::Info | Severity::Warning | Severity::Critical)) => s,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: NOTIFY_MIN_SEVERITY,
                        value: v,
                        why: "expected one of info, warning, critical",
                    });
                }
            },
        };
        let whole =
            |name: &'static str,
             default: u32,
             range: std::ops::RangeInclusive<u32>,
             why: &'static str| match get(name) {
                None => Ok(default),
                Some(v) => v.parse::<u32>().ok().filter(|n| range.contains(n)).ok_or(
                    ConfigError::Invalid {
                        name,
                        value: v,
                        why,
                    },
                ),
            };
        let d = Alerting::default();
        let alerting = Alerting {
            storm_threshold: whole(
                STORM_THRESHOLD,
                d.storm_threshold,
                0..=100_000,
                "expected a whole number of alerts (0 never groups)",
            )?,
            flap_threshold: whole(
                FLAP_THRESHOLD,
                d.flap_threshold,
                0..=1_000,
                "expected a whole number of health changes (0 turns flap detection off)",
            )?,
            flap_window_minutes: whole(
                FLAP_WINDOW_MINUTES,
                d.flap_window_minutes,
                0..=10_080,
                "expected whole minutes, 0 to 10080 (a week)",
            )?,
            flap_hold_minutes: whole(
                FLAP_HOLD_MINUTES,
                d.flap_hold_minutes,
                0..=10_080,
                "expected whole minutes, 0 to 10080 (a week)",
            )?,
            remind_every_minutes: whole(
                REMIND_EVERY_MINUTES,
                d.remind_every_minutes,
                0..=525_600,
                "expected whole minutes (0 turns reminders off)",
            )?,
            peer_metrics: match get(PEER_METRICS).map(|v| v.to_ascii_lowercase()) {
                None => d.peer_metrics,
                Some(v) if v == "true" => true,
                Some(v) if v == "false" => false,
                Some(v) => {
                    return Err(ConfigError::Invalid {
                        name: PEER_METRICS,
                        value: v,
                        why: "expected true or false",
                    });
                }
            },
        };
        let write_concurrency = whole(
            WRITE_CONCURRENCY,
            DEFAULT_WRITE_CONCURRENCY as u32,
            1..=256,
            "expected a whole number of writes in flight, 1 to 256",
        )?;
        let peer_logs_auto = match get(PEER_LOGS).map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("off") => None,
            Some("auto") => {
                let arn = get(PEER_LOGS_DESTINATION_ARN).ok_or(ConfigError::Required {
                    name: PEER_LOGS_DESTINATION_ARN,
                    why: "PEER_LOGS=auto turns logging on for each peer discovered, to the \
                          stack's delivery destination (arn:aws:logs:REGION:ACCOUNT:delivery-destination:NAME)",
                })?;
                Some(
                    DeliveryDestinationArn::parse(&arn).map_err(|_| ConfigError::Invalid {
                        name: PEER_LOGS_DESTINATION_ARN,
                        value: arn,
                        why: "expected a delivery destination ARN, \
                              arn:PARTITION:logs:REGION:ACCOUNT:delivery-destination:NAME",
                    })?,
                )
            }
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: PEER_LOGS,
                    value: get(PEER_LOGS).unwrap_or_default(),
                    why: "expected off or auto",
                });
            }
        };
        Ok(Config {
            peer_logs_auto,
            write_concurrency: write_concurrency as usize,
            peer_state_table,
            peer_transitions_table,
            alert_topic_arn,
            route_server_ids,
            history_retention_days,
            notify_min_severity,
            alerting,
        })
    }

    pub fn rules(&self) -> Rules {
        Rules::new(
            self.notify_min_severity,
            self.route_server_ids.clone(),
            &self.alerting,
        )
    }
}

fn valid_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const TABLES: [(&str, &str); 2] = [
        (PEER_STATE_TABLE, "PeerState"),
        (PEER_TRANSITIONS_TABLE, "PeerTransitions"),
    ];

    #[test]
    fn peer_logs_auto_needs_its_destination() {
        assert_eq!(config(&TABLES).unwrap().peer_logs_auto, None);
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = TABLES.to_vec();
            vars.extend_from_slice(extra);
            config(&vars)
        };
        assert_eq!(with(&[(PEER_LOGS, "off")]).unwrap().peer_logs_auto, None);
        let arn = "arn:aws:logs:us-east-1:111122223333:delivery-destination:peerwatch-peer-logs";
        let auto = with(&[(PEER_LOGS, "AUTO"), (PEER_LOGS_DESTINATION_ARN, arn)]).unwrap();
        assert_eq!(
            auto.peer_logs_auto.map(|d| d.as_str().to_string()),
            Some(arn.into())
        );
        let missing = with(&[(PEER_LOGS, "auto")]).unwrap_err();
        assert!(
            matches!(missing, ConfigError::Required { name, .. } if name == PEER_LOGS_DESTINATION_ARN),
            "{missing}"
        );
        assert!(
            missing
                .to_string()
                .starts_with("PEER_LOGS_DESTINATION_ARN is not set")
        );
        let bad = with(&[
            (PEER_LOGS, "auto"),
            (
                PEER_LOGS_DESTINATION_ARN,
                "arn:aws:logs:us-east-1:111122223333:log-group:x",
            ),
        ]);
        assert!(
            matches!(bad, Err(ConfigError::Invalid { name, .. }) if name == PEER_LOGS_DESTINATION_ARN)
        );
        let unknown = with(&[(PEER_LOGS, "on")]).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "PEER_LOGS is invalid: \"on\": expected off or auto"
        );
    }

    #[test]
    fn defaults() {
        let c = config(&TABLES).unwrap();
        assert_eq!(c.alert_topic_arn, None);
        assert_eq!(c.route_server_ids, None);
        assert_eq!(c.history_retention_days, 90);
        assert_eq!(c.notify_min_severity, Severity::Warning);
        assert_eq!(c.alerting, Alerting::default());
        assert_eq!(c.write_concurrency, DEFAULT_WRITE_CONCURRENCY);
    }

    #[test]
    fn every_setting_parsed() {
        let mut vars = TABLES.to_vec();
        vars.extend([
            (
                ALERT_TOPIC_ARN,
                "arn:aws:sns:eu-west-1:123456789012:peerwatch",
            ),
            (ROUTE_SERVER_IDS, "rs-1, rs-2"),
            (HISTORY_RETENTION_DAYS, "0"),
            (NOTIFY_MIN_SEVERITY, "CRITICAL"),
            (STORM_THRESHOLD, "0"),
            (FLAP_THRESHOLD, "6"),
            (FLAP_WINDOW_MINUTES, "60"),
            (FLAP_HOLD_MINUTES, "20"),
            (REMIND_EVERY_MINUTES, "0"),
            (PEER_METRICS, "TRUE"),
            (WRITE_CONCURRENCY, "4"),
        ]);
        let c = config(&vars).unwrap();
        assert_eq!(
            c.route_server_ids,
            Some(vec![
                RouteServerId::parse("rs-1").unwrap(),
                RouteServerId::parse("rs-2").unwrap()
            ])
        );
        assert_eq!(c.write_concurrency, 4);
        assert_eq!(c.history_retention_days, 0);
        assert_eq!(c.notify_min_severity, Severity::Critical);
        assert_eq!(
            c.alerting,
            Alerting {
                storm_threshold: 0,
                flap_threshold: 6,
                flap_window_minutes: 60,
                flap_hold_minutes: 20,
                remind_every_minutes: 0,
                peer_metrics: true,
            }
        );
    }

    #[test]
    fn errors_name_the_variable() {
        let missing = config(&[(PEER_STATE_TABLE, "PeerState")]).unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("PEER_TRANSITIONS_TABLE is not set"),
            "{missing}"
        );
        for (name, value) in [
            (ALERT_TOPIC_ARN, "peerwatch-topic"),
            (ROUTE_SERVER_IDS, "vpc-1"),
            (HISTORY_RETENTION_DAYS, "ninety"),
            (HISTORY_RETENTION_DAYS, "-1"),
            (NOTIFY_MIN_SEVERITY, "recovery"),
            (PEER_STATE_TABLE, "bad table!"),
            (STORM_THRESHOLD, "five"),
            (FLAP_THRESHOLD, "-4"),
            (FLAP_WINDOW_MINUTES, "99999"),
            (REMIND_EVERY_MINUTES, "1.5"),
            (PEER_METRICS, "yes"),
            (WRITE_CONCURRENCY, "0"),
            (WRITE_CONCURRENCY, "257"),
            (ROUTE_SERVER_IDS, "rs-1,rs-"),
        ] {
            let mut vars = TABLES.to_vec();
            vars.push((name, value));
            let err = config(&vars).unwrap_err();
            assert!(
                err.to_string().starts_with(&format!("{name} is invalid")),
                "{err}"
            );
        }
    }
}
