//! One description of a failed AWS call, for any service: what went wrong,
//! whether trying again later can help, and the request id for support.

use std::fmt;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What kind of failure a call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallFailure {
    /// 429, 503 or a throttling code: the service asked us to slow down.
    Throttled,
    /// The attempt or the whole operation ran out of time.
    Timeout,
    /// No answer: connection refused, reset, DNS.
    Unreachable,
    /// 5xx other than 503.
    ServerError,
    /// 4xx: the request itself was refused (permissions, validation,
    /// a missing resource). Trying again unchanged will not help.
    Rejected,
    /// An answer that could not be read, or a request that could not be built.
    Other,
}

/// A failed AWS call, ready for a log line. Holds the service's code and
/// message (for operators; never sent to viewers) and its request id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CallError {
    pub failure: CallFailure,
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
}

impl CallError {
    /// Describes an SDK error of any service.
    pub fn from_sdk<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> CallError {
        let mut out = CallError {
            failure: CallFailure::Other,
            status: None,
            code: None,
            message: None,
            request_id: None,
        };
        // The request id of any answer, whatever went wrong with it.
        out.request_id = err.raw_response().and_then(|raw| {
            raw.headers()
                .get("x-amzn-requestid")
                .or_else(|| raw.headers().get("x-amz-request-id"))
                .map(str::to_string)
        });
        match err {
            SdkError::ServiceError(se) => {
                let status = se.raw().status().as_u16();
                let meta = se.err().meta();
                let code = meta.code().unwrap_or_default();
                out.status = Some(status);
                out.code = meta.code().map(str::to_string);
                out.message = meta.message().map(str::to_string);
                if let Some(id) = meta.extra("aws_request_id") {
                    out.request_id = Some(id.to_string());
                }
                out.failure = if status == 429
                    || status == 503
                    || matches!(
                        code,
                        "Throttling"
                            | "ThrottlingException"
                            | "TooManyRequestsException"
                            | "SlowDown"
                            | "RequestLimitExceeded"
                            | "ProvisionedThroughputExceededException"
                    ) {
                    CallFailure::Throttled
                } else if status >= 500 {
                    CallFailure::ServerError
                } else if status >= 400 {
                    CallFailure::Rejected
                } else {
                    CallFailure::Other
                };
            }
            SdkError::TimeoutError(_) => out.failure = CallFailure::Timeout,
            SdkError::DispatchFailure(d) if d.is_timeout() => out.failure = CallFailure::Timeout,
            SdkError::DispatchFailure(d) => {
                out.failure = CallFailure::Unreachable;
                out.message = Some(
                    if d.is_io() {
                        "I/O error"
                    } else {
                        "dispatch failure"
                    }
                    .into(),
                );
            }
            SdkError::ResponseError(r) => out.status = Some(r.raw().status().as_u16()),
            _ => {}
        }
        out
    }

    /// A request that could not be built here, before anything was sent.
    pub fn local(message: impl Into<String>) -> CallError {
        CallError {
            failure: CallFailure::Rejected,
            status: None,
            code: None,
            message: Some(message.into()),
            request_id: None,
        }
    }

    /// True when the same call may succeed later: throttling, time-outs,
    /// unreachable or failing servers, unreadable answers.
    pub fn is_transient(&self) -> bool {
        self.failure != CallFailure::Rejected
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.failure {
            CallFailure::Throttled => "throttled",
            CallFailure::Timeout => "timed out",
            CallFailure::Unreachable => "service unreachable",
            CallFailure::ServerError => "service error",
            CallFailure::Rejected => "refused",
            CallFailure::Other => "failed",
        };
        f.write_str(what)?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status}")?;
            if let Some(code) = &self.code {
                write!(f, " {code}")?;
            }
            f.write_str(")")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}
