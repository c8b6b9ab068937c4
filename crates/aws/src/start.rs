//! What every function's `main` does before and after its handler, so the
//! four binaries start and stop alike.

use std::fmt::Display;
use std::process::ExitCode;
use std::time::Instant;

use crate::sdk::{self, AwsSettings};
use crate::{ConfigError, Env, S3Objects, telemetry};

/// A function's configuration, as `main` reads it.
pub trait FunctionConfig: Sized {
    /// Reads `env`; every problem is reported at once.
    fn read(env: Env) -> Result<Self, ConfigError>;
    /// How the function reaches AWS.
    fn aws(&self) -> AwsSettings;
    /// The pseudonym key to fetch at cold start, for a function that has one.
    fn pseudonym_key(&mut self) -> Option<&mut crate::viewer::PseudonymKey> {
        None
    }
}

/// `function_config!(Config)`: [`FunctionConfig`] for a config with an
/// inherent `from(Env)` and an `aws` field; `function_config!(Config,
/// log_hash)` also names its [`PseudonymKey`](crate::viewer::PseudonymKey)
/// field, which [`configure`] then loads.
#[macro_export]
macro_rules! function_config {
    ($type:ty) => {
        impl $crate::start::FunctionConfig for $type {
            fn read(env: $crate::Env) -> Result<Self, $crate::ConfigError> {
                <$type>::from(env)
            }
            fn aws(&self) -> $crate::sdk::AwsSettings {
                self.aws
            }
        }
    };
    ($type:ty, $key:ident) => {
        impl $crate::start::FunctionConfig for $type {
            fn read(env: $crate::Env) -> Result<Self, $crate::ConfigError> {
                <$type>::from(env)
            }
            fn aws(&self) -> $crate::sdk::AwsSettings {
                self.aws
            }
            fn pseudonym_key(&mut self) -> Option<&mut $crate::viewer::PseudonymKey> {
                Some(&mut self.$key)
            }
        }
    };
}

/// `app_debug!(App<S, O>)`: `Debug` for a handler's `App` that shows its
/// `config` only: its clients, caches and keys stay out of any log, and its
/// type parameters need no `Debug`.
#[macro_export]
macro_rules! app_debug {
    ($name:ident < $($g:ident),+ >) => {
        impl<$($g),+> ::std::fmt::Debug for $name<$($g),+> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("config", &self.config)
                    .finish_non_exhaustive()
            }
        }
    };
}

/// A function configured and connected: what `main` wires its handler from.
#[derive(Debug)]
pub struct Started<C> {
    pub config: C,
    pub sdk: aws_config::SdkConfig,
    at: Instant,
}

impl<C: FunctionConfig> Started<C> {
    /// The objects of `bucket`, through the SDK's S3 client.
    pub fn s3(&self, bucket: &str) -> S3Objects {
        S3Objects::new(
            sdk::s3_client(&self.sdk, self.config.aws().s3_path_style),
            bucket.to_string(),
        )
    }

    /// Microseconds since the start began, for the `ready` line.
    pub fn init_us(&self) -> u64 {
        u64::try_from(self.at.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

/// Installs the logs, reads the function's configuration from the process
/// environment, loads the SDK's and fetches the pseudonym key (for a
/// function that has one). A bad environment is reported, every problem at
/// once, and `None` stops the start; so does a key that cannot be fetched.
pub async fn configure<C: FunctionConfig>() -> Option<Started<C>> {
    let at = Instant::now();
    telemetry::init();
    let mut config = C::read(Env::from_process()).map_err(|e| e.report()).ok()?;
    let sdk = sdk::load(config.aws().timeouts).await;
    if let Some(key) = config.pseudonym_key()
        && let Err(e) = key.load(&sdk).await
    {
        exit(Err(e));
        return None;
    }
    Some(Started { config, sdk, at })
}

/// The exit code once the runtime has returned; a stop is logged and printed.
pub fn exit<E: Display>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "stopped");
            #[allow(clippy::print_stderr)]
            {
                eprintln!("{e}");
            }
            ExitCode::FAILURE
        }
    }
}
