//! What every function's `main` does before and after its handler, so the
//! three binaries start and stop alike.

use std::fmt::Display;
use std::process::ExitCode;

use crate::{ConfigError, telemetry};

/// Installs the JSON logs, then reads the function's configuration. A bad
/// environment is reported, every problem at once, and `None` stops the start.
pub fn configure<C>(from_env: impl FnOnce() -> Result<C, ConfigError>) -> Option<C> {
    telemetry::init();
    from_env().map_err(|e| e.report()).ok()
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
