//! Configuration that cannot work is refused at start, every problem at once.

use hlsgate_signed_url_issuer::Config;
use hlsgate_signed_url_issuer::Delivery;
use hlsgate_signed_url_issuer::config::KeysConfig;

use crate::common::*;

fn problems(extra: &[(&str, &str)]) -> Vec<String> {
    Config::from(env(extra)).unwrap_err().problems
}

#[test]
fn defaults() {
    let c = config(&[]);
    assert_eq!(c.default_mode, Delivery::Url);
    assert_eq!(c.hash, hlsgate_core::signing::HashAlgorithm::Sha256);
    assert_eq!(c.key_prefix, "videos/");
    assert_eq!(c.suffix, "-PREFIX");
    assert!(c.cookies.is_none());
    assert!(!c.bind_ip);
    assert!(matches!(c.keys, KeysConfig::Literal(_)));
    assert!(!format!("{c:?}").contains("BEGIN"), "keys never printed");
    assert_eq!(
        c.folder_url("demo"),
        "https://d111111abcdef8.cloudfront.net/videos/demo/"
    );
}

#[test]
fn cookie_settings_must_reach_the_cdn() {
    let p = problems(&[("COOKIE_DOMAIN", "example.com")]);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("does not cover the CDN host"), "{p:?}");
    // A parent domain, the host itself, or a leading dot are fine.
    for domain in ["example.com", ".example.com", "cdn.example.com"] {
        let c = config(&[("CDN_DOMAIN", "cdn.example.com"), ("COOKIE_DOMAIN", domain)]);
        assert_eq!(
            c.cookies.unwrap().domain.as_deref(),
            Some(domain.trim_start_matches('.'))
        );
    }
    let p = problems(&[
        ("CDN_DOMAIN", "cdn.example.com"),
        ("COOKIE_DOMAIN", "example.com"),
        ("CORS_ALLOWED_ORIGINS", "*"),
    ]);
    assert!(p[0].contains("cannot be used with COOKIE_DOMAIN"), "{p:?}");
    let p = problems(&[("DEFAULT_MODE", "cookies")]);
    assert!(p[0].contains("needs COOKIE_DOMAIN"), "{p:?}");
    let p = problems(&[
        ("COOKIE_DOMAIN", "localhost"),
        ("COOKIE_SAMESITE", "sometimes"),
    ]);
    assert_eq!(p.len(), 2, "{p:?}");
}

/// Served through the distribution, cookies need no domain: host-only on
/// the CDN's host. That needs the origin secret (to know a request came
/// through CloudFront), and excludes COOKIE_DOMAIN.
#[test]
fn host_only_cookies_need_the_origin_secret() {
    let c = config(&[
        ("HOST_ONLY_COOKIES", "true"),
        ("ORIGIN_SECRET", "s"),
        ("DEFAULT_MODE", "cookies"),
        ("CORS_ALLOWED_ORIGINS", "*"),
    ]);
    assert_eq!(c.cookies.unwrap().domain, None);
    assert!(c.origin.is_some());
    let p = problems(&[("HOST_ONLY_COOKIES", "true")]);
    assert!(p[0].contains("needs ORIGIN_SECRET_ARN"), "{p:?}");
    let p = problems(&[
        ("HOST_ONLY_COOKIES", "true"),
        ("ORIGIN_SECRET", "s"),
        ("CDN_DOMAIN", "cdn.example.com"),
        ("COOKIE_DOMAIN", "example.com"),
    ]);
    assert!(p[0].contains("not both"), "{p:?}");
}

#[test]
fn every_problem_is_listed() {
    let p = problems(&[
        ("SIGNING_KEYS_FILE", "/tmp/keys.json"),
        ("SIGNING_HASH", "MD5"),
        ("SIGNATURE_SECONDS", "duration"),
        ("TTL_MIN_SECONDS", "7200"),
        ("TTL_MAX_SECONDS", "3600"),
        ("TTL_DURATION_FACTOR", "0.5"),
        ("PARAM_SUFFIX", "-A B"),
        ("ENTITLEMENT_CLAIM", ""),
        ("ENTITLEMENT_VALUES", ""),
    ]);
    let text = p.join("\n");
    for want in [
        "set one of SIGNING_KEYS_SECRET_ARN, SIGNING_KEYS_FILE, SIGNING_KEYS",
        "SIGNING_HASH=\"MD5\"",
        "TTL_MIN_SECONDS (7200) is greater than TTL_MAX_SECONDS (3600)",
        "TTL_DURATION_FACTOR",
        "PARAM_SUFFIX",
        "no entitlement rule",
    ] {
        assert!(text.contains(want), "{want:?} missing in:\n{text}");
    }
    assert_eq!(p.len(), 6, "{text}");
}

/// docs/signed-url-issuer.md's table is what the config reads, both ways.
#[test]
fn the_docs_list_exactly_the_variables_read() {
    let mut names = std::collections::BTreeSet::new();
    let stores: [&[(&str, &str)]; 2] = [
        &[("ENTITLEMENT", "dynamodb"), ("GRANTS_TABLE", "grants")],
        &[
            ("ENTITLEMENT", "webhook"),
            ("ENTITLEMENT_URL", "https://grants.example.com/check"),
            (
                "ENTITLEMENT_SECRET_ARN",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hook",
            ),
        ],
    ];
    for extra in [&[][..], COOKIES].into_iter().chain(stores) {
        let (env, read) = env(extra).tracking();
        Config::from(env).unwrap();
        names.extend(read.names());
    }
    hlsgate_aws::testing::assert_documented("signed-url-issuer.md", names);
}
