//! Configuration from the environment, the same for the Lambda and the CLI. Read once at
//! start; a missing or invalid setting is one clear error naming the variable.

use crate::detect::Rules;
use crate::model::Severity;

pub const PEER_STATE_TABLE: &str = "PEER_STATE_TABLE";
pub const PEER_TRANSITIONS_TABLE: &str = "PEER_TRANSITIONS_TABLE";
pub const ALERT_TOPIC_ARN: &str = "ALERT_TOPIC_ARN";
pub const ROUTE_SERVER_IDS: &str = "ROUTE_SERVER_IDS";
pub const HISTORY_RETENTION_DAYS: &str = "HISTORY_RETENTION_DAYS";
pub const NOTIFY_MIN_SEVERITY: &str = "NOTIFY_MIN_SEVERITY";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub peer_state_table: String,
    pub peer_transitions_table: String,
    /// `None`: record only, publish nothing.
    pub alert_topic_arn: Option<String>,
    pub route_server_ids: Option<Vec<String>>,
    /// 0 keeps history forever.
    pub history_retention_days: u32,
    pub notify_min_severity: Severity,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set; it must name the DynamoDB table")]
    Missing(&'static str),
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
                let ids: Vec<String> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                if ids.is_empty() || ids.iter().any(|id| !id.starts_with("rs-")) {
                    return Err(ConfigError::Invalid {
                        name: ROUTE_SERVER_IDS,
                        value: list,
                        why: "expected a comma-separated list of route server ids (rs-...)",
                    });
                }
                Some(ids)
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
        Ok(Config {
            peer_state_table,
            peer_transitions_table,
            alert_topic_arn,
            route_server_ids,
            history_retention_days,
            notify_min_severity,
        })
    }

    pub fn rules(&self) -> Rules {
        Rules {
            min_severity: self.notify_min_severity,
            route_server_ids: self.route_server_ids.clone(),
        }
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
    fn defaults() {
        let c = config(&TABLES).unwrap();
        assert_eq!(c.alert_topic_arn, None);
        assert_eq!(c.route_server_ids, None);
        assert_eq!(c.history_retention_days, 90);
        assert_eq!(c.notify_min_severity, Severity::Warning);
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
        ]);
        let c = config(&vars).unwrap();
        assert_eq!(
            c.route_server_ids,
            Some(vec!["rs-1".to_string(), "rs-2".to_string()])
        );
        assert_eq!(c.history_retention_days, 0);
        assert_eq!(c.notify_min_severity, Severity::Critical);
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
