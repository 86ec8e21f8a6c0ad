//! A progress bar for uploads, shown only when stdout is a terminal.

use std::io::IsTerminal as _;
use std::pin::Pin;
use std::task::{Context, Poll};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::{AsyncRead, ReadBuf};

/// Counts bytes read through it onto a progress bar (if any).
pub(crate) struct ProgressReader<R> {
    inner: R,
    bar: Option<ProgressBar>,
}

impl<R> ProgressReader<R> {
    /// Wraps `inner`; draws a bar named `name` of `total` bytes only when
    /// stdout is a terminal.
    pub(crate) fn new(inner: R, name: &str, total: u64) -> Self {
        let bar = std::io::stdout().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "{msg} {bytes}/{total_bytes} [{wide_bar}] {binary_bytes_per_sec}",
            ) {
                bar.set_style(style);
            }
            bar.set_message(name.to_string());
            bar
        });
        ProgressReader { inner, bar }
    }
}

impl<R> Drop for ProgressReader<R> {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for ProgressReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(bar)) = (&poll, &this.bar) {
            bar.inc((buf.filled().len() - before) as u64);
        }
        poll
    }
}
