//! Signing keys from a replayed Secrets Manager: success, rotation, a
//! missing secret and bad contents; and the binary refusing to start.

use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::get_secret_value::{
    GetSecretValueError, GetSecretValueOutput,
};
use aws_sdk_secretsmanager::types::error::ResourceNotFoundException;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use hlsgate_aws::cache::Refresh;
use hlsgate_aws::secret::SecretsManagerSecret;
use hlsgate_core::signing::HashAlgorithm;
use hlsgate_signed_url_issuer::keys::{KeyRing, KeysError, SigningKeys};
use serde_json::json;

use crate::common::*;

const ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:hlsgate/signing-keys-AbCdEf";

fn ring(client: Client) -> KeyRing<SecretsManagerSecret> {
    KeyRing::new(
        SecretsManagerSecret::new(client, ARN),
        HashAlgorithm::Sha256,
        Refresh::DEFAULT,
    )
}

/// AWSCURRENT answers, in turn, each of `values`.
fn current(values: Vec<String>) -> Rule {
    let mut rule = mock!(Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some(ARN) && r.version_stage() == Some("AWSCURRENT"))
        .sequence();
    for v in values {
        rule = rule.output(move || {
            GetSecretValueOutput::builder()
                .secret_string(v.clone())
                .build()
        });
    }
    rule.build()
}

fn active_id(keys: &SigningKeys) -> String {
    keys.signer().key_pair_id().to_string()
}

#[tokio::test]
async fn reads_the_current_version_and_finds_the_active_key() {
    let rule = current(vec![keys_json(KEY_ID)]);
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::Sequential, [&rule]);
    let keys = ring(client).current().await.unwrap();
    assert_eq!(active_id(&keys), KEY_ID);
    assert_eq!(keys.ids(), [KEY_ID, ECDSA_KEY_ID]);
    assert_eq!(keys.signer().hash(), HashAlgorithm::Sha256);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_rotation_reaches_warm_functions_after_the_ttl() {
    let rule = current(vec![keys_json(KEY_ID), keys_json(ECDSA_KEY_ID)]);
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::Sequential, [&rule]);
    let ring = ring(client);
    let t = Instant::now();
    assert_eq!(active_id(&ring.current_at(t).await.unwrap()), KEY_ID);
    let cached = ring.current_at(t + Duration::from_secs(299)).await.unwrap();
    assert_eq!(active_id(&cached), KEY_ID);
    assert_eq!(rule.num_calls(), 1, "parsed once, reused");
    let rotated = ring.current_at(t + Duration::from_secs(301)).await.unwrap();
    assert_eq!(active_id(&rotated), ECDSA_KEY_ID);
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn a_bad_rotation_keeps_the_last_good_keys() {
    let two_active = keys_json(KEY_ID).replace("\"active\":false", "\"active\":true");
    let rule = current(vec![keys_json(KEY_ID), two_active]);
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::Sequential, [&rule]);
    let ring = ring(client);
    let t = Instant::now();
    ring.current_at(t).await.unwrap();
    let kept = ring.current_at(t + Duration::from_secs(301)).await.unwrap();
    assert_eq!(active_id(&kept), KEY_ID);
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn a_missing_secret_is_an_error_naming_it() {
    let rule = mock!(Client::get_secret_value).then_error(|| {
        GetSecretValueError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Secrets Manager can't find the specified secret.")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::Sequential, [&rule]);
    let err = ring(client).current().await.unwrap_err();
    assert!(
        matches!(&err, KeysError::Source(m) if m.contains(ARN)),
        "{err}"
    );
}

#[tokio::test]
async fn bad_pem_and_bad_documents_are_refused_without_echoing_keys() {
    let rsa = pem(&rsa_key());
    let small = String::from_utf8(read("keys/test-only-rsa1024.pem")).unwrap();
    let p384 = String::from_utf8(read("keys/test-only-ecdsa-p384.pem")).unwrap();
    let truncated = rsa[..rsa.len() / 2].to_string();
    let entry =
        |id: &str, key: &str, active: bool| json!({"id": id, "private_key": key, "active": active});
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (
            json!({"keys": [entry(KEY_ID, &truncated, true)]}),
            "key K2JCJMDEHXQW5F",
        ),
        (
            json!({"keys": [entry(KEY_ID, "not a key", true)]}),
            "key K2JCJMDEHXQW5F",
        ),
        (json!({"keys": [entry(KEY_ID, &small, true)]}), "2048"),
        (
            json!({"keys": [entry(KEY_ID, &p384, true)]}),
            "key K2JCJMDEHXQW5F",
        ),
        (
            json!({"keys": [entry(&rsa, KEY_ID, true)]}),
            "key #1: the id",
        ),
        (
            json!({"keys": [entry(KEY_ID, &rsa, false)]}),
            "no key is marked",
        ),
        (
            json!({"keys": [entry(KEY_ID, &rsa, true), entry(ECDSA_KEY_ID, &pem(&ecdsa_key()), true)]}),
            "2 keys are active (K2JCJMDEHXQW5F, K3ECDSATESTKEY)",
        ),
        (
            json!({"keys": [entry(KEY_ID, &rsa, true), entry(KEY_ID, &rsa, false)]}),
            "appears twice",
        ),
        (json!({"keys": []}), "no keys"),
        (json!({"key": []}), "JSON error"),
        (
            json!({"keys": [{"id": KEY_ID, "private_key": rsa, "active": "yes"}]}),
            "JSON error",
        ),
    ];
    for (doc, want) in cases {
        let rule = current(vec![doc.to_string()]);
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::Sequential, [&rule]);
        let err = ring(client).current().await.unwrap_err().to_string();
        assert!(err.contains(want), "{want:?} not in {err:?}");
        assert!(!err.contains("BEGIN"), "key material in {err:?}");
        assert!(!err.contains("MII"), "key material in {err:?}");
    }
}

