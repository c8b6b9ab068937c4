use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::get_secret_value::{
    GetSecretValueError, GetSecretValueOutput,
};
use aws_sdk_secretsmanager::types::error::ResourceNotFoundException;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use hlsgate_aws::secret::{SecretError, SecretSource, SecretsManagerSecret};
use secrecy::ExposeSecret;

fn value(stage: &'static str, s: &'static str) -> aws_smithy_mocks::Rule {
    mock!(Client::get_secret_value)
        .match_requests(move |r| {
            r.secret_id() == Some("origin") && r.version_stage() == Some(stage)
        })
        .then_output(move || GetSecretValueOutput::builder().secret_string(s).build())
}

fn missing(stage: &'static str) -> aws_smithy_mocks::Rule {
    mock!(Client::get_secret_value)
        .match_requests(move |r| r.version_stage() == Some(stage))
        .then_error(|| {
            GetSecretValueError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("no such version")
                    .build(),
            )
        })
}

#[tokio::test]
async fn reads_current_and_previous() {
    let (cur, prev) = (value("AWSCURRENT", "new"), value("AWSPREVIOUS", "old"));
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&cur, &prev]);
    let v = SecretsManagerSecret::new(client, "origin")
        .fetch()
        .await
        .unwrap();
    assert_eq!(v.current.expose_secret(), "new");
    assert_eq!(v.previous.as_ref().map(|p| p.expose_secret()), Some("old"));
}

#[tokio::test]
async fn no_previous_version_before_the_first_rotation() {
    let (cur, prev) = (value("AWSCURRENT", "only"), missing("AWSPREVIOUS"));
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&cur, &prev]);
    let v = SecretsManagerSecret::new(client, "origin")
        .fetch()
        .await
        .unwrap();
    assert!(v.accepts(b"only"));
    assert!(v.previous.is_none());
}

#[tokio::test]
async fn a_missing_secret_is_an_error_naming_it() {
    let cur = missing("AWSCURRENT");
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&cur]);
    let err = SecretsManagerSecret::new(client, "origin")
        .fetch()
        .await
        .unwrap_err();
    assert_eq!(err, SecretError::NotFound("origin".into()));
}
