//! What starting or running the local stack can fail with. The command
//! line maps [`DevError::Usage`] to exit status 2 and the rest to 3.

/// A failure of the local stack, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// A bad option or name: the caller's to fix.
    #[error("{0}")]
    Usage(String),
    /// A file or folder of the data directory, a port, a socket: what was
    /// being done, and the system's answer.
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    /// The machine or a component: a tool, the embedded S3, a handler's
    /// configuration, a transcode.
    #[error("{0}")]
    Environment(String),
}

impl DevError {
    pub fn usage(message: impl std::fmt::Display) -> DevError {
        DevError::Usage(message.to_string())
    }

    pub fn env(message: impl std::fmt::Display) -> DevError {
        DevError::Environment(message.to_string())
    }

    /// A closure for `map_err` that names what was being done.
    pub fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> DevError {
        move |source| DevError::Io(what.to_string(), source)
    }
}
