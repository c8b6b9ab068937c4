//! The attacker's tries. Each must be refused; one that is served is a
//! security finding. All are built from what the issuer handed out: the
//! probe cannot sign.

use hlsgate_core::signing::Delivery;
use hlsgate_core::video::{self, VideoId};
use http::HeaderName;
use url::Url;

use crate::Probe;
use crate::play::Walk;
use crate::report::{Check, Part, Problem};
use crate::session::{Playback, status_line};
use crate::signature::{self, Param};

/// The origin no deployment allows: CORS must not let it read anything.
pub const STRANGER_ORIGIN: &str = "https://hlsgate-probe.invalid";

/// One attack check: its id, what it expects, the problem if it is
/// served, and its requests (or why it cannot run).
type Planned = (
    &'static str,
    String,
    Problem,
    Result<Vec<Try>, &'static str>,
);

/// One request an attacker makes.
struct Try {
    url: String,
    cookie: Option<String>,
}

impl Probe<'_> {
    /// Sends each try; the check passes when every one is refused (any
    /// status but 2xx and 3xx).
    async fn expect_refused(&mut self, check: Check, tries: Vec<Try>, problem: Problem) {
        let mut got = Vec::new();
        for t in &tries {
            // No `Origin`: an attacker's tool sends none.
            let headers: Vec<(HeaderName, String)> = t
                .cookie
                .iter()
                .map(|c| (http::header::COOKIE, c.clone()))
                .collect();
            match self.http.get(&t.url, &headers).await {
                Ok(a) if a.status.is_success() || a.status.is_redirection() => {
                    let c = check.clone().fail(
                        problem,
                        format!("{} for {}", status_line(&a), self.redact.url(&t.url)),
                    );
                    self.push(c);
                    return;
                }
                Ok(a) => got.push(status_line(&a)),
                Err(e) => {
                    self.push(check.clone().fail(Problem::Unreachable, e.to_string()));
                    return;
                }
            }
        }
        got.dedup();
        self.push(check.pass(got.join(", ")));
    }

    /// Every try, in order: each check's requests, or why it cannot run.
    pub async fn attack(&mut self, playback: &Playback, walk: &Walk) {
        let master = playback.answer.manifest_url.clone();
        let cookies = playback.mode == Delivery::Cookies;
        let cookie_header = self.cookie_header().unwrap_or_default();
        let found = if cookies {
            signature::found_in_cookies(&cookie_header)
        } else {
            signature::found_in_url(&master)
        };
        // `url` with the signature: the cookies (changed by `change`) in
        // cookie mode, else the URL as it is.
        let signed = |url: String, change: &dyn Fn(&str, &str) -> String| Try {
            cookie: cookies.then(|| signature::cookie_header(&found, change)),
            url,
        };
        let bare = |url: &str| Try {
            url: signature::bare(url),
            cookie: None,
        };
        let keep = |_: &str, v: &str| v.to_string();
        // `url`'s query with the values of `name` (and its copy) replaced.
        let replaced = |name: &str, value: &dyn Fn(&str) -> String| {
            signature::edit_query(&master, |p, _, v| {
                Some(match p {
                    Param::Edge(b) | Param::Copy(b) if b == name => value(v),
                    _ => v.to_string(),
                })
            })
        };
        let mut plan: Vec<Planned> = Vec::new();
        let refused = || "refused".to_string();

        // The master without a signature.
        plan.push((
            "attack.unsigned-playlist",
            refused(),
            Problem::UnsignedPlaylistServed,
            Ok(vec![bare(&master)]),
        ));
        // A changed signature (and its copy).
        let tampered = if cookies {
            signed(master.clone(), &|base, v| {
                if base == "Signature" {
                    signature::tampered(v)
                } else {
                    v.to_string()
                }
            })
        } else {
            signed(replaced("Signature", &signature::tampered), &keep)
        };
        plan.push((
            "attack.tampered-signature",
            refused(),
            Problem::TamperedSignatureAccepted,
            Ok(vec![tampered]),
        ));
        // Another folder with this folder's signature.
        let other = self.other_folder(&master);
        let other = if cookies {
            other
        } else {
            signature::with_pairs(&other, &signature::signing_pairs(&master))
        };
        plan.push((
            "attack.other-folder",
            refused(),
            Problem::OtherFolderOpened,
            Ok(vec![signed(other, &keep)]),
        ));
        // A segment, and the key, without a signature.
        plan.push((
            "attack.unsigned-segment",
            refused(),
            Problem::UnsignedSegmentServed,
            walk.segment
                .as_deref()
                .map(|s| vec![bare(s)])
                .ok_or("no segment was reached"),
        ));
        plan.push((
            "attack.unsigned-key",
            refused(),
            Problem::UnsignedKeyServed,
            walk.key
                .as_deref()
                .map(|k| vec![bare(k)])
                .ok_or("not encrypted"),
        ));
        // The private prefixes, bare and with the folder's signature.
        let id = &self.opts.video;
        let root = Url::parse(&master)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        for (check_id, key) in [
            (
                "attack.private.keys",
                video::key_object(video::DEFAULT_KEYS_PREFIX, id.as_str()),
            ),
            (
                "attack.private.status",
                hlsgate_core::status::status_key(video::DEFAULT_STATUS_PREFIX, id),
            ),
            (
                "attack.private.rules",
                hlsgate_core::rules::rules_key(video::DEFAULT_RULES_PREFIX, id),
            ),
            (
                "attack.private.jobs",
                format!("{}{id}.json", video::DEFAULT_JOB_CLAIM_PREFIX),
            ),
            (
                "attack.private.uploads",
                format!("{}{id}.mp4", video::DEFAULT_INPUT_PREFIX),
            ),
        ] {
            let url = format!("{root}/{key}");
            let with_signature = if cookies {
                url.clone()
            } else {
                signature::with_pairs(&url, &signature::signing_pairs(&master))
            };
            plan.push((
                check_id,
                format!("/{key}: refused"),
                Problem::PrivatePathReachable,
                Ok(vec![bare(&url), signed(with_signature, &keep)]),
            ));
        }
        // The forwarded copy alone, without CloudFront's parameters.
        let copy_only = if cookies {
            let suffix = signature::suffix_of(&master);
            signature::with_pairs(
                &signature::bare(&master),
                &signature::copy_query(&found, &suffix),
            )
        } else {
            signature::edit_query(&master, |p, _, v| match p {
                Param::Edge(_) => None,
                _ => Some(v.to_string()),
            })
        };
        plan.push((
            "attack.copy-alone",
            refused(),
            Problem::CopyAloneAccepted,
            Ok(vec![Try {
                url: copy_only,
                cookie: None,
            }]),
        ));
        // The issued policy, expired a minute ago, with its signature.
        let expired = signature::expired_value(
            &found,
            &signature::bare(&master),
            crate::now().saturating_sub(60),
        )
        .map(|(name, value)| {
            if cookies {
                signed(master.clone(), &|base, v| {
                    if base == name {
                        value.clone()
                    } else {
                        v.to_string()
                    }
                })
            } else {
                signed(replaced(name, &|_| value.clone()), &keep)
            }
        });
        plan.push((
            "attack.expired-policy",
            refused(),
            Problem::ExpiredPolicyAccepted,
            expired
                .map(|t| vec![t])
                .ok_or("the issued signature has no readable policy"),
        ));

        for (id, expected, problem, tries) in plan {
            let check = Check::new(id, Part::Attack, expected);
            match tries {
                Ok(tries) => self.expect_refused(check, tries, problem).await,
                Err(why) => self.push(check.skip(why)),
            }
        }
        // CORS for an origin nobody configured.
        self.stranger(&master, cookies.then_some(cookie_header.as_str()))
            .await;
    }

    /// The master's folder with another video's id in it.
    fn other_folder(&self, master: &str) -> String {
        let other = self.opts.other_video.clone().unwrap_or_else(|| {
            let mut b = [0u8; 8];
            let _ = getrandom::fill(&mut b);
            VideoId::parse(&format!("hlsgate-probe-{}", hex::encode(b)))
                .unwrap_or_else(|_| unreachable!("a valid id"))
        });
        let id = self.opts.video.as_str();
        let Ok(mut url) = Url::parse(&signature::bare(master)) else {
            return master.to_string();
        };
        let path = url.path().to_string();
        let needle = format!("/{id}/");
        if let Some(at) = path.rfind(&needle) {
            url.set_path(&format!(
                "{}/{}/{}",
                &path[..at],
                other.as_str(),
                &path[at + needle.len()..]
            ));
        }
        url.to_string()
    }

    /// A signed request from a page on [`STRANGER_ORIGIN`]: its origin must
    /// not be allowed.
    async fn stranger(&mut self, master: &str, cookie: Option<&str>) {
        let check = Check::new(
            "attack.cors-any-origin",
            Part::Attack,
            format!("no Access-Control-Allow-Origin for {STRANGER_ORIGIN}"),
        );
        let mut headers = vec![(http::header::ORIGIN, STRANGER_ORIGIN.to_string())];
        if let Some(c) = cookie {
            headers.push((http::header::COOKIE, c.to_string()));
        }
        let c = match self.http.get(master, &headers).await {
            Err(e) => check.fail(Problem::Unreachable, e.to_string()),
            Ok(a) => {
                let allowed = a.header(http::header::ACCESS_CONTROL_ALLOW_ORIGIN);
                if allowed.eq_ignore_ascii_case(STRANGER_ORIGIN) {
                    check
                        .fail(Problem::CorsAnyOrigin, format!("Access-Control-Allow-Origin: {allowed}"))
                        .why(vec![
                            "the answer names whatever origin asks: any site can read the playlist with the viewer's signature or cookies; list the player's origins (CORS_ALLOWED_ORIGINS)".into(),
                        ])
                } else if allowed.is_empty() {
                    check.pass("none")
                } else {
                    check.pass(format!("Access-Control-Allow-Origin: {allowed}"))
                }
            }
        };
        self.push(c);
    }
}
