//! CloudFront policies: the canned form (one URL, an expiry) and custom policies
//! (a wildcard resource, a validity window, an optional IPv4 range).
//!
//! JSON is produced by serde_json from typed structs, so a resource or address
//! containing quotes or backslashes is escaped and can never add policy fields.
//! Field order is fixed (Resource, then DateLessThan, DateGreaterThan,
//! IpAddress), which is the order the reference signers use.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Serialize;
use serde_json::Value;

/// Seconds since the Unix epoch. Values past the year 3000 are refused: they are
/// almost always milliseconds passed by mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Epoch(u64);

/// 3000-01-01T00:00:00Z.
pub const YEAR_3000: u64 = 32_503_680_000;

impl Epoch {
    pub fn new(seconds: u64) -> Result<Self, PolicyError> {
        if seconds > YEAR_3000 {
            return Err(PolicyError::LooksLikeMilliseconds(seconds));
        }
        if seconds == 0 {
            return Err(PolicyError::ZeroTime);
        }
        Ok(Epoch(seconds))
    }

    pub fn seconds(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let when = i64::try_from(self.0)
            .ok()
            .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
        match when {
            Some(iso) => write!(f, "{} ({iso})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// Why a policy cannot be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("an expiry time is required (DateLessThan)")]
    MissingExpiry,
    #[error(
        "time {0} is after the year 3000: it looks like milliseconds; pass seconds since the epoch (e.g. {seconds})",
        seconds = .0 / 1000
    )]
    LooksLikeMilliseconds(u64),
    #[error("time 0 is not a valid policy time")]
    ZeroTime,
    #[error("start time {starts} is not before expiry {expires}")]
    StartNotBeforeExpiry { starts: Epoch, expires: Epoch },
    #[error(
        "IPv6 address ranges are not supported by CloudFront policies (AWS:SourceIp takes IPv4 only): {0}"
    )]
    Ipv6(String),
    #[error("not an IPv4 address or CIDR range: {input:?} ({reason})")]
    BadCidr { input: String, reason: String },
    #[error("the resource is empty")]
    EmptyResource,
    #[error("the resource contains a control character or whitespace")]
    BadResourceChar,
    #[error("policy JSON: {0}")]
    Malformed(String),
}

/// Parses `198.51.100.7` (taken as `/32`) or `203.0.113.0/24`. IPv6 is refused
/// with its own error because CloudFront cannot bind a policy to it.
pub fn parse_source_ip(input: &str) -> Result<Ipv4Net, PolicyError> {
    let trimmed = input.trim();
    if trimmed.contains(':') {
        return Err(PolicyError::Ipv6(trimmed.to_string()));
    }
    if trimmed.contains('/') {
        trimmed
            .parse::<Ipv4Net>()
            .map_err(|e| PolicyError::BadCidr {
                input: input.to_string(),
                reason: e.to_string(),
            })
    } else {
        let addr: Ipv4Addr =
            trimmed
                .parse()
                .map_err(|e: std::net::AddrParseError| PolicyError::BadCidr {
                    input: input.to_string(),
                    reason: e.to_string(),
                })?;
        Ok(Ipv4Net::from(addr))
    }
}

/// A CloudFront policy statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    resource: String,
    expires: Epoch,
    starts: Option<Epoch>,
    source_ip: Option<Ipv4Net>,
}

/// How a signature carries its policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// `Expires` parameter; the policy is rebuilt by CloudFront from the URL.
    Canned,
    /// `Policy` parameter carrying the base64 JSON.
    Custom,
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PolicyKind::Canned => "canned",
            PolicyKind::Custom => "custom",
        })
    }
}

#[derive(Serialize)]
struct Doc<'a> {
    #[serde(rename = "Statement")]
    statement: [Stmt<'a>; 1],
}

#[derive(Serialize)]
struct Stmt<'a> {
    #[serde(rename = "Resource")]
    resource: &'a str,
    #[serde(rename = "Condition")]
    condition: Cond,
}

#[derive(Serialize)]
struct Cond {
    #[serde(rename = "DateLessThan")]
    date_less_than: EpochTime,
    #[serde(rename = "DateGreaterThan", skip_serializing_if = "Option::is_none")]
    date_greater_than: Option<EpochTime>,
    #[serde(rename = "IpAddress", skip_serializing_if = "Option::is_none")]
    ip_address: Option<SourceIp>,
}

#[derive(Serialize)]
struct EpochTime {
    #[serde(rename = "AWS:EpochTime")]
    t: Epoch,
}

#[derive(Serialize)]
struct SourceIp {
    #[serde(rename = "AWS:SourceIp")]
    ip: String,
}

