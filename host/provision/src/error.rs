//! Why a provisioner failed, worded as Packer 1.6.6 words it.

use packer_communicator::CommError;
use thiserror::Error;

/// Packer's error when a provisioner that needs a communicator runs in a
/// build without one (`communicator: none`).
pub const NO_COMMUNICATOR: &str = "No communicator found for provisioners! This is usually because the\n\
`communicator` config was set to \"none\". If you have any provisioners\n\
then a communicator is required. Please fix this to continue.";

/// Packer's error when a shell script's connection drops without
/// `expect_disconnect`.
pub const UNEXPECTED_DISCONNECT: &str = "Script disconnected unexpectedly. \
If you expected your script to disconnect, i.e. from a restart, you can try adding \
`\"expect_disconnect\": true` or `\"valid_exit_codes\": [0, 2300218]` to the shell \
provisioner parameters.";

/// Why a provisioner failed. `Display` is the text Packer prints after
/// `Build 'name' errored after ...: `.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProvisionError {
    /// A script ended with a code outside `valid_exit_codes`. Packer 1.6.6
    /// prints no space after the first period (current Packer does).
    #[error("Script exited with non-zero exit status: {code}.Allowed exit codes are: {allowed}")]
    ExitStatus {
        /// The script's exit code.
        code: u32,
        /// The allowed codes, formatted as Go prints an `[]int` (`[0 2]`).
        allowed: String,
    },
    /// A remote script was killed by a signal (Packer has no wording for this).
    #[error("Script was terminated by signal {0}")]
    Signal(String),
    /// The connection dropped while a script ran, without `expect_disconnect`.
    #[error("{}", UNEXPECTED_DISCONNECT)]
    UnexpectedDisconnect,
    /// Uploading or starting a script kept failing until `start_retry_timeout`.
    #[error("Retryable error: {0}")]
    Retryable(String),
    /// A remote provisioner ran in a build without a communicator.
    #[error("{}", NO_COMMUNICATOR)]
    NoCommunicator,
    /// The build was cancelled (Go's `context.Canceled`).
    #[error("context canceled")]
    Cancelled,
    /// The provisioner's `timeout` expired (Go's `context.DeadlineExceeded`).
    #[error("context deadline exceeded")]
    TimedOut,
    /// A communicator call failed.
    #[error("{0}")]
    Comm(CommError),
    /// Any other failure, already worded (e.g. `Error executing script: ...`).
    #[error("{0}")]
    Other(String),
}

impl ProvisionError {
    /// An error with this exact text.
    pub fn msg(text: impl Into<String>) -> Self {
        ProvisionError::Other(text.into())
    }
}

impl From<CommError> for ProvisionError {
    fn from(e: CommError) -> Self {
        match e {
            CommError::Cancelled => ProvisionError::Cancelled,
            other => ProvisionError::Comm(other),
        }
    }
}

impl From<std::io::Error> for ProvisionError {
    fn from(e: std::io::Error) -> Self {
        ProvisionError::Other(e.to_string())
    }
}

/// Formats exit codes as Go's `%v` prints an `[]int`: `[0 2]`.
pub(crate) fn go_int_list(codes: &[u32]) -> String {
    let items: Vec<String> = codes.iter().map(u32::to_string).collect();
    format!("[{}]", items.join(" "))
}
