//! The `cancellation` capability: the user's Ctrl-C, observable by plugins.

use crate::plugin::bindings::packer::plugin::cancellation;
use crate::plugin::state::HostState;
use tokio_util::sync::CancellationToken;

/// A cancellation signal shared by the runner, every build's plugin and the
/// host capabilities working for it (SSH, HTTP, provisioners).
#[derive(Clone, Default, Debug)]
pub struct Cancel {
    token: CancellationToken,
}

impl Cancel {
    /// A signal that has not fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fires the signal (idempotent).
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// True once fired.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes when the signal fires.
    pub async fn cancelled(&self) {
        self.token.cancelled().await
    }

    /// The same signal as a token, for the capability crates.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

impl cancellation::Host for HostState {
    async fn is_cancelled(&mut self) -> bool {
        self.cancel.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_wake_when_cancelled() {
        let cancel = Cancel::new();
        let waiter = {
            let cancel = cancel.clone();
            tokio::spawn(async move { cancel.cancelled().await })
        };
        assert!(!cancel.is_cancelled());
        cancel.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("joined");
        assert!(cancel.is_cancelled());
    }
}
