//! The JSON error body on hyper's own answers to requests it cannot parse. hyper writes those
//! itself, before any service runs (`Server::on_error` in hyper's `proto/h1/role.rs`): a bare
//! `400` (bad request line or header), `414` (URI over 64 KiB) or `431` (too many or too large
//! headers), with `content-length: 0`, and then closes the connection. [`ErrorBodies`] wraps the
//! socket of an HTTP connection and, when hyper writes exactly such a head, writes instead the
//! same status with `content-type: application/json` and the `{code, message, retryable}` body.
//!
//! Recognising the head is exact, not heuristic: hyper's automatic answer is the only one this
//! server produces that has one of those statuses, `content-length: 0` and no header but `date`
//! and `connection` (every router answer to an error has a JSON body, `content-type` and the
//! CORS `vary`), and it is the last thing written on its connection. [`ErrorBodies`] reports
//! itself as not vectored, so hyper flattens what it writes into one buffer (hyper's
//! `WriteStrategy::Flatten`) and hands it over in one `poll_write`; only the whole of such a
//! buffer is replaced. hyper reads the next request head only once the previous answer is
//! flushed, so the automatic answer has the buffer to itself — except when a handler answered
//! before reading the request body: then the end of that answer may still be buffered, and the
//! automatic answer behind it goes out as hyper wrote it.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::http::StatusCode;
use chat_protocol::{ApiError, ErrorCode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::http::error_body::{body_bytes, code_for_status};

/// Largest head hyper writes for an automatic answer (status line, content-length, date,
/// connection), with room to spare.
const MAX_AUTO_HEAD: usize = 256;

/// A socket whose writes are watched for hyper's bodiless automatic error answers.
#[derive(Debug)]
pub struct ErrorBodies<T> {
    io: T,
    /// A replacement answer accepted from hyper and not yet written to `io`.
    pending: Vec<u8>,
    /// How much of `pending` is written.
    sent: usize,
}

impl<T> ErrorBodies<T> {
    pub fn new(io: T) -> ErrorBodies<T> {
        ErrorBodies {
            io,
            pending: Vec::new(),
            sent: 0,
        }
    }
}

impl<T: AsyncWrite + Unpin> ErrorBodies<T> {
    /// Writes what is left of a replacement answer.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.pending.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ErrorBodies<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ErrorBodies<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        match with_json_body(buf) {
            Some(answer) => {
                // Taken whole, like a buffered writer: written out here or by the flush that
                // hyper does next.
                this.pending = answer;
                if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(buf.len()))
            }
            None => Pin::new(&mut this.io).poll_write(cx, buf),
        }
    }

    /// Not vectored, so that hyper hands over each head in one buffer.
    fn is_write_vectored(&self) -> bool {
        false
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// The JSON answer that replaces `head` when `head` is exactly one of hyper's automatic error
/// answers; `None` for anything else.
pub fn with_json_body(head: &[u8]) -> Option<Vec<u8>> {
    if head.len() > MAX_AUTO_HEAD || !head.starts_with(b"HTTP/1.") || !head.ends_with(b"\r\n\r\n") {
        return None;
    }
    let text = std::str::from_utf8(&head[..head.len() - 4]).ok()?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let status = status_line.split(' ').nth(1)?.parse::<u16>().ok()?;
    let message = match status {
        400 => "malformed HTTP request: bad request line or header",
        414 => "the request URI is too long",
        431 => "too many request headers, or headers too large",
        _ => return None,
    };
    let mut date = None;
    let mut zero_length = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" if value.trim() == "0" => zero_length = true,
            "date" => date = Some(line),
            "connection" => {}
            _ => return None,
        }
    }
    if !zero_length {
        return None;
    }
    let code: ErrorCode = code_for_status(StatusCode::from_u16(status).ok()?);
    let body = body_bytes(&ApiError::new(code, message));
    let mut answer = format!(
        "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    if let Some(date) = date {
        answer.push_str(date);
        answer.push_str("\r\n");
    }
    answer.push_str("\r\n");
    let mut answer = answer.into_bytes();
    answer.extend_from_slice(&body);
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "date: Tue, 05 May 2026 10:00:00 GMT";

    fn body_of(answer: &[u8]) -> serde_json::Value {
        let text = std::str::from_utf8(answer).unwrap();
        let (_, body) = text.split_once("\r\n\r\n").unwrap();
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn hypers_automatic_answers_get_their_code() {
        for (status_line, code) in [
            ("HTTP/1.1 400 Bad Request", "invalid_input"),
            ("HTTP/1.1 414 URI Too Long", "uri_too_long"),
            (
                "HTTP/1.1 431 Request Header Fields Too Large",
                "headers_too_large",
            ),
        ] {
            let head = format!("{status_line}\r\ncontent-length: 0\r\n{DATE}\r\n\r\n");
            let answer = with_json_body(head.as_bytes()).expect(status_line);
            let text = String::from_utf8(answer.clone()).unwrap();
            assert!(
                text.starts_with(&format!(
                    "{status_line}\r\ncontent-type: application/json\r\n"
                )),
                "{text}"
            );
            assert!(
                text.contains(DATE) && text.contains("connection: close\r\n"),
                "{text}"
            );
            let body = body_of(&answer);
            assert_eq!(
                (body["code"].as_str(), body["retryable"].as_bool()),
                (Some(code), Some(false))
            );
            let length = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .unwrap();
            assert_eq!(
                length.parse::<usize>().unwrap(),
                serde_json::to_vec(&body).unwrap().len()
            );
        }
        let no_date = with_json_body(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        assert!(no_date.is_some());
    }

    #[test]
    fn other_writes_pass_untouched() {
        for other in [
            // Router answers: a body, or headers hyper's automatic answer never has.
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 60\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\nvary: origin\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            // No content-length, or not the whole write.
            "HTTP/1.1 400 Bad Request\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
            "{\"type\":\"HTTP/1.1 400\"}",
        ] {
            assert!(with_json_body(other.as_bytes()).is_none(), "{other:?}");
        }
    }
}
