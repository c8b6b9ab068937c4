//! Playback rules: where, from which site and when a video may play.
//!
//! A video's rules are one small JSON object, `RULES_PREFIX` + id + `.json`
//! in the media bucket (outside `KEY_PREFIX`, so the distribution never
//! serves it), written by the team's back office (`hlsgate rules set`) and
//! read by the issuer:
//!
//! ```json
//! {"countries": {"allow": ["DE", "AT"]},
//!  "origins": ["https://shop.example"], "allow_no_origin": false,
//!  "available_from": 1767225600, "available_until": 1798761600}
//! ```
//!
//! Every member is optional; an unknown member is an error, so a typo never
//! reads as "no rule". [`VideoRules::check`] evaluates them in one order:
//! the window, then the country, then the site.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::status::MAX_STATUS_BYTES;
use crate::video::VideoId;

/// Longest rules object read (a few hundred bytes in practice).
pub const MAX_RULES_BYTES: u64 = MAX_STATUS_BYTES;
/// Most countries in one list (ISO 3166-1 has 249).
pub const MAX_COUNTRIES: usize = 250;
/// Most sites in one `origins` list.
pub const MAX_ORIGINS: usize = 100;
/// What CloudFront sends in `CloudFront-Viewer-Country` when it cannot
/// place the viewer.
pub const UNKNOWN_COUNTRY_CODE: &str = "ZZ";

/// The rules object of video `id`.
pub fn rules_key(rules_prefix: &str, id: &VideoId) -> String {
    format!("{rules_prefix}{id}.json")
}

/// An ISO 3166-1 alpha-2 country code, upper case (`DE`). `ZZ` (unknown)
/// and codes ISO does not assign are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Country([u8; 2]);

impl Country {
    pub fn as_str(&self) -> &str {
        // Two ASCII letters, checked at parse.
        std::str::from_utf8(&self.0).unwrap_or(UNKNOWN_COUNTRY_CODE)
    }

    /// The viewer's country from `CloudFront-Viewer-Country`: `None` when the
    /// header is missing, `ZZ`, or not a country.
    pub fn of_viewer(header: Option<&str>) -> Option<Country> {
        header.and_then(|h| h.trim().parse().ok())
    }
}

impl FromStr for Country {
    type Err = String;