/// The binary checks its keys before serving: a bad secret stops the start
/// with a message, not a function that answers 503 forever.
#[test]
fn the_function_refuses_to_start_with_bad_keys() {
    let two_active = keys_json(KEY_ID).replace("\"active\":false", "\"active\":true");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_signed-url-issuer"))
        .env_clear()
        .env("MEDIA_BUCKET", "media")
        .env("CDN_DOMAIN", "d111111abcdef8.cloudfront.net")
        .env("ENTITLEMENT_ANY_VIEWER", "true")
        .env("SIGNING_KEYS", &two_active)
        .env("LOG_HASH_KEY", "test-only-log-hash-key")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exactly one may be"), "{stderr}");
    let all = format!("{stderr}{}", String::from_utf8_lossy(&out.stdout));
    assert!(!all.contains("BEGIN"), "key material in the output");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_signed-url-issuer"))
        .env_clear()
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for var in [
        "MEDIA_BUCKET",
        "CDN_DOMAIN",
        "SIGNING_KEYS_SECRET_ARN",
        "no entitlement rule",
    ] {
        assert!(stderr.contains(var), "{var} not in {stderr}");
    }
}

/// Local runs: the key file is read again on refresh, so a rotation is an
/// edit; a missing file names its path.
#[tokio::test]
async fn a_key_file_is_reread_on_refresh() {
    use hlsgate_signed_url_issuer::keys::FileKeys;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    std::fs::write(&path, keys_json(KEY_ID)).unwrap();
    let ring = KeyRing::new(
        FileKeys(path.clone()),
        HashAlgorithm::Sha256,
        Refresh::DEFAULT,
    );
    let t = Instant::now();
    assert_eq!(active_id(&ring.current_at(t).await.unwrap()), KEY_ID);
    std::fs::write(&path, keys_json(ECDSA_KEY_ID)).unwrap();
    assert_eq!(
        active_id(&ring.current_at(t + Duration::from_secs(10)).await.unwrap()),
        KEY_ID,
        "cached within the TTL"
    );
    assert_eq!(
        active_id(&ring.current_at(t + Duration::from_secs(301)).await.unwrap()),
        ECDSA_KEY_ID
    );

    let missing = KeyRing::new(
        FileKeys(dir.path().join("nope.json")),
        HashAlgorithm::Sha256,
        Refresh::DEFAULT,
    );
    let err = missing.current().await.unwrap_err().to_string();
    assert!(err.contains("nope.json"), "{err}");
}
