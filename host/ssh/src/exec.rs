//! Running a command on a session channel, streaming its output as it arrives.

use packer_communicator::{CommError, ExitStatus, OutputSink, Stream};
use russh::client::Msg;
use russh::{Channel, ChannelMsg, Sig};

/// Runs `command` on `channel` (optionally with a pseudo-terminal), passes
/// its output to `output` chunk by chunk and returns how it ended. A channel
/// that closes without an exit status or signal gives
/// [`ExitStatus::Disconnected`].
pub(crate) async fn run(
    mut channel: Channel<Msg>,
    command: &str,
    pty: bool,
    output: OutputSink<'_>,
) -> Result<ExitStatus, CommError> {
    let failed = |e: russh::Error| CommError::Io(format!("could not start the command: {e}"));
    if pty {
        channel
            .request_pty(false, "xterm", 80, 40, 0, 0, &[])
            .await
            .map_err(failed)?;
    }
    channel.exec(true, command).await.map_err(failed)?;
    // No input: tell the command so, as Packer (Go's ssh package) does.
    let _ = channel.eof().await;
    let mut code = None;
    let mut signal = None;
    loop {
        match channel.wait().await {
            Some(ChannelMsg::Data { data }) => output(Stream::Stdout, &data),
            Some(ChannelMsg::ExtendedData { data, ext: 1 }) => output(Stream::Stderr, &data),
            Some(ChannelMsg::ExitStatus { exit_status }) => code = Some(exit_status),
            Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                signal = Some(signal_name_of(&signal_name))
            }
            Some(ChannelMsg::Failure) if code.is_none() && signal.is_none() => {
                return Err(CommError::Io(
                    "the server refused to run the command".into(),
                ));
            }
            Some(ChannelMsg::Close) | None => break,
            Some(_) => {}
        }
    }
    Ok(match (code, signal) {
        (Some(code), _) => ExitStatus::Code(code),
        (None, Some(signal)) => ExitStatus::Signal(signal),
        (None, None) => ExitStatus::Disconnected,
    })
}

/// The signal's name without `SIG`, as OpenSSH sends it (`TERM`, `KILL`).
fn signal_name_of(sig: &Sig) -> String {
    match sig {
        Sig::ABRT => "ABRT".into(),
        Sig::ALRM => "ALRM".into(),
        Sig::FPE => "FPE".into(),
        Sig::HUP => "HUP".into(),
        Sig::ILL => "ILL".into(),
        Sig::INT => "INT".into(),
        Sig::KILL => "KILL".into(),
        Sig::PIPE => "PIPE".into(),
        Sig::QUIT => "QUIT".into(),
        Sig::SEGV => "SEGV".into(),
        Sig::TERM => "TERM".into(),
        Sig::USR1 => "USR1".into(),
        Sig::Custom(name) => name.trim_start_matches("SIG").to_string(),
    }
}

/// Quotes `s` for a POSIX shell: `'it'"'"'s'`.
pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("it's"), "'it'\"'\"'s'");
    }
}
