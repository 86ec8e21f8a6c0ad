//! Turns streamed command output into UI lines, as Packer's
//! `RemoteCmd.RunWithUi` does in 1.6.6: stdout lines go to `message`
//! (`    name: line`), stderr lines to `error` (red `==> name: line`); each
//! line is right-trimmed, text before its last `\r` is dropped, and empty
//! lines are skipped.

use std::sync::{Mutex, PoisonError};

use packer_communicator::Stream;
use packer_ui::BuildUi;

/// Buffers partial lines per stream across chunks.
pub(crate) struct LineSink<'a> {
    ui: &'a BuildUi,
    stdout: Mutex<Vec<u8>>,
    stderr: Mutex<Vec<u8>>,
}

impl<'a> LineSink<'a> {
    pub(crate) fn new(ui: &'a BuildUi) -> Self {
        LineSink {
            ui,
            stdout: Mutex::new(Vec::new()),
            stderr: Mutex::new(Vec::new()),
        }
    }

    fn buffer(&self, stream: Stream) -> &Mutex<Vec<u8>> {
        match stream {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        }
    }

    /// Adds a chunk, printing every line it completes.
    pub(crate) fn push(&self, stream: Stream, chunk: &[u8]) {
        let mut buf = self
            .buffer(stream)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        buf.extend_from_slice(chunk);
        while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            self.emit(stream, &line);
        }
    }

    /// Prints what is left of unfinished lines.
    pub(crate) fn finish(&self) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let rest = std::mem::take(
                &mut *self
                    .buffer(stream)
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            );
            if !rest.is_empty() {
                self.emit(stream, &rest);
            }
        }
    }

    fn emit(&self, stream: Stream, raw: &[u8]) {
        let line = clean_line(&String::from_utf8_lossy(raw));
        if line.is_empty() {
            return;
        }
        match stream {
            Stream::Stdout => self.ui.message(&line),
            Stream::Stderr => self.ui.error(&line),
        }
    }
}

/// Packer's `cleanOutputLine`: trim trailing whitespace, keep only the text
/// after the last carriage return.
pub(crate) fn clean_line(line: &str) -> String {
    let trimmed = line.trim_end();
    match trimmed.rfind('\r') {
        Some(i) => trimmed[i + 1..].to_string(),
        None => trimmed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_lines() {
        assert_eq!(clean_line("abc  \n"), "abc");
        assert_eq!(clean_line("10%\r50%\r100%\n"), "100%");
        assert_eq!(clean_line("   \n"), "");
    }
}
