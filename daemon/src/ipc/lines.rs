//! Reads `\n`-terminated lines with a hard size limit: a client that sends a longer line is
//! stopped after at most `max` bytes, so it cannot make the daemon hold unbounded data.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("a line is longer than {max} bytes")]
    TooLong { max: usize },
    #[error("reading from the client failed: {0}")]
    Io(#[from] std::io::Error),
}

pub struct LineReader<R> {
    inner: R,
    max: usize,
    line: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// `max` counts the line's bytes without the `\n` (and without a `\r` before it).
    pub fn new(inner: R, max: usize) -> Self {
        Self {
            inner,
            max,
            line: Vec::new(),
        }
    }

    /// The next line without its terminator, `None` at the end of the stream. A last line
    /// without `\n` is still returned.
    pub async fn next_line(&mut self) -> Result<Option<Vec<u8>>, LineError> {
        self.line.clear();
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                if self.line.is_empty() {
                    return Ok(None);
                }
                return self.take().map(Some);
            }
            match available.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    push(&mut self.line, self.max, &available[..end])?;
                    self.inner.consume(end + 1);
                    return self.take().map(Some);
                }
                None => {
                    let n = available.len();
                    push(&mut self.line, self.max, &available[..n])?;
                    self.inner.consume(n);
                }
            }
        }
    }

    fn take(&mut self) -> Result<Vec<u8>, LineError> {
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        if self.line.len() > self.max {
            // Reachable through the `\r` allowance: max+1 bytes that did not end in `\r`.
            return Err(LineError::TooLong { max: self.max });
        }
        Ok(std::mem::take(&mut self.line))
    }
}

/// Appends to the line being read, refusing to grow past the limit (plus one byte of room
/// for a `\r` before the `\n`).
fn push(line: &mut Vec<u8>, max: usize, bytes: &[u8]) -> Result<(), LineError> {
    if line.len() + bytes.len() > max.saturating_add(1) {
        return Err(LineError::TooLong { max });
    }
    line.extend_from_slice(bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::BufReader;

    async fn all_lines(input: &[u8], max: usize, buf: usize) -> Result<Vec<Vec<u8>>, String> {
        let mut reader = LineReader::new(BufReader::with_capacity(buf, input), max);
        let mut out = Vec::new();
        loop {
            match reader.next_line().await {
                Ok(Some(line)) => out.push(line),
                Ok(None) => return Ok(out),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn lines_round_trip(
            lines in prop::collection::vec(prop::collection::vec(
                any::<u8>().prop_filter("no line ends", |b| *b != b'\n' && *b != b'\r'), 0..40), 0..10),
            buf in 1usize..16,
        ) {
            let mut input = Vec::new();
            for line in &lines {
                input.extend_from_slice(line);
                input.push(b'\n');
            }
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let read = runtime.block_on(all_lines(&input, 40, buf)).unwrap();
            prop_assert_eq!(read, lines);
        }
    }

    #[tokio::test]
    async fn splits_lines_across_buffer_boundaries() {
        let input = b"abc\r\ndefgh\n\nlast";
        for buf in [1, 2, 3, 64] {
            let lines = all_lines(input, 10, buf).await.unwrap();
            assert_eq!(
                lines,
                vec![
                    b"abc".to_vec(),
                    b"defgh".to_vec(),
                    Vec::new(),
                    b"last".to_vec()
                ]
            );
        }
    }

    #[tokio::test]
    async fn a_line_of_exactly_max_bytes_passes() {
        let lines = all_lines(b"12345\n12345\r\n", 5, 2).await.unwrap();
        assert_eq!(lines, vec![b"12345".to_vec(), b"12345".to_vec()]);
        assert!(all_lines(b"123456\n", 5, 2).await.is_err());
        assert!(all_lines(b"123456", 5, 2).await.is_err());
    }

    #[tokio::test]
    async fn a_longer_line_is_refused_without_reading_it_all() {
        for buf in [1, 4, 8192] {
            let err = all_lines(b"ok\n1234567\n", 5, buf).await.unwrap_err();
            assert_eq!(err, "a line is longer than 5 bytes");
        }
        // Stops reading early: a huge line never gets buffered whole.
        let big = vec![b'x'; 10 * 1024 * 1024];
        let mut reader = LineReader::new(BufReader::with_capacity(4096, &big[..]), 1024);
        assert!(matches!(
            reader.next_line().await,
            Err(LineError::TooLong { max: 1024 })
        ));
        assert!(reader.line.capacity() < 64 * 1024);
    }
}
