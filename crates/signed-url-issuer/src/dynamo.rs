//! What the grants and the sessions tables share: their clients (AWS, or a
//! DynamoDB-compatible server on loopback), what a failed call means, and
//! making a table on a local server.

use std::time::Duration;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::get_item::GetItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use hlsgate_aws::error::{CallError, CallFailure};
use hlsgate_aws::sdk::Timeouts;

/// A DynamoDB client whose calls fit in `timeout`, retries included: an
/// attempt gets two fifths of it, so a throttled call is tried three times.
pub fn client(sdk: &aws_config::SdkConfig, timeout: Duration) -> Client {
    let t = Timeouts {
        connect: timeout.min(Timeouts::DEFAULT.connect),
        attempt: (timeout * 2 / 5).max(Duration::from_millis(50)),
        operation: timeout,
        max_attempts: 3,
    };
    let conf = aws_sdk_dynamodb::config::Builder::from(sdk)
        .timeout_config(t.timeout_config())
        .retry_config(t.retry_config())
        .build();
    Client::from_conf(conf)
}

/// A client of a DynamoDB-compatible server that is not AWS (dynalite on
/// loopback: tests, the local stack, `hlsgate grant --endpoint`).
pub fn local_client(endpoint: &str, timeout: Duration) -> Client {
    use hlsgate_aws::local_dynamodb::{ACCESS_KEY, REGION, SECRET_KEY};
    let creds =
        aws_sdk_dynamodb::config::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "local");
    let t = Timeouts {
        operation: timeout,
        attempt: timeout,
        ..Timeouts::DEFAULT
    };
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version_latest()
        .region(aws_config::Region::new(REGION))
        .credentials_provider(creds)
        .endpoint_url(endpoint)
        .timeout_config(t.timeout_config())
        .retry_config(t.retry_config())
        .build();
    Client::from_conf(conf)
}

/// A client of the server at `endpoint` when one is given (a local one),
/// else of AWS with the SDK's usual credentials and region: `hlsgate grant`
/// and `hlsgate sessions` (`--endpoint`).
pub async fn client_for(endpoint: Option<&str>, timeout: Duration) -> Client {
    match endpoint {
        Some(endpoint) => local_client(endpoint, timeout),
        None => client(&hlsgate_aws::sdk::load(Timeouts::DEFAULT).await, timeout),
    }
}

/// What a failed call to a table means for the caller: each store names
/// these in its own codes (`grants_throttled`, `sessions_table_missing`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// `ResourceNotFoundException`: the table is not there.
    Missing,
    Throttled,
    Timeout,
    /// `AccessDeniedException`: the role may not.
    Denied,
    Other,
}

impl Failure {
    pub fn of(e: &CallError) -> Failure {
        match (e.failure, e.code.as_deref()) {
            (_, Some("ResourceNotFoundException")) => Failure::Missing,
            (CallFailure::Throttled, _) => Failure::Throttled,
            (CallFailure::Timeout, _) => Failure::Timeout,
            (_, Some("AccessDeniedException")) => Failure::Denied,
            _ => Failure::Other,
        }
    }

    /// A start-up probe stops the start for these only: busy now is no
    /// reason not to start.
    pub fn is_permanent(self) -> bool {
        matches!(self, Failure::Missing | Failure::Denied)
    }
}

/// Creates an on-demand table keyed by the string attributes `hash` and
/// `range`, and waits until it is active: for local servers (the grants
/// and the sessions tables).
/// The start-up check of table `name`: one `GetItem` of `key`, an item no
/// one writes. Fails, with `unavailable`'s error, only when the table is
/// missing or unreadable for good ([`Failure::is_permanent`]); busy now is
/// logged and no reason not to start.
pub async fn probe<E: std::fmt::Display>(
    client: &Client,
    name: &str,
    key: HashMap<String, AttributeValue>,
    unavailable: impl FnOnce(&SdkError<GetItemError>) -> E,
) -> Result<(), E> {
    let Err(e) = client
        .get_item()
        .table_name(name)
        .set_key(Some(key))
        .send()
        .await
    else {
        return Ok(());
    };
    let err = unavailable(&e);
    if Failure::of(&CallError::from_sdk(&e)).is_permanent() {
        return Err(err);
    }
    tracing::warn!(table = name, error = %err, "the table did not answer the start-up probe");
    Ok(())
}

pub async fn create_table(
    client: &Client,
    name: &str,
    hash: &str,
    range: &str,
) -> Result<(), CallError> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| CallError::local(e.to_string()))
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(|e| CallError::local(e.to_string()))
    };
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(hash)?)
        .attribute_definitions(attribute(range)?)
        .key_schema(key(hash, KeyType::Hash)?)
        .key_schema(key(range, KeyType::Range)?)
        .send()
        .await
        .map_err(|e| CallError::from_sdk(&e))?;
    for _ in 0..100 {
        let d = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| CallError::from_sdk(&e))?;
        let status = d.table().and_then(|t| t.table_status());
        if status == Some(&aws_sdk_dynamodb::types::TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(CallError::local(format!(
        "the table {name} never became active"
    )))
}
