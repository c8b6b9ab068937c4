//! Requests as the SDK sends them, recorded by an interceptor: what the
//! contract checks and the request snapshots read.

use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// One request as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub method: String,
    pub uri: String,
    /// `X-Amz-Target` (JSON protocols name the operation there).
    pub target: Option<String>,
    pub body: Vec<u8>,
}

/// Records each request a client sends; add it with `.interceptor(wire.clone())`.
#[derive(Debug, Clone, Default)]
pub struct Wire(Arc<Mutex<Vec<Sent>>>);

impl Wire {
    /// Every request so far, in order.
    pub fn sent(&self) -> Vec<Sent> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Intercept for Wire {
    fn name(&self) -> &'static str {
        "Wire"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = ctx.request();
        let sent = Sent {
            method: req.method().to_string(),
            uri: req.uri().to_string(),
            target: req.headers().get("x-amz-target").map(str::to_string),
            body: req.body().bytes().unwrap_or_default().to_vec(),
        };
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sent);
        Ok(())
    }
}
