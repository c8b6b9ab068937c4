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

/// One request an attacker makes.
#[derive(Debug)]
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

    /// Every try.
    pub async fn attack(&mut self, playback: &Playback, walk: &Walk) {
        let master = playback.answer.manifest_url.clone();
        let cookies = playback.mode == Delivery::Cookies;
        let cookie_header = self.cookie_header().unwrap_or_default();
        let found = if cookies {
            signature::found_in_cookies(&cookie_header)
        } else {
            signature::found_in_url(&master)
        };
        let signed = |url: &str, cookie_change: &dyn Fn(&str, &str) -> String| -> Try {
            if cookies {
                Try {
                    url: url.to_string(),
                    cookie: Some(signature::cookie_header(&found, cookie_change)),
                }
            } else {
                Try {
                    url: url.to_string(),
                    cookie: None,
                }
            }
        };
        let keep = |_: &str, v: &str| v.to_string();

        // 1. The master without a signature.
        self.expect_refused(
            Check::new("attack.unsigned-playlist", Part::Attack, "refused"),
            vec![Try {
                url: signature::bare(&master),
                cookie: None,
            }],
            Problem::UnsignedPlaylistServed,
        )
        .await;

        // 2. A changed signature (and its copy).
        let tampered = if cookies {
            signed(&master, &|base, v| {
                if base == "Signature" {
                    signature::tampered(v)
                } else {
                    v.to_string()
                }
            })
        } else {
            Try {
                url: signature::edit_query(&master, |p, _, v| {
                    Some(match p {
                        Param::Edge("Signature") | Param::Copy("Signature") => {
                            signature::tampered(v)
                        }
                        _ => v.to_string(),
                    })
                }),
                cookie: None,
            }
        };
        self.expect_refused(
            Check::new("attack.tampered-signature", Part::Attack, "refused"),
            vec![tampered],
            Problem::TamperedSignatureAccepted,
        )
        .await;

        // 3. Another folder with this folder's signature.
        let other = self.other_folder(&master);
        let other_try = if cookies {
            signed(&other, &keep)
        } else {
            Try {
                url: signature::with_pairs(
                    &signature::bare(&other),
                    &signature::signing_pairs(&master),
                ),
                cookie: None,
            }
        };
        self.expect_refused(
            Check::new("attack.other-folder", Part::Attack, "refused"),
            vec![other_try],
            Problem::OtherFolderOpened,
        )
        .await;

        // 4. A segment, and the key, without a signature.
        let check = Check::new("attack.unsigned-segment", Part::Attack, "refused");
        match &walk.segment {
            Some(s) => {
                self.expect_refused(
                    check,
                    vec![Try {
                        url: signature::bare(s),
                        cookie: None,
                    }],
                    Problem::UnsignedSegmentServed,
                )
                .await
            }
            None => self.push(check.skip("no segment was reached")),
        }
        let check = Check::new("attack.unsigned-key", Part::Attack, "refused");
        match &walk.key {
            Some(k) => {
                self.expect_refused(
                    check,
                    vec![Try {
                        url: signature::bare(k),
                        cookie: None,
                    }],
                    Problem::UnsignedKeyServed,
                )
                .await
            }
            None => self.push(check.skip("not encrypted")),
        }

        // 5. The private prefixes, bare and with the folder's signature.
        let id = &self.opts.video;
        let privates: [(&'static str, String); 5] = [
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
        ];
        let root = Url::parse(&master)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        for (check_id, key) in privates {
            let url = format!("{root}/{key}");
            let with_signature = if cookies {
                signed(&url, &keep)
            } else {
                Try {
                    url: signature::with_pairs(&url, &signature::signing_pairs(&master)),
                    cookie: None,
                }
            };
            self.expect_refused(
                Check::new(check_id, Part::Attack, format!("/{key}: refused")),
                vec![Try { url, cookie: None }, with_signature],
                Problem::PrivatePathReachable,
            )
            .await;
        }

        // 6. The forwarded copy alone, without CloudFront's parameters.
        let suffix = signature::suffix_of(&master);
        let copy_only = if cookies {
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
        self.expect_refused(
            Check::new("attack.copy-alone", Part::Attack, "refused"),
            vec![Try {
                url: copy_only,
                cookie: None,
            }],
            Problem::CopyAloneAccepted,
        )
        .await;

        // 7. The issued policy, expired a minute ago, with its signature.
        let check = Check::new("attack.expired-policy", Part::Attack, "refused");
        match signature::expired_value(
            &found,
            &signature::bare(&master),
            crate::now().saturating_sub(60),
        ) {
            Some((name, value)) => {
                let t = if cookies {
                    signed(&master, &|base, v| {
                        if base == name {
                            value.clone()
                        } else {
                            v.to_string()
                        }
                    })
                } else {
                    Try {
                        url: signature::edit_query(&master, |p, _, v| {
                            Some(match p {
                                Param::Edge(b) | Param::Copy(b) if b == name => value.clone(),
                                _ => v.to_string(),
                            })
                        }),
                        cookie: None,
                    }
                };
                self.expect_refused(check, vec![t], Problem::ExpiredPolicyAccepted)
                    .await;
            }
            None => self.push(check.skip("the issued signature has no readable policy")),
        }

        // 8. CORS for an origin nobody configured.
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
