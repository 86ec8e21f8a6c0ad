//! The options every provisioner accepts: `pause_before`, `timeout` and
//! `max_retries` (Packer's `PausedProvisioner`, `TimeoutProvisioner` and
//! `RetriedProvisioner`).
//!
//! Wrapping order, inner to outer: pause-or-timeout, then retries — so each
//! retry pauses (or arms its timeout) again.
//!
//! **Quirk kept from Packer:** when `pause_before` is set, `timeout` is
//! ignored (Packer's core wraps with `if PauseBefore != 0 {...} else if
//! Timeout != 0 {...}`).
//!
//! Messages (through `say` unless noted):
//! - `Pausing <d> before the next provisioner...`
//! - `Setting a <d> timeout for the next provisioner...`; on expiry (`error`)
//!   `Cancelling provisioner after a timeout...`
//! - `Provisioner failed with "<first error>", retrying with <n> trie(s) left`
//!   then `retry limit reached.` Like Packer, every retry line quotes the
//!   *first* error and the first error is returned.
//!
//! Durations print as Go prints them (`1s`, `1m30s`).

use std::time::Duration;

use packer_ui::BuildUi;
use tokio_util::sync::CancellationToken;

use crate::config::{go_duration, parse_duration};
use crate::{ProvisionError, sleep_or_cancel};

/// `pause_before`, `timeout` and `max_retries`, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommonOptions {
    /// Wait this long before running (cancellable). Disables `timeout`.
    pub pause_before: Option<Duration>,
    /// Cancel the provisioner after this long.
    pub timeout: Option<Duration>,
    /// Run again up to this many times after a failure.
    pub max_retries: u32,
    /// Delay before each retry. Packer retries at once (zero, the default);
    /// the delay doubles after each retry, up to 30 s.
    pub retry_delay: Duration,
    /// HCL2's `continue_on_error`: a failure is reported and the build goes
    /// on (cancellation still stops it).
    pub continue_on_error: bool,
}

impl CommonOptions {
    /// Parses the template's texts: Go durations for `pause_before` and
    /// `timeout`, and `max_retries` (rendered with `ctx` first, as Packer
    /// does). Errors are worded as Packer's: ``failed to interpolate
    /// `max_retries`: ...``, `` `max_retries` must be a valid integer: ...``.
    pub fn parse(
        pause_before: Option<&str>,
        timeout: Option<&str>,
        max_retries: Option<&str>,
        ctx: &packer_interpolate::Context,
    ) -> Result<CommonOptions, Vec<String>> {
        let mut errors = Vec::new();
        let mut duration = |name: &str, text: Option<&str>| match text.filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => match parse_duration(t) {
                Ok(d) if d.is_zero() => None,
                Ok(d) => Some(d),
                Err(e) => {
                    errors.push(format!("error decoding '{name}': {e}"));
                    None
                }
            },
        };
        let pause_before = duration("pause_before", pause_before);
        let timeout = duration("timeout", timeout);
        let mut retries = 0;
        if let Some(text) = max_retries.filter(|t| !t.is_empty()) {
            match packer_interpolate::render(text, ctx) {
                Err(e) => errors.push(format!("failed to interpolate `max_retries`: {e}")),
                Ok(r) => match r.trim().parse::<i64>() {
                    Ok(n) => retries = n.clamp(0, i64::from(u32::MAX)) as u32,
                    Err(_) => errors.push(format!(
                        "`max_retries` must be a valid integer: strconv.Atoi: parsing \"{r}\": invalid syntax"
                    )),
                },
            }
        }
        if errors.is_empty() {
            Ok(CommonOptions {
                pause_before,
                timeout,
                max_retries: retries,
                retry_delay: Duration::ZERO,
                continue_on_error: false,
            })
        } else {
            Err(errors)
        }
    }
}

/// Runs `run` (given the cancellation token it must honour) under the
/// options' wrappers.
pub async fn run_wrapped<F, Fut>(
    opts: &CommonOptions,
    ui: &BuildUi,
    cancel: &CancellationToken,
    run: F,
) -> Result<(), ProvisionError>
where
    F: Fn(CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), ProvisionError>>,
{
    let run = &run;
    let once = || async move {
        if let Some(pause) = opts.pause_before {
            ui.say(&format!(
                "Pausing {} before the next provisioner...",
                go_duration(pause)
            ));
            sleep_or_cancel(pause, cancel).await?;
            run(cancel.clone()).await
        } else if let Some(limit) = opts.timeout {
            with_timeout(limit, ui, cancel, run).await
        } else {
            run(cancel.clone()).await
        }
    };

    if cancel.is_cancelled() {
        return Err(ProvisionError::Cancelled);
    }
    let first = match once().await {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let mut delay = opts.retry_delay;
    for left in (1..=opts.max_retries).rev() {
        if cancel.is_cancelled() {
            return Err(ProvisionError::Cancelled);
        }
        ui.say(&format!(
            "Provisioner failed with {}, retrying with {left} trie(s) left",
            go_quote(&first.to_string())
        ));
        if !delay.is_zero() {
            sleep_or_cancel(delay, cancel).await?;
            delay = (delay * 2).min(Duration::from_secs(30));
        }
        if once().await.is_ok() {
            return Ok(());
        }
    }
    if opts.max_retries > 0 {
        ui.say("retry limit reached.");
    }
    Err(first)
}

async fn with_timeout<F, Fut>(
    limit: Duration,
    ui: &BuildUi,
    cancel: &CancellationToken,
    run: &F,
) -> Result<(), ProvisionError>
where
    F: Fn(CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), ProvisionError>>,
{
    ui.say(&format!(
        "Setting a {} timeout for the next provisioner...",
        go_duration(limit)
    ));
    let child = cancel.child_token();
    let work = run(child.clone());
    tokio::pin!(work);
    let timer = tokio::time::sleep(limit);
    tokio::pin!(timer);
    let mut expired = false;
    let result = loop {
        tokio::select! {
            r = &mut work => break r,
            _ = &mut timer, if !expired => {
                expired = true;
                ui.error("Cancelling provisioner after a timeout...");
                child.cancel();
            }
        }
    };
    match result {
        Err(ProvisionError::Cancelled) if expired && !cancel.is_cancelled() => {
            Err(ProvisionError::TimedOut)
        }
        other => other,
    }
}

/// Go's `%q` for a string: double-quoted with `"`, `\` and control
/// characters escaped.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
