//! Times on the command line: epoch seconds (`1893456000`), a duration from
//! now (`15m`, `2h`, `1h30m`, `7d`), or an RFC 3339 time (`2030-01-01T00:00:00Z`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hlsgate_core::signing::{Epoch, PolicyError};

/// Why a time argument was not read.
#[derive(Debug, thiserror::Error)]
pub enum TimeError {
    #[error("time {0:?} is too large")]
    TooLarge(String),
    #[error("time {0:?} is before 1970")]
    BeforeEpoch(String),
    #[error(
        "cannot read time {0:?}: give epoch seconds (1893456000), a duration from now (15m, 2h, 7d) \
         or an RFC 3339 time (2030-01-01T00:00:00Z)"
    )]
    Unreadable(String),
    #[error("duration {0:?} is too long")]
    TooLong(String),
    #[error(transparent)]
    Epoch(#[from] PolicyError),
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Parses a time argument relative to `now`.
pub fn parse(input: &str, now: u64) -> Result<Epoch, TimeError> {
    let s = input.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = s.parse().map_err(|_| TimeError::TooLarge(s.into()))?;
        return Ok(Epoch::new(secs)?);
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        let secs = t
            .duration_since(UNIX_EPOCH)
            .map_err(|_| TimeError::BeforeEpoch(s.into()))?
            .as_secs();
        return Ok(Epoch::new(secs)?);
    }
    let d: Duration =
        humantime::parse_duration(s).map_err(|_| TimeError::Unreadable(input.into()))?;
    let secs = now
        .checked_add(d.as_secs())
        .ok_or_else(|| TimeError::TooLong(s.into()))?;
    Ok(Epoch::new(secs)?)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn forms() {
        assert_eq!(parse("1893456000", 5).unwrap().seconds(), 1893456000);
        assert_eq!(parse("15m", 1000).unwrap().seconds(), 1900);
        assert_eq!(parse("2h", 1000).unwrap().seconds(), 8200);
        assert_eq!(parse("1h 30m", 0).unwrap().seconds(), 5400);
        assert_eq!(
            parse("2030-01-01T00:00:00Z", 0).unwrap().seconds(),
            1893456000
        );
        let ms = parse("1893456000000", 0).unwrap_err().to_string();
        assert!(ms.contains("milliseconds"), "{ms}");
        assert!(parse("soon", 0).is_err());
        assert!(parse("", 0).is_err());
    }
}