impl Policy {
    /// A policy for `resource` (a URL, or a pattern with `*` and `?`) that
    /// expires at `expires`.
    pub fn new(resource: impl Into<String>, expires: Epoch) -> Result<Self, PolicyError> {
        let resource = resource.into();
        if resource.is_empty() {
            return Err(PolicyError::EmptyResource);
        }
        if resource
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(PolicyError::BadResourceChar);
        }
        Ok(Policy {
            resource,
            expires,
            starts: None,
            source_ip: None,
        })
    }

    /// Not valid before `starts` (DateGreaterThan).
    pub fn with_start(mut self, starts: Epoch) -> Result<Self, PolicyError> {
        if starts >= self.expires {
            return Err(PolicyError::StartNotBeforeExpiry {
                starts,
                expires: self.expires,
            });
        }
        self.starts = Some(starts);
        Ok(self)
    }

    /// Only from addresses in `range` (AWS:SourceIp).
    pub fn with_source_ip(mut self, range: Ipv4Net) -> Self {
        self.source_ip = Some(range);
        self
    }

    pub fn resource(&self) -> &str {
        &self.resource
    }

    pub fn expires(&self) -> Epoch {
        self.expires
    }

    pub fn starts(&self) -> Option<Epoch> {
        self.starts
    }

    pub fn source_ip(&self) -> Option<Ipv4Net> {
        self.source_ip
    }

    /// The exact JSON that is signed. For a canned policy this is the one fixed
    /// form CloudFront rebuilds; custom policies use the same field order.
    pub fn to_json(&self) -> String {
        let doc = Doc {
            statement: [Stmt {
                resource: &self.resource,
                condition: Cond {
                    date_less_than: EpochTime { t: self.expires },
                    date_greater_than: self.starts.map(|t| EpochTime { t }),
                    ip_address: self.source_ip.map(|ip| SourceIp { ip: ip.to_string() }),
                },
            }],
        };
        // Serializing plain structs of strings and integers cannot fail.
        serde_json::to_string(&doc).unwrap_or_default()
    }

    /// Parses a policy as CloudFront reads it, strictly: one statement, a
    /// required `DateLessThan`, no unknown fields. A missing `Resource` means
    /// "any URL" (`*`), as CloudFront documents.
    pub fn from_json(json: &[u8]) -> Result<Self, PolicyError> {
        let bad = |m: &str| PolicyError::Malformed(m.to_string());
        let v: Value =
            serde_json::from_slice(json).map_err(|e| PolicyError::Malformed(e.to_string()))?;
        let doc = v.as_object().ok_or_else(|| bad("not a JSON object"))?;
        only_keys(doc, &["Statement"])?;
        let stmts = doc
            .get("Statement")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("missing Statement array"))?;
        let [stmt] = stmts.as_slice() else {
            return Err(bad("Statement must hold exactly one statement"));
        };
        let stmt = stmt
            .as_object()
            .ok_or_else(|| bad("statement is not an object"))?;
        only_keys(stmt, &["Resource", "Condition"])?;
        let resource = match stmt.get("Resource") {
            None => "*".to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(bad("Resource is not a string")),
        };
        let cond = stmt
            .get("Condition")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("missing Condition object"))?;
        only_keys(cond, &["DateLessThan", "DateGreaterThan", "IpAddress"])?;
        let epoch = |name: &str| -> Result<Option<Epoch>, PolicyError> {
            let Some(c) = cond.get(name) else {
                return Ok(None);
            };
            let c = c
                .as_object()
                .ok_or_else(|| PolicyError::Malformed(format!("{name} is not an object")))?;
            only_keys(c, &["AWS:EpochTime"])?;
            let t = c
                .get("AWS:EpochTime")
                .and_then(Value::as_u64)
                .ok_or_else(|| {
                    PolicyError::Malformed(format!(
                        "{name}.AWS:EpochTime must be a whole number of seconds"
                    ))
                })?;
            Epoch::new(t).map(Some)
        };
        let expires = epoch("DateLessThan")?.ok_or(PolicyError::MissingExpiry)?;
        let starts = epoch("DateGreaterThan")?;
        let source_ip = match cond.get("IpAddress") {
            None => None,
            Some(ip) => {
                let ip = ip
                    .as_object()
                    .ok_or_else(|| bad("IpAddress is not an object"))?;
                only_keys(ip, &["AWS:SourceIp"])?;
                let s = ip
                    .get("AWS:SourceIp")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("IpAddress.AWS:SourceIp must be a string"))?;
                Some(parse_source_ip(s)?)
            }
        };
        let mut policy = Policy {
            resource,
            expires,
            starts: None,
            source_ip,
        };
        if let Some(starts) = starts {
            policy = policy.with_start(starts)?;
        }
        Ok(policy)
    }
}