    /// `DE` or `de`.
    fn from_str(s: &str) -> Result<Country, String> {
        let upper = s.to_ascii_uppercase();
        match isocountry::CountryCode::for_alpha2(&upper) {
            Ok(_) if upper.len() == 2 => {
                let b = upper.as_bytes();
                Ok(Country([b[0], b[1]]))
            }
            _ => Err(format!(
                "{s:?} is not an ISO 3166-1 alpha-2 country code (like DE, FR, US)"
            )),
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Country {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Country, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a video (or a grant) plays: only in the listed countries, or
/// anywhere but them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Countries {
    Allow(Vec<Country>),
    Deny(Vec<Country>),
}

impl Countries {
    /// Whether a viewer in `country` may play; an unknown country gets
    /// `unknown`'s answer, whichever the list.
    pub fn admits(&self, country: Option<Country>, unknown: UnknownCountry) -> bool {
        match (self, country) {
            (_, None) => unknown == UnknownCountry::Allow,
            (Countries::Allow(list), Some(c)) => list.contains(&c),
            (Countries::Deny(list), Some(c)) => !list.contains(&c),
        }
    }

    /// The codes listed.
    pub fn codes(&self) -> &[Country] {
        match self {
            Countries::Allow(l) | Countries::Deny(l) => l,
        }
    }

    /// An empty allow list lets nobody in; a list past [`MAX_COUNTRIES`].
    pub fn check(&self) -> Result<(), String> {
        match self {
            Countries::Allow(l) if l.is_empty() => Err(
                "an empty allow list lets nobody play: remove the rule, or end the window".into(),
            ),
            _ if self.codes().len() > MAX_COUNTRIES => {
                Err(format!("more than {MAX_COUNTRIES} countries"))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Countries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (word, list) = match self {
            Countries::Allow(l) => ("only", l),
            Countries::Deny(l) => ("not", l),
        };
        let names: Vec<&str> = list.iter().map(Country::as_str).collect();
        write!(f, "{word} {}", names.join(","))
    }
}

/// What a viewer CloudFront cannot place (or a request that did not come
/// through the distribution) gets where a country rule exists
/// (`UNKNOWN_COUNTRY`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
pub enum UnknownCountry {
    /// Refused, as a country not on an allow list is (the default).
    #[default]
    Refuse,
    /// Let through, as a country not on a deny list is.
    Allow,
}

/// A site allowed to start a playback: a web origin, `https://shop.example`
/// (scheme, host, and a port other than the scheme's default), as a
/// browser's `Origin` header names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SiteOrigin(String);

impl SiteOrigin {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for SiteOrigin {
    type Err = String;

    /// `https://shop.example` or `http://localhost:8080`; a path, query,
    /// fragment or credentials are refused (an origin has none).
    fn from_str(s: &str) -> Result<SiteOrigin, String> {
        let bad = |why: &str| {
            Err(format!(
                "{s:?} is not a web origin ({why}); like https://shop.example"
            ))
        };
        let Ok(url) = url::Url::parse(s) else {
            return bad("not a URL");
        };
        if !matches!(url.scheme(), "http" | "https") {
            return bad("the scheme must be https or http");
        }
        if !url.username().is_empty() || url.password().is_some() {
            return bad("credentials");
        }
        if url.path() != "/"
            || url.query().is_some()
            || url.fragment().is_some()
            || s.ends_with('/')
        {
            return bad("a path, query or fragment");
        }
        Ok(SiteOrigin(url.origin().ascii_serialization()))
    }
}

impl fmt::Display for SiteOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for SiteOrigin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SiteOrigin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SiteOrigin, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Which site a request came from: its `Origin` header, else the origin of
/// its `Referer`. A browser sends `Origin` on every cross-site request and
/// every POST; a same-site GET carries only `Referer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestSite {
    /// An origin, serialized as browsers send it.
    Site(String),
    /// `Origin: null` (a sandboxed frame, a `file:` page) or a header that
    /// is not a URL: a site, but none that can be allowed.
    Opaque,
    /// Neither header: not a browser page (a native app, a server).
    Absent,
}

impl RequestSite {
    pub fn of(origin: Option<&str>, referer: Option<&str>) -> RequestSite {
        let site = |s: &str| match url::Url::parse(s).map(|u| u.origin()) {
            Ok(o @ url::Origin::Tuple(..)) => RequestSite::Site(o.ascii_serialization()),
            _ => RequestSite::Opaque,
        };
        match (origin, referer) {
            (Some(o), _) => site(o),
            (None, Some(r)) if !r.is_empty() => site(r),
            (None, _) => RequestSite::Absent,
        }
    }
}

/// One video's rules, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub countries: Option<Countries>,
    /// The sites whose pages may start a playback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origins: Option<Vec<SiteOrigin>>,
    /// With `origins`: whether a request naming no site (a native app) may
    /// start one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_no_origin: bool,
    /// Epoch seconds before which it does not play.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_from: Option<u64>,
    /// Epoch seconds from which it no longer plays; no signature outlives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_until: Option<u64>,
}

/// Why the rules refuse a playback. As a string, the refusal's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Breach {
    /// The window opens at this epoch second.
    NotYetAvailable(u64),
    /// The window closed at this epoch second.
    NoLongerAvailable(u64),
    /// The viewer's country (`None`: unknown) is not admitted.
    CountryNotAllowed(Option<Country>),
    /// The page asking is not an allowed site.
    OriginNotAllowed,
}

impl Breach {
    pub fn code(&self) -> &'static str {
        self.into()
    }
}

/// What the rules are checked against.
#[derive(Debug, Clone)]
pub struct Asking<'a> {
    pub now: u64,
    /// From `CloudFront-Viewer-Country`, trusted only through the
    /// distribution.
    pub country: Option<Country>,
    /// The request's `Origin` and `Referer`: read as a [`RequestSite`]
    /// only when a site rule asks (most videos have none).
    pub origin: Option<&'a str>,
    pub referer: Option<&'a str>,
    pub unknown_country: UnknownCountry,
}

impl VideoRules {
    /// From the stored JSON, checked as [`VideoRules::check_shape`] does.
    pub fn from_json(bytes: &[u8]) -> Result<VideoRules, String> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if !value.is_object() {
            return Err("playback rules are a JSON object".into());
        }
        let rules: VideoRules = serde_json::from_value(value).map_err(|e| e.to_string())?;
        rules.check_shape()?;
        Ok(rules)
    }

