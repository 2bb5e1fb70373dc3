//! The protocol's framing on a byte stream (`Content-Length: N\r\n\r\n`
//! then N bytes of JSON), read defensively: whatever an editor or anyone
//! else sends, the server answers and goes on, or stops with an error; it
//! never allocates more than [`MAX_MESSAGE`] for one message.
//!
//! - A message longer than [`MAX_MESSAGE`] is refused with an error
//!   response (`-32600`) and its content skipped in small chunks.
//! - A header block without a valid `Content-Length`, or a header line
//!   longer than [`MAX_HEADER_LINE`], is answered with a parse error
//!   (`-32700`); reading resumes at the next header block.
//! - Content that is not JSON is answered with a parse error (`-32700`);
//!   JSON that is not a JSON-RPC message with an invalid request
//!   (`-32600`), with the message's `id` when it has one.

use std::io::{self, BufRead, Read, Write};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use lsp_server::{Connection, Message};

/// The largest message the server reads: 64 MiB, far above any topology an
/// editor sends (a 5,000-cluster topology is about 1.5 MiB).
pub const MAX_MESSAGE: usize = 64 << 20;
/// The longest header line the server reads.
pub const MAX_HEADER_LINE: usize = 8 << 10;

/// JSON-RPC's parse error.
pub const PARSE_ERROR: i32 = -32700;
/// JSON-RPC's invalid request.
pub const INVALID_REQUEST: i32 = -32600;

/// What one read from the stream gave.
#[derive(Debug)]
pub enum Frame {
    /// A message for the server.
    Message(Message),
    /// Something the server answers with an error and then goes on.
    Refused {
        /// The request's id, when the content had one.
        id: serde_json::Value,
        /// The JSON-RPC error code (`PARSE_ERROR`, `INVALID_REQUEST`, ...).
        code: i32,
        /// Why it is refused, for the client.
        message: String,
    },
}

/// Read the next frame; `None` at the end of the stream.
pub fn read_frame(input: &mut impl BufRead) -> io::Result<Option<Frame>> {
    let mut length: Option<Result<u64, String>> = None;
    let mut bad_header: Option<String> = None;
    let mut line = Vec::new();
    let mut any_header = false;
    loop {
        line.clear();
        let n = input
            .by_ref()
            .take(MAX_HEADER_LINE as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(None);
        }
        if line.len() > MAX_HEADER_LINE && !line.ends_with(b"\n") {
            // Skip the rest of the overlong line.
            skip_line(input)?;
            bad_header.get_or_insert_with(|| {
                format!("a header line is longer than {MAX_HEADER_LINE} bytes")
            });
            any_header = true;
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if !any_header {
                // Blank lines between messages.
                continue;
            }
            break;
        }
        any_header = true;
        match text.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                length =
                    Some(value.trim().parse::<u64>().map_err(|_| {
                        format!("`Content-Length: {}` is not a length", value.trim())
                    }));
            }
            Some(_) => {}
            None => {
                bad_header.get_or_insert_with(|| format!("`{}` is not a header", excerpt(text)));
            }
        }
    }
    let refused = |message: String| Frame::Refused {
        id: serde_json::Value::Null,
        code: PARSE_ERROR,
        message,
    };
    if let Some(message) = bad_header {
        if let Some(Ok(n)) = length {
            skip(input, n)?;
        }
        return Ok(Some(refused(message)));
    }
    let n = match length {
        None => return Ok(Some(refused("no Content-Length header".to_string()))),
        Some(Err(message)) => return Ok(Some(refused(message))),
        Some(Ok(n)) => n,
    };
    if n > MAX_MESSAGE as u64 {
        skip(input, n)?;
        return Ok(Some(Frame::Refused {
            id: serde_json::Value::Null,
            code: INVALID_REQUEST,
            message: format!(
                "a message of {n} bytes is longer than the limit of {MAX_MESSAGE} bytes (64 MiB)"
            ),
        }));
    }
    let mut content = Vec::with_capacity(n as usize);
    input.by_ref().take(n).read_to_end(&mut content)?;
    if (content.len() as u64) < n {
        return Ok(None);
    }
    Ok(Some(decode(&content)))
}

/// A message from its JSON content.
pub fn decode(content: &[u8]) -> Frame {
    let value: serde_json::Value = match serde_json::from_slice(content) {
        Ok(value) => value,
        Err(error) => {
            return Frame::Refused {
                id: serde_json::Value::Null,
                code: PARSE_ERROR,
                message: format!("the message is not JSON: {error}"),
            };
        }
    };
    let id = value.get("id").cloned().unwrap_or(serde_json::Value::Null);
    match serde_json::from_value::<Message>(value) {
        Ok(message) => Frame::Message(message),
        Err(error) => Frame::Refused {
            id: match id {
                id @ (serde_json::Value::Number(_) | serde_json::Value::String(_)) => id,
                _ => serde_json::Value::Null,
            },
            code: INVALID_REQUEST,
            message: format!("not a JSON-RPC request, response or notification: {error}"),
        },
    }
}

/// The error response to a refused frame.
pub fn error_response(id: &serde_json::Value, code: i32, message: &str) -> String {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message },
    })
    .to_string()
}

/// Write one frame.
pub fn write_frame(output: &mut impl Write, content: &str) -> io::Result<()> {
    write!(output, "Content-Length: {}\r\n\r\n{content}", content.len())?;
    output.flush()
}

fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(60).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// Skip `n` bytes in chunks, without holding them.
fn skip(input: &mut impl BufRead, n: u64) -> io::Result<()> {
    io::copy(&mut input.by_ref().take(n), &mut io::sink())?;
    Ok(())
}

