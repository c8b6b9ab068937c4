//! Times on the command line: epoch seconds (`1893456000`), a duration from
//! now (`15m`, `2h`, `1h30m`, `7d`), or an RFC 3339 time (`2030-01-01T00:00:00Z`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hlsgate_core::signing::Epoch;

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Parses a time argument relative to `now`.
pub fn parse(input: &str, now: u64) -> Result<Epoch, String> {
    let s = input.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = s.parse().map_err(|_| format!("time {s:?} is too large"))?;
        return Epoch::new(secs).map_err(|e| e.to_string());
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        let secs = t
            .duration_since(UNIX_EPOCH)
            .map_err(|_| format!("time {s:?} is before 1970"))?
            .as_secs();
        return Epoch::new(secs).map_err(|e| e.to_string());
    }
    let d: Duration = humantime::parse_duration(s).map_err(|_| {
        format!(
            "cannot read time {input:?}: give epoch seconds (1893456000), a duration from now (15m, 2h, 7d) \
             or an RFC 3339 time (2030-01-01T00:00:00Z)"
        )
    })?;
    let secs = now
        .checked_add(d.as_secs())
        .ok_or_else(|| format!("duration {s:?} is too long"))?;
    Epoch::new(secs).map_err(|e| e.to_string())
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
        let ms = parse("1893456000000", 0).unwrap_err();
        assert!(ms.contains("milliseconds"), "{ms}");
        assert!(parse("soon", 0).is_err());
        assert!(parse("", 0).is_err());
    }
}
