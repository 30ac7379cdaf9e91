//! zstd and gzip decompression of verified blobs, with limits against decompression bombs.
//!
//! What to undo is decided by [`Compression::detect`]: the media type when it declares zstd or
//! gzip (then the content must start with that compression's magic bytes: a layer labelled zstd
//! that is not zstd is an error, never silently copied), else, for a generic media type, the
//! magic bytes themselves. Decompression is CPU-bound and runs on a blocking thread.
//! It streams (constant memory) and stops as soon as the output passes the limit.

use std::io::{self, BufReader, Read, Write};

use oci_ref::media_type::Compression;

/// Default cap on the decompressed size of one blob: 256 GiB, above any machine image we
/// expect, below what fills a typical disk by surprise.
pub const DEFAULT_MAX_DECOMPRESSED_SIZE: u64 = 256 * 1024 * 1024 * 1024;

/// Default cap on decompressed size / compressed size. Real disk images (sparse raw images
/// included) stay far below it; a bomb is far above it.
pub const DEFAULT_MAX_DECOMPRESSION_RATIO: u64 = 1024;

/// Output below this size is never refused by the ratio guard (1 GiB): tiny compressed blobs of
/// mostly-empty images legitimately have huge ratios.
pub const DEFAULT_RATIO_FLOOR: u64 = 1024 * 1024 * 1024;

/// Buffer used when copying decompressed output (1 MiB).
const COPY_BUFFER: usize = 1024 * 1024;

/// Whether downloads decompress. Off by default: pulls give the exact bytes of the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Decompress {
    /// Write the blob as it is.
    #[default]
    Off,
    /// Decompress blobs whose media type declares zstd or gzip, or (for a generic media type,
    /// `oci_ref::media_type::is_generic`) whose verified bytes start with the zstd or gzip
    /// magic; others are written as they are.
    Auto,
}

/// Limits against decompression bombs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecompressLimits {
    /// Absolute cap on the output size.
    pub max_output: u64,
    /// Cap on output size / compressed size (applied above `ratio_floor`).
    pub max_ratio: u64,
    /// Output size up to which the ratio is not checked.
    pub ratio_floor: u64,
}

impl Default for DecompressLimits {
    fn default() -> Self {
        DecompressLimits {
            max_output: DEFAULT_MAX_DECOMPRESSED_SIZE,
            max_ratio: DEFAULT_MAX_DECOMPRESSION_RATIO,
            ratio_floor: DEFAULT_RATIO_FLOOR,
        }
    }
}

impl DecompressLimits {
    /// The largest output allowed for `compressed_size` input bytes.
    pub fn limit_for(&self, compressed_size: u64) -> u64 {
        let by_ratio = compressed_size
            .saturating_mul(self.max_ratio)
            .max(self.ratio_floor);
        by_ratio.min(self.max_output)
    }
}

/// Why decompression failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecompressError {
    /// The content does not start with the magic bytes of the declared compression.
    #[error("declared {expected} but the content starts with {found:02x?}")]
    MagicMismatch {
        /// The compression the media type declared.
        expected: Compression,
        /// The first bytes of the content (up to 4).
        found: Vec<u8>,
    },
    /// The output passed the limit (a decompression bomb, or a limit set too low).
    #[error("{compression} output exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The compression.
        compression: Compression,
        /// The limit that was passed.
        limit: u64,
    },
    /// The compressed stream is corrupt or truncated.
    #[error("corrupt {compression} stream")]
    Corrupt {
        /// The compression.
        compression: Compression,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },
    /// `oci-ref` names a compression this build cannot undo.
    #[error("{compression} decompression is not supported")]
    Unsupported {
        /// The compression.
        compression: Compression,
    },
    /// Reading the input or writing the output failed.
    #[error("IO error while decompressing")]
    Io(#[source] io::Error),
}

/// Decompresses `input` (the verified compressed bytes, `compressed_size` long) into `output`,
/// checking magic bytes and limits. Blocking: call it from a blocking thread.
/// Returns the number of bytes written.
///
/// # Errors
///
/// [`DecompressError::MagicMismatch`] when `input` does not start with the magic of `compression`,
/// [`DecompressError::Corrupt`] for a broken stream, [`DecompressError::TooLarge`] when the output
/// would pass the size or ratio limit of `limits`, [`DecompressError::Io`] when reading or writing
/// fails.
pub fn decompress_blocking(
    compression: Compression,
    mut input: impl Read,
    compressed_size: u64,
    mut output: impl Write,
    limits: &DecompressLimits,
) -> Result<u64, DecompressError> {
    let mut head = Vec::with_capacity(4);
    (&mut input)
        .take(4)
        .read_to_end(&mut head)
        .map_err(DecompressError::Io)?;
    if !head.starts_with(compression.magic()) {
        return Err(DecompressError::MagicMismatch {
            expected: compression,
            found: head,
        });
    }
    let input = BufReader::with_capacity(COPY_BUFFER, io::Cursor::new(head).chain(input));
    let limit = limits.limit_for(compressed_size);
    let corrupt = |source| DecompressError::Corrupt {
        compression,
        source,
    };
    let mut decoder: Box<dyn Read> = match compression {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::with_buffer(input).map_err(corrupt)?)
        }
        other => return Err(DecompressError::Unsupported { compression: other }),
    };
    let mut buf = vec![0u8; COPY_BUFFER];
    let mut written: u64 = 0;
    loop {
        let n = match decoder.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(corrupt(e)),
        };
        written = written.saturating_add(n as u64);
        if written > limit {
            return Err(DecompressError::TooLarge { compression, limit });
        }
        output.write_all(&buf[..n]).map_err(DecompressError::Io)?;
    }
    Ok(written)
}