fn skip_line(input: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buffer = input.fill_buf()?;
        if buffer.is_empty() {
            return Ok(());
        }
        match buffer.iter().position(|&b| b == b'\n') {
            Some(i) => {
                input.consume(i + 1);
                return Ok(());
            }
            None => {
                let len = buffer.len();
                input.consume(len);
            }
        }
    }
}

/// The threads that carry a stream connection.
pub struct Threads {
    reader: JoinHandle<io::Result<()>>,
    writer: JoinHandle<io::Result<()>>,
}

impl Threads {
    /// Wait for the writer to flush what the server sent. The reader is
    /// left to end with the process: it may be blocked on a read.
    pub fn join_writer(self) -> io::Result<()> {
        drop(self.reader);
        self.writer
            .join()
            .map_err(|_| io::Error::other("the writer thread panicked"))?
    }
}

/// A connection over any byte streams (stdin and stdout for `topoc lsp`),
/// framed by [`read_frame`] and [`write_frame`]. Refused frames are answered
/// by the reader thread itself; the server sees only messages.
pub fn connection<R, W>(input: R, output: W) -> (Connection, Threads)
where
    R: BufRead + Send + 'static,
    W: Write + Send + 'static,
{
    let output = Arc::new(Mutex::new(output));
    let (to_server, from_client) = crossbeam_channel::unbounded::<Message>();
    let (to_client, from_server) = crossbeam_channel::unbounded::<Message>();
    let reader_output = Arc::clone(&output);
    let reader = std::thread::spawn(move || -> io::Result<()> {
        let mut input = input;
        while let Some(frame) = read_frame(&mut input)? {
            match frame {
                Frame::Message(message) => {
                    if to_server.send(message).is_err() {
                        break;
                    }
                }
                Frame::Refused { id, code, message } => {
                    let mut out = reader_output.lock().unwrap_or_else(|e| e.into_inner());
                    write_frame(&mut *out, &error_response(&id, code, &message))?;
                }
            }
        }
        Ok(())
    });
    let writer = std::thread::spawn(move || -> io::Result<()> {
        for message in from_server {
            let mut content = Vec::new();
            message.write(&mut content)?;
            let mut out = output.lock().unwrap_or_else(|e| e.into_inner());
            out.write_all(&content)?;
            out.flush()?;
        }
        Ok(())
    });
    (
        Connection {
            sender: to_client,
            receiver: from_client,
        },
        Threads { reader, writer },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Frame> {
        let mut reader = io::BufReader::new(input);
        let mut out = Vec::new();
        while let Some(frame) = read_frame(&mut reader).unwrap() {
            out.push(frame);
        }
        out
    }

    fn frame(content: &str) -> Vec<u8> {
        format!("Content-Length: {}\r\n\r\n{content}", content.len()).into_bytes()
    }

    fn refused(frame: &Frame) -> (i32, &str) {
        match frame {
            Frame::Refused { code, message, .. } => (*code, message.as_str()),
            Frame::Message(m) => panic!("a message: {m:?}"),
        }
    }

    const EXIT: &str = r#"{"jsonrpc":"2.0","method":"exit"}"#;

    #[test]
    fn a_huge_length_is_refused_without_allocating_it() {
        let mut input = b"Content-Length: 9223372036854775807\r\n\r\n{}".to_vec();
        input.extend(frame(EXIT));
        let got = frames(&input);
        // The announced length swallows the rest of the stream.
        assert_eq!(got.len(), 1);
        let (code, message) = refused(&got[0]);
        assert_eq!(code, INVALID_REQUEST);
        assert!(message.contains("limit"), "{message}");
    }

    #[test]
    fn a_length_over_the_limit_skips_exactly_its_content() {
        let content = " ".repeat(MAX_MESSAGE + 1);
        let mut input = frame(&content);
        input.extend(frame(EXIT));
        let got = frames(&input);
        assert_eq!(got.len(), 2);
        assert_eq!(refused(&got[0]).0, INVALID_REQUEST);
        assert!(matches!(got[1], Frame::Message(Message::Notification(_))));
    }

    #[test]
    fn malformed_content_and_headers_are_answered_and_reading_goes_on() {
        let mut input = frame("{not json");
        input.extend(frame("{}"));
        input.extend(frame(r#"{"jsonrpc":"2.0","id":7,"method":5}"#));
        input.extend(b"Content-Length: ten\r\n\r\n");
        input.extend(b"garbage line\r\nContent-Length: 2\r\n\r\n{}");
        input.extend(b"X-Other: 1\r\n\r\n");
        input.extend(format!("{}\r\n\r\n", "h".repeat(MAX_HEADER_LINE * 2)).as_bytes());
        input.extend(frame(EXIT));
        let got = frames(&input);
        let codes: Vec<i32> = got[..got.len() - 1].iter().map(|f| refused(f).0).collect();
        assert_eq!(
            codes,
            [
                PARSE_ERROR,
                INVALID_REQUEST,
                INVALID_REQUEST,
                PARSE_ERROR,
                PARSE_ERROR,
                PARSE_ERROR,
                PARSE_ERROR
            ]
        );
        match &got[2] {
            Frame::Refused { id, .. } => assert_eq!(id, &serde_json::json!(7)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            got.last(),
            Some(Frame::Message(Message::Notification(_)))
        ));
    }

    #[test]
    fn a_stream_cut_short_ends_reading() {
        assert!(frames(b"Content-Length: 100\r\n\r\n{").is_empty());
        assert!(frames(b"").is_empty());
    }
}
