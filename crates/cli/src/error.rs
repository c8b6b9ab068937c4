//! What a command can fail with, and the exit status each failure gets:
//! 0 done, 1 refused (an invalid playlist or signature: the command worked
//! and the answer is no), 2 usage (a bad argument or a file that is not
//! what it should be), 3 I/O or environment (a file that cannot be read or
//! written, a port, a missing tool).

use std::fmt::Display;
use std::process::ExitCode;

/// The answer is no: an invalid playlist, a signature that fails.
pub const EXIT_REFUSED: u8 = 1;
/// Bad usage or input (clap uses 2 as well).
pub const EXIT_USAGE: u8 = 2;
/// A file, a device, a port or a tool that is not there or not usable.
pub const EXIT_IO: u8 = 3;

/// The `--help` paragraph that says so.
pub const EXIT_HELP: &str = "Exit status: 0 done; 1 refused (an invalid playlist or signature); \
2 usage (a bad argument or input); 3 I/O or environment (a file, port or tool).";

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A bad argument, or input that is not what it should be.
    #[error("{0}")]
    Usage(String),
    /// A file that could not be read or written.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The machine: a runtime, a port, a tool.
    #[error("{0}")]
    Environment(String),
}

impl CliError {
    pub fn usage(message: impl Display) -> CliError {
        CliError::Usage(message.to_string())
    }

    /// A closure for `map_err` that names what was being done.
    pub fn io(what: impl Display) -> impl FnOnce(std::io::Error) -> CliError {
        move |source| CliError::Io {
            what: what.to_string(),
            source,
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Io { .. } | CliError::Environment(_) => EXIT_IO,
        })
    }
}

/// Output that could not be rendered is the machine's trouble.
impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        CliError::Environment(format!("writing JSON: {e}"))
    }
}

/// What every command returns.
pub type Outcome = Result<ExitCode, CliError>;