    /// Refuses what would read as a rule but lets nobody in, or anybody:
    /// an inverted or empty window, an empty allow list, an empty `origins`
    /// list, `allow_no_origin` without `origins`, lists past their limits.
    pub fn check_shape(&self) -> Result<(), String> {
        if let Some(c) = &self.countries {
            c.check()?;
        }
        match &self.origins {
            Some(o) if o.is_empty() => {
                return Err("an empty origins list lets no site play: remove the rule".into());
            }
            Some(o) if o.len() > MAX_ORIGINS => {
                return Err(format!("more than {MAX_ORIGINS} origins"));
            }
            None if self.allow_no_origin => {
                return Err("allow_no_origin means something only with an origins list".into());
            }
            _ => {}
        }
        if let (Some(from), Some(until)) = (self.available_from, self.available_until)
            && from >= until
        {
            return Err(format!(
                "the window is empty: available_from {from} is not before available_until {until}"
            ));
        }
        Ok(())
    }

    /// True when no rule is set.
    pub fn is_empty(&self) -> bool {
        *self == VideoRules::default()
    }

    /// The rules in order (window, country, site): the first breach, or
    /// the end of the window, past which no signature may last.
    pub fn check(&self, asking: &Asking<'_>) -> Result<Option<u64>, Breach> {
        if let Some(from) = self.available_from
            && asking.now < from
        {
            return Err(Breach::NotYetAvailable(from));
        }
        if let Some(until) = self.available_until
            && asking.now >= until
        {
            return Err(Breach::NoLongerAvailable(until));
        }
        if let Some(c) = &self.countries
            && !c.admits(asking.country, asking.unknown_country)
        {
            return Err(Breach::CountryNotAllowed(asking.country));
        }
        if let Some(sites) = &self.origins {
            let allowed = match RequestSite::of(asking.origin, asking.referer) {
                RequestSite::Site(s) => sites.iter().any(|o| o.as_str() == s),
                RequestSite::Opaque => false,
                RequestSite::Absent => self.allow_no_origin,
            };
            if !allowed {
                return Err(Breach::OriginNotAllowed);
            }
        }
        Ok(self.available_until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Country {
        s.parse().unwrap()
    }

    /// A request from the page of `origin` (`None`: naming no site).
    fn asking<'a>(origin: Option<&'a str>, country: Option<&str>, now: u64) -> Asking<'a> {
        Asking {
            now,
            country: country.map(c),
            origin,
            referer: None,
            unknown_country: UnknownCountry::Refuse,
        }
    }

    #[test]
    fn countries_are_iso_codes_and_zz_is_unknown() {
        assert_eq!(c("de").as_str(), "DE");
        for bad in ["ZZ", "XX", "D", "DEU", "", "D1", "É", "AA"] {
            assert!(bad.parse::<Country>().is_err(), "{bad}");
        }
        assert_eq!(Country::of_viewer(Some("FR")), Some(c("FR")));
        assert_eq!(Country::of_viewer(Some("ZZ")), None);
        assert_eq!(Country::of_viewer(Some("zz ")), None);
        assert_eq!(Country::of_viewer(None), None);
    }

    #[test]
    fn allow_and_deny_lists_and_the_unknown_viewer() {
        let allow = Countries::Allow(vec![c("DE"), c("AT")]);
        let deny = Countries::Deny(vec![c("US")]);
        assert!(allow.admits(Some(c("DE")), UnknownCountry::Refuse));
        assert!(!allow.admits(Some(c("FR")), UnknownCountry::Refuse));
        assert!(deny.admits(Some(c("FR")), UnknownCountry::Refuse));
        assert!(!deny.admits(Some(c("US")), UnknownCountry::Allow));
        for list in [&allow, &deny] {
            assert!(!list.admits(None, UnknownCountry::Refuse));
            assert!(list.admits(None, UnknownCountry::Allow));
        }
        assert_eq!(allow.to_string(), "only DE,AT");
    }

