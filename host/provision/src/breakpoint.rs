//! The `breakpoint` provisioner: pauses the build until Enter is pressed.
//!
//! UI: `Breakpoint provisioner disabled; continuing...` (or, with a note,
//! `Breakpoint provisioner with note "<note>" disabled; continuing...`);
//! otherwise `Pausing at breakpoint provisioner with note "<note>".` (or
//! `Pausing at breakpoint provisioner.`) then `Press enter to continue.`.
//! It reads one line from stdin; at end of input (no terminal, closed
//! stdin) it continues. Cancellation ends the wait with
//! `Build cancelled`.

use packer_ui::BuildUi;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::config;
use crate::{ProvisionEnv, ProvisionError};

#[derive(Debug, Default, Deserialize)]
struct Raw {
    #[serde(default, deserialize_with = "config::opt_string")]
    note: Option<String>,
    #[serde(default, deserialize_with = "config::opt_bool")]
    disable: Option<bool>,
}

/// A prepared `breakpoint` provisioner.
#[derive(Debug, Clone)]
pub struct Breakpoint {
    note: String,
    disable: bool,
}

impl Breakpoint {
    /// Decodes `note` and `disable`.
    pub fn prepare(
        config: serde_json::Value,
        env: &ProvisionEnv,
    ) -> Result<Breakpoint, Vec<String>> {
        let rendered = config::render_config(&config, &env.ctx, &[])?;
        let raw: Raw = config::decode(rendered)?;
        Ok(Breakpoint {
            note: raw.note.unwrap_or_default(),
            disable: raw.disable.unwrap_or(false),
        })
    }

    /// Announces the breakpoint and waits for a line on stdin (or its end).
    pub async fn provision(
        &self,
        ui: &BuildUi,
        cancel: &CancellationToken,
    ) -> Result<(), ProvisionError> {
        if self.disable {
            if self.note.is_empty() {
                ui.say("Breakpoint provisioner disabled; continuing...");
            } else {
                ui.say(&format!(
                    "Breakpoint provisioner with note \"{}\" disabled; continuing...",
                    self.note
                ));
            }
            return Ok(());
        }
        if self.note.is_empty() {
            ui.say("Pausing at breakpoint provisioner.");
        } else {
            ui.say(&format!(
                "Pausing at breakpoint provisioner with note \"{}\".",
                self.note
            ));
        }
        ui.say("Press enter to continue.");
        // A blocking read on a helper thread; if the build is cancelled the
        // thread is left waiting for a line that no longer matters.
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            let _ = tx.send(());
        });
        tokio::select! {
            _ = rx => Ok(()),
            _ = cancel.cancelled() => Err(ProvisionError::msg("Build cancelled")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{env, ui};

    #[tokio::test]
    async fn disabled_breakpoints_continue() {
        let (ui, buf) = ui();
        let cancel = CancellationToken::new();
        let b = Breakpoint::prepare(serde_json::json!({"disable": true}), &env()).unwrap();
        b.provision(&ui, &cancel).await.unwrap();
        let b = Breakpoint::prepare(
            serde_json::json!({"disable": "true", "note": "here"}),
            &env(),
        )
        .unwrap();
        b.provision(&ui, &cancel).await.unwrap();
        assert_eq!(
            buf.text(),
            "==> b: Breakpoint provisioner disabled; continuing...\n\
             ==> b: Breakpoint provisioner with note \"here\" disabled; continuing...\n"
        );
    }

    #[test]
    fn unknown_keys_are_reported() {
        let err = Breakpoint::prepare(serde_json::json!({"nope": 1}), &env()).unwrap_err();
        assert_eq!(err, vec!["unknown configuration key: '\"nope\"'"]);
    }

    #[tokio::test]
    async fn cancelling_ends_the_wait() {
        let (ui, buf) = ui();
        let cancel = CancellationToken::new();
        cancel.cancel();
        let b = Breakpoint::prepare(serde_json::json!({"note": "n"}), &env()).unwrap();
        // Either stdin is at its end (continue) or cancellation wins.
        let _ = b.provision(&ui, &cancel).await;
        assert!(buf.text().starts_with(
            "==> b: Pausing at breakpoint provisioner with note \"n\".\n==> b: Press enter to continue.\n"
        ));
    }
}
