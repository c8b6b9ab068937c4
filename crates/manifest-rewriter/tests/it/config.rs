//! Configuration errors are found at cold start, all at once.

use hlsgate_aws::env::Env;
use hlsgate_manifest_rewriter::{Config, Delivery, SecretConfig};

use crate::common::*;

#[test]
fn an_empty_environment_lists_every_required_variable() {
    let err = Config::from(Env::from_pairs(Vec::<(String, String)>::new())).unwrap_err();
    let text = err.to_string();
    for name in [
        "MEDIA_BUCKET",
        "CDN_DOMAIN",
        "ORIGIN_SECRET_ARN",
        "PUBLIC_KEYS",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    assert_eq!(err.problems.len(), 4, "{text}");
}

#[test]
fn bad_values_are_each_reported() {
    let err = Config::from(env(&[
        ("KEY_PREFIX", "/videos"),
        ("CDN_DOMAIN", "d1.cloudfront.net/path"),
        ("PUBLIC_KEYS", r#"{"K1": "not a key"}"#),
        ("PARAM_SUFFIX", "-P=X"),
        ("AUTH_MODE", "token"),
        ("MAX_URIS", "0"),
        ("CORS_ALLOWED_ORIGINS", "player.example.com"),
        ("ORIGIN_HEADER", "bad header"),
        ("AWS_OPERATION_TIMEOUT_MS", "60000"),
    ]))
    .unwrap_err();
    assert_eq!(err.problems.len(), 9, "{err}");
}

#[test]
fn defaults() {
    let c = config(&[]);
    assert_eq!(c.key_prefix, "videos/");
    assert_eq!(c.public_origin, CDN);
    assert_eq!(c.origin.header.as_str(), "x-origin-verify");
    assert_eq!(c.public_origin_header, None);
    assert_eq!(c.metrics.namespace(), "hlsgate");
    assert_eq!(c.suffix, "-PREFIX");
    assert_eq!(c.mode, Delivery::Url);
    assert_eq!(c.max_playlist_bytes, 8 << 20);
    assert_eq!(c.key_group.ids(), [KEY_ID, ECDSA_KEY_ID]);
    assert_eq!(c.origin.secret, SecretConfig::Literal(SECRET.into()));
    assert!(!format!("{c:?}").contains(SECRET), "Debug hides the secret");
    let arn = Config::from(env(&[
        ("ORIGIN_SECRET", ""),
        (
            "ORIGIN_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:origin-AbCdEf",
        ),
    ]))
    .unwrap();
    assert!(matches!(arn.origin.secret, SecretConfig::SecretsManager(_)));
}

/// Behind a Function URL the distribution's domain comes per request: then
/// `CDN_DOMAIN` may be left out; otherwise it is required.
#[test]
fn the_public_origin_from_the_environment_or_a_header() {
    let c = config(&[
        ("CDN_DOMAIN", ""),
        ("PUBLIC_ORIGIN_HEADER", "X-Hlsgate-Origin"),
    ]);
    assert_eq!(c.public_origin, "");
    assert_eq!(c.public_origin_header.unwrap().as_str(), "x-hlsgate-origin");
    let err = Config::from(env(&[("CDN_DOMAIN", "")])).unwrap_err();
    assert!(err.to_string().contains("CDN_DOMAIN"), "{err}");
    let err = Config::from(env(&[("PUBLIC_ORIGIN_HEADER", "no good")])).unwrap_err();
    assert!(err.to_string().contains("PUBLIC_ORIGIN_HEADER"), "{err}");
}

/// docs/manifest-rewriter.md's table is what the config reads, both ways.
#[test]
fn the_docs_list_exactly_the_variables_read() {
    let (env, read) = env(&[]).tracking();
    Config::from(env).unwrap();
    hlsgate_aws::testing::assert_documented("manifest-rewriter.md", read.names());
}