fn only_keys(obj: &serde_json::Map<String, Value>, allowed: &[&str]) -> Result<(), PolicyError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(PolicyError::Malformed(format!("unknown field {k:?}"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> Epoch {
        Epoch::new(s).unwrap()
    }

    #[test]
    fn canned_json_has_the_fixed_form() {
        let p = Policy::new("https://d.example/a.m3u8", t(1893456000)).unwrap();
        assert_eq!(
            p.to_json(),
            r#"{"Statement":[{"Resource":"https://d.example/a.m3u8","Condition":{"DateLessThan":{"AWS:EpochTime":1893456000}}}]}"#
        );
    }

    #[test]
    fn custom_json_orders_fields_like_the_reference() {
        let p = Policy::new("https://d.example/v/*", t(1893456000))
            .unwrap()
            .with_start(t(1893369600))
            .unwrap()
            .with_source_ip(parse_source_ip("203.0.113.0/24").unwrap());
        assert_eq!(
            p.to_json(),
            r#"{"Statement":[{"Resource":"https://d.example/v/*","Condition":{"DateLessThan":{"AWS:EpochTime":1893456000},"DateGreaterThan":{"AWS:EpochTime":1893369600},"IpAddress":{"AWS:SourceIp":"203.0.113.0/24"}}}]}"#
        );
    }

    #[test]
    fn quotes_in_resource_cannot_inject_fields() {
        let evil = r#"https://d.example/x","Condition":{"DateLessThan":{"AWS:EpochTime":4102444800}}},{"Resource":"*"#;
        let p = Policy::new(evil, t(1893456000)).unwrap();
        let json = p.to_json();
        let parsed = Policy::from_json(json.as_bytes()).unwrap();
        assert_eq!(parsed.resource(), evil);
        assert_eq!(parsed.expires(), t(1893456000));
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["Statement"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn backslashes_and_unicode_are_escaped_not_interpreted() {
        let p = Policy::new(r#"https://d.example/\"*"#, t(1893456000)).unwrap();
        let parsed = Policy::from_json(p.to_json().as_bytes()).unwrap();
        assert_eq!(parsed.resource(), r#"https://d.example/\"*"#);
    }

    #[test]
    fn milliseconds_are_refused_with_a_hint() {
        let err = Epoch::new(1_893_456_000_000).unwrap_err();
        assert!(err.to_string().contains("milliseconds"), "{err}");
        assert!(Epoch::new(YEAR_3000).is_ok());
        assert!(Epoch::new(YEAR_3000 + 1).is_err());
    }

    #[test]
    fn start_must_precede_expiry() {
        let p = Policy::new("https://d.example/*", t(100)).unwrap();
        assert!(matches!(
            p.clone().with_start(t(100)),
            Err(PolicyError::StartNotBeforeExpiry { .. })
        ));
        assert!(p.with_start(t(99)).is_ok());
    }

    #[test]
    fn source_ip_forms() {
        assert_eq!(
            parse_source_ip("198.51.100.7").unwrap().to_string(),
            "198.51.100.7/32"
        );
        assert_eq!(
            parse_source_ip("203.0.113.0/24").unwrap().to_string(),
            "203.0.113.0/24"
        );
        assert!(matches!(
            parse_source_ip("2001:db8::/32"),
            Err(PolicyError::Ipv6(_))
        ));
        for bad in [
            "203.0.113.0/33",
            "300.1.1.1",
            "1.2.3",
            "",
            "1.2.3.4/",
            "\"1.2.3.4\"",
        ] {
            assert!(
                matches!(parse_source_ip(bad), Err(PolicyError::BadCidr { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn resource_rules() {
        assert_eq!(Policy::new("", t(5)), Err(PolicyError::EmptyResource));
        assert_eq!(
            Policy::new("https://d.example/a b", t(5)),
            Err(PolicyError::BadResourceChar)
        );
    }

    #[test]
    fn from_json_is_strict() {
        let ok =
            r#"{"Statement":[{"Resource":"r","Condition":{"DateLessThan":{"AWS:EpochTime":5}}}]}"#;
        assert!(Policy::from_json(ok.as_bytes()).is_ok());
        let no_resource = r#"{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5}}}]}"#;
        assert_eq!(
            Policy::from_json(no_resource.as_bytes())
                .unwrap()
                .resource(),
            "*"
        );
        for bad in [
            r#"{"Statement":[{"Resource":"r","Condition":{}}]}"#,
            r#"{"Statement":[{"Resource":"r","Condition":{"DateLessThan":{"AWS:EpochTime":"5"}}}]}"#,
            r#"{"Statement":[{"Resource":"r","Condition":{"DateLessThan":{"AWS:EpochTime":5}},"Extra":1}]}"#,
            r#"{"Statement":[]}"#,
            r#"{"Statement":[{"Resource":"r","Condition":{"DateLessThan":{"AWS:EpochTime":5}}},{"Resource":"r","Condition":{"DateLessThan":{"AWS:EpochTime":5}}}]}"#,
            r#"{"Statement":[{"Resource":"r","Condition":{"DateLessThan":{"AWS:EpochTime":5},"IpAddress":{"AWS:SourceIp":"::1/128"}}}]}"#,
            r#"not json"#,
        ] {
            assert!(Policy::from_json(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
