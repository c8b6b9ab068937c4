//! Playback rules at the issuer (`docs/playback-rules.md`): after the
//! claims and the grant have allowed, the grant's countries, then the
//! video's rules (window, country, site), then the stream limit.
//!
//! The viewer's country is CloudFront's `CloudFront-Viewer-Country`, read
//! only from a request that proved it came through the distribution (the
//! origin secret): CloudFront sets that header itself, replacing any the
//! viewer sent. A direct call to the API has no country we can trust:
//! unknown, which `UNKNOWN_COUNTRY` decides. The site is the browser's
//! `Origin`, else its `Referer`: a browser cannot forge them, any other
//! client can.

use hlsgate_aws::origin::Via;
use hlsgate_aws::web::Refusal;
use hlsgate_core::rules::{Asking, Breach, Country, UnknownCountry};
use hlsgate_core::video::VideoId;
use http::{StatusCode, header};
use lambda_http::Request;

use crate::entitlement::Terms;
use crate::{Outcome, catalog_refusal, rfc3339};

/// Set by CloudFront when the origin request policy lists it.
pub const VIEWER_COUNTRY_HEADER: &str = "cloudfront-viewer-country";

/// Which rule refused: the refusal's `detail` (the `Refusals` metric's
/// `Reason`) and the body's `rule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Rule {
    #[strum(serialize = "grant.countries")]
    GrantCountries,
    #[strum(serialize = "video.window")]
    VideoWindow,
    #[strum(serialize = "video.countries")]
    VideoCountries,
    #[strum(serialize = "video.origins")]
    VideoOrigins,
}

/// Where a request comes from: the viewer's country, and the page's
/// headers, read as a site only by a video's site rule.
#[derive(Debug, Clone)]
pub(crate) struct Whence<'a> {
    pub country: Option<Country>,
    origin: Option<&'a str>,
    referer: Option<&'a str>,
}

impl<'a> Whence<'a> {
    pub fn of(req: &'a Request, via: Via) -> Whence<'a> {
        let h = req.headers();
        let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
        let country = match via {
            Via::Cdn => Country::of_viewer(text(VIEWER_COUNTRY_HEADER)),
            // Anyone may send the header to the API itself.
            Via::Direct => None,
        };
        Whence {
            country,
            origin: text(header::ORIGIN.as_str()),
            referer: text(header::REFERER.as_str()),
        }
    }
}

/// The refusal a breach answers, in words a player may show.
pub(crate) fn refusal(breach: Breach, rule: Rule) -> Refusal {
    let when = |epoch: u64| rfc3339(epoch).map_or(serde_json::Value::Null, Into::into);
    let (message, field) = match breach {
        Breach::NotYetAvailable(from) => (
            "this video is not available yet".to_string(),
            Some(("available_from", when(from))),
        ),
        Breach::NoLongerAvailable(until) => (
            "this video is no longer available".to_string(),
            Some(("available_until", when(until))),
        ),
        Breach::CountryNotAllowed(country) => (
            match country {
                Some(c) => format!("this video is not available in your country ({c})"),
                None => "this video is not available where you are".to_string(),
            },
            Some((
                "country",
                country.map_or(serde_json::Value::Null, |c| c.as_str().into()),
            )),
        ),
        Breach::OriginNotAllowed => ("this video cannot be played on this site".to_string(), None),
    };
    let rule_name: &'static str = rule.into();
    let mut r = Refusal::new(StatusCode::FORBIDDEN, breach.code(), message)
        .public()
        .detail(rule_name)
        .with_field("rule", rule_name.into());
    if let Some((name, value)) = field {
        r = r.with_field(name, value);
    }
    r
}

/// The grant's countries and the video's rules for a request at `now`: the
/// end of the video's window, past which no signature may last, or the
/// refusal.
pub(crate) async fn check<S: hlsgate_aws::ObjectSource>(
    catalog: &crate::catalog::Catalog<S>,
    unknown_country: UnknownCountry,
    whence: &Whence<'_>,
    terms: &Terms,
    id: &VideoId,
    now: u64,
    out: &mut Outcome,
) -> Result<Option<u64>, Refusal> {
    if let Some(c) = &terms.countries
        && !c.admits(whence.country, unknown_country)
    {
        return Err(refusal(
            Breach::CountryNotAllowed(whence.country),
            Rule::GrantCountries,
        ));
    }
    let Some(rules) = catalog.rules(id).await.map_err(catalog_refusal)? else {
        return Ok(None);
    };
    out.rules = true;
    let asking = Asking {
        now,
        country: whence.country,
        origin: whence.origin,
        referer: whence.referer,
        unknown_country,
    };
    rules.check(&asking).map_err(|breach| {
        let rule = match breach {
            Breach::NotYetAvailable(_) | Breach::NoLongerAvailable(_) => Rule::VideoWindow,
            Breach::CountryNotAllowed(_) => Rule::VideoCountries,
            Breach::OriginNotAllowed => Rule::VideoOrigins,
        };
        refusal(breach, rule)
    })
}