    #[test]
    fn origins_are_origins() {
        assert_eq!(
            "https://Shop.Example:443"
                .parse::<SiteOrigin>()
                .unwrap()
                .as_str(),
            "https://shop.example"
        );
        assert_eq!(
            "http://localhost:8080"
                .parse::<SiteOrigin>()
                .unwrap()
                .as_str(),
            "http://localhost:8080"
        );
        assert_eq!(
            "https://bücher.example"
                .parse::<SiteOrigin>()
                .unwrap()
                .as_str(),
            "https://xn--bcher-kva.example"
        );
        for bad in [
            "shop.example",
            "https://shop.example/",
            "https://shop.example/embed",
            "https://shop.example?x",
            "https://u:p@shop.example",
            "ftp://shop.example",
            "null",
            "*",
        ] {
            assert!(bad.parse::<SiteOrigin>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_site_is_the_origin_else_the_referers() {
        let site = |s: &str| RequestSite::Site(s.into());
        assert_eq!(
            RequestSite::of(Some("https://a.example"), Some("https://b.example/x")),
            site("https://a.example")
        );
        assert_eq!(
            RequestSite::of(None, Some("https://b.example:8443/watch?v=1")),
            site("https://b.example:8443")
        );
        assert_eq!(RequestSite::of(Some("null"), None), RequestSite::Opaque);
        assert_eq!(RequestSite::of(None, Some("garbage")), RequestSite::Opaque);
        assert_eq!(RequestSite::of(None, None), RequestSite::Absent);
        assert_eq!(RequestSite::of(None, Some("")), RequestSite::Absent);
    }

    #[test]
    fn rules_are_checked_window_then_country_then_site() {
        let rules = VideoRules::from_json(
            br#"{"countries":{"allow":["DE"]},"origins":["https://shop.example"],
                 "available_from":100,"available_until":200}"#,
        )
        .unwrap();
        let shop = Some("https://shop.example");
        let other = Some("https://other.example");
        assert_eq!(rules.check(&asking(shop, Some("DE"), 150)), Ok(Some(200)));
        // Each rule alone, then the first of several.
        assert_eq!(
            rules.check(&asking(shop, Some("DE"), 99)),
            Err(Breach::NotYetAvailable(100))
        );
        assert_eq!(
            rules.check(&asking(shop, Some("DE"), 200)),
            Err(Breach::NoLongerAvailable(200))
        );
        assert_eq!(
            rules.check(&asking(shop, Some("FR"), 150)),
            Err(Breach::CountryNotAllowed(Some(c("FR"))))
        );
        assert_eq!(
            rules.check(&asking(shop, None, 150)),
            Err(Breach::CountryNotAllowed(None))
        );
        assert_eq!(
            rules.check(&asking(other, Some("DE"), 150)),
            Err(Breach::OriginNotAllowed)
        );
        assert_eq!(
            rules.check(&asking(other, Some("FR"), 99)),
            Err(Breach::NotYetAvailable(100))
        );
        assert_eq!(
            rules.check(&asking(other, Some("FR"), 150)),
            Err(Breach::CountryNotAllowed(Some(c("FR"))))
        );
        assert_eq!(Breach::OriginNotAllowed.code(), "origin_not_allowed");
        assert_eq!(Breach::NotYetAvailable(1).code(), "not_yet_available");
    }

    #[test]
    fn a_site_rule_and_requests_naming_no_site() {
        let mut rules = VideoRules {
            origins: Some(vec!["https://shop.example".parse().unwrap()]),
            ..VideoRules::default()
        };
        let absent = None;
        let opaque = Some("null");
        assert_eq!(
            rules.check(&asking(absent, None, 0)),
            Err(Breach::OriginNotAllowed)
        );
        rules.allow_no_origin = true;
        assert_eq!(rules.check(&asking(absent, None, 0)), Ok(None));
        assert_eq!(
            rules.check(&asking(opaque, None, 0)),
            Err(Breach::OriginNotAllowed)
        );
        assert!(
            VideoRules::default()
                .check(&asking(opaque, None, 0))
                .is_ok()
        );
    }

    #[test]
    fn shapes_that_would_mislead_are_refused() {
        for (json, says) in [
            (r#"{"country":{"allow":["DE"]}}"#, "unknown field"),
            (r#"{"countries":{"allow":["XX"]}}"#, "ISO 3166-1"),
            (r#"{"countries":{"allow":[]}}"#, "lets nobody"),
            (r#"{"countries":{"allow":["DE"],"deny":["FR"]}}"#, ""),
            (r#"{"origins":[]}"#, "no site"),
            (r#"{"origins":["https://a.example/x"]}"#, "not a web origin"),
            (r#"{"allow_no_origin":true}"#, "only with an origins"),
            (r#"{"available_from":5,"available_until":5}"#, "empty"),
            (r#"{"available_until":-1}"#, ""),
            (r#"[]"#, ""),
        ] {
            let e = VideoRules::from_json(json.as_bytes()).unwrap_err();
            assert!(e.contains(says), "{json}: {e}");
        }
        let all = VideoRules::from_json(
            br#"{"countries":{"deny":["US"]},"origins":["https://a.example"],"allow_no_origin":true,"available_until":9}"#,
        )
        .unwrap();
        let back = serde_json::to_string(&all).unwrap();
        assert_eq!(VideoRules::from_json(back.as_bytes()).unwrap(), all);
        assert!(VideoRules::from_json(b"{}").unwrap().is_empty());
    }
}
