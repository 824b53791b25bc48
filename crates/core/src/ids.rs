//! The AWS ids a user names (in settings, payloads and flags), parsed once: one type and one
//! rule per id kind, so the Lambda, the CLI and the configuration accept exactly the same ids.
//!
//! The rule is EC2's shape: the kind's prefix, then one or more ASCII letters or digits
//! (`rs-0a1b2c3d4e5f60718`). The length is not checked, so a short id in a test or a longer
//! id of a future EC2 still parses. Ids that EC2 itself returns are kept as it sent them and
//! are not parsed.

use std::fmt;

/// An id that does not have its kind's shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a {what} id ({prefix}...)")]
pub struct IdError {
    pub value: String,
    pub what: &'static str,
    pub prefix: &'static str,
}

macro_rules! aws_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;
            /// What the id names, for messages.
            pub const WHAT: &'static str = $what;

            /// The id in `s` (surrounding whitespace ignored).
            pub fn parse(s: &str) -> Result<Self, IdError> {
                let s = s.trim();
                match s.strip_prefix($prefix) {
                    Some(rest) if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()) => {
                        Ok($name(s.to_string()))
                    }
                    _ => Err(IdError {
                        value: s.to_string(),
                        what: $what,
                        prefix: $prefix,
                    }),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                $name::parse(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

aws_id!(
    /// `rs-...`: a route server.
    RouteServerId,
    "rs-",
    "route server"
);
aws_id!(
    /// `rse-...`: a route server endpoint.
    RouteServerEndpointId,
    "rse-",
    "route server endpoint"
);
aws_id!(
    /// `rsp-...`: a route server peer.
    RouteServerPeerId,
    "rsp-",
    "route server peer"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_prefix_then_letters_or_digits() {
        assert_eq!(
            RouteServerId::parse(" rs-0a1b2c3d4e5f60718 ")
                .unwrap()
                .as_str(),
            "rs-0a1b2c3d4e5f60718"
        );
        assert!(RouteServerId::parse("rs-1").is_ok());
        assert!(RouteServerPeerId::parse("rsp-A9").is_ok());
        assert!(RouteServerEndpointId::parse("rse-0a").is_ok());
        for bad in [
            "", "rs-", "rs", "rsp-1", "rse-1", "vpc-1", "rs-0a#1", "rs-0a 1", "rs-é",
        ] {
            assert!(RouteServerId::parse(bad).is_err(), "{bad:?}");
        }
        // A peer id is not a route server id, nor the other way round.
        assert!(RouteServerPeerId::parse("rs-1").is_err());
        assert!(RouteServerEndpointId::parse("rsp-1").is_err());
    }

    #[test]
    fn errors_say_what_was_expected() {
        let err = RouteServerPeerId::parse("vpc-1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"vpc-1\" is not a route server peer id (rsp-...)"
        );
        assert_eq!(
            RouteServerId::parse("x").unwrap_err().to_string(),
            "\"x\" is not a route server id (rs-...)"
        );
    }

    #[test]
    fn serde_reads_and_writes_the_plain_string() {
        let id: RouteServerId = serde_json::from_str("\"rs-1\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"rs-1\"");
        let err = serde_json::from_str::<RouteServerId>("\"vpc-1\"").unwrap_err();
        assert!(
            err.to_string().contains("is not a route server id"),
            "{err}"
        );
    }
}
