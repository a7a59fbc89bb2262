//! The IDX file format of MNIST and Fashion-MNIST: a big-endian header (two zero bytes,
//! a type byte, the number of dimensions, one `u32` size per dimension) followed by the
//! elements. `tensorc train` reads unsigned-byte images (magic `0x00000803`: count, rows,
//! columns) and labels (magic `0x00000801`: count), gzipped or not.
//!
//! Everything is validated before use: the magic number, the dimensions, the file's
//! length against the sizes in its header, and (by [`labelled`]) the label range and
//! that images and labels come in the same number.

use std::fmt;
use std::io::Read;
use std::path::Path;

/// Magic number of a 3-D unsigned-byte IDX file (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of a 1-D unsigned-byte IDX file (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// Unsigned-byte images, `count × rows × cols`, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Images {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

impl Images {
    /// Pixels per image.
    pub fn features(&self) -> usize {
        self.rows * self.cols
    }
}

/// Why an IDX file could not be read.
#[derive(Debug)]
pub enum IdxError {
    /// The file could not be opened or read (or its gzip stream is corrupt).
    Io(std::io::Error),
    /// The header's magic number is not the expected one.
    BadMagic { expected: u32, found: u32 },
    /// The file ends inside the header, or the data is shorter or longer than the
    /// header's sizes say.
    Length { expected: usize, found: usize },
    /// A dimension is zero or the sizes overflow.
    BadDimensions(String),
    /// A label is not below the number of classes.
    LabelOutOfRange { index: usize, label: u8, classes: usize },
    /// The images and labels files hold different numbers of examples.
    CountMismatch { images: usize, labels: usize },
    /// The file, or what it decompresses to, is larger than the memory available.
    TooLarge { limit: u64 },
}

impl fmt::Display for IdxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdxError::Io(e) => write!(f, "{e}"),
            IdxError::BadMagic { expected, found } => {
                write!(f, "not an IDX file of this kind: magic number {found:#010x}, expected {expected:#010x}")
            }
            IdxError::Length { expected, found } => {
                write!(f, "truncated or oversized IDX file: the header says {expected} bytes, the file has {found}")
            }
            IdxError::BadDimensions(message) => write!(f, "bad IDX dimensions: {message}"),
            IdxError::LabelOutOfRange { index, label, classes } => {
                write!(f, "label {label} of example {index} is out of range (expected 0..{classes})")
            }
            IdxError::CountMismatch { images, labels } => {
                write!(f, "{images} images but {labels} labels")
            }
            IdxError::TooLarge { limit } => {
                write!(f, "larger than the {limit} bytes of memory it may take (about half of what is available)")
            }
        }
    }
}

impl std::error::Error for IdxError {}

impl From<std::io::Error> for IdxError {
    fn from(e: std::io::Error) -> IdxError {
        IdxError::Io(e)
    }
}

/// The bytes of a file, gunzipped if it starts with the gzip magic (`1f 8b`); an error
/// instead of an allocation that cannot succeed when the file or its decompressed
/// bytes exceed [`tensorc::memory::input_limit`].
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, IdxError> {
    let limit = tensorc::memory::input_limit();
    if std::fs::metadata(path)?.len() > limit {
        return Err(IdxError::TooLarge { limit });
    }
    decompress_within(std::fs::read(path)?, limit)
}

/// `bytes` gunzipped if they start with the gzip magic, else as they are.
pub fn decompress(bytes: Vec<u8>) -> Result<Vec<u8>, IdxError> {
    decompress_within(bytes, tensorc::memory::input_limit())
}

/// [`decompress`], refusing to produce more than `limit` bytes (a small file can
/// decompress to far more than memory holds).
pub fn decompress_within(bytes: Vec<u8>, limit: u64) -> Result<Vec<u8>, IdxError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    let decoder = flate2::read::MultiGzDecoder::new(&bytes[..]);
    decoder.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(IdxError::TooLarge { limit });
    }
    Ok(out)
}

/// The header's sizes after checking the magic number and that the data that follows
/// is exactly as long as they say; the data's offset.
fn header(bytes: &[u8], magic: u32, dims: usize) -> Result<(Vec<usize>, usize), IdxError> {
    let header_len = 4 + 4 * dims;
    if bytes.len() < 4 {
        return Err(IdxError::Length { expected: header_len, found: bytes.len() });
    }
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let found = word(0);
    if found != magic {
        return Err(IdxError::BadMagic { expected: magic, found });
    }
    if bytes.len() < header_len {
        return Err(IdxError::Length { expected: header_len, found: bytes.len() });
    }
    let sizes: Vec<usize> = (0..dims).map(|d| word(4 + 4 * d) as usize).collect();
    // A file with no examples is useless for training; a zero-sized image is malformed.
    if let Some(d) = sizes.iter().position(|&s| s == 0) {
        return Err(IdxError::BadDimensions(format!("dimension {d} is 0 (sizes {sizes:?})")));
    }
    let elements = sizes
        .iter()
        .try_fold(1usize, |acc, &s| acc.checked_mul(s))
        .ok_or_else(|| IdxError::BadDimensions(format!("sizes {sizes:?} overflow")))?;
    let expected = header_len
        .checked_add(elements)
        .ok_or_else(|| IdxError::BadDimensions(format!("sizes {sizes:?} overflow")))?;
    if bytes.len() != expected {
        return Err(IdxError::Length { expected, found: bytes.len() });
    }
    Ok((sizes, header_len))
}

/// Parse an images file's (decompressed) bytes.
pub fn parse_images(bytes: &[u8]) -> Result<Images, IdxError> {
    let (sizes, offset) = header(bytes, IMAGES_MAGIC, 3)?;
    Ok(Images { count: sizes[0], rows: sizes[1], cols: sizes[2], pixels: bytes[offset..].to_vec() })
}

/// Parse a labels file's (decompressed) bytes.
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    let (_, offset) = header(bytes, LABELS_MAGIC, 1)?;
    Ok(bytes[offset..].to_vec())
}

/// Read an images file, gzipped or not.
pub fn read_images(path: &Path) -> Result<Images, IdxError> {
    parse_images(&read_maybe_gz(path)?)
}

/// Read a labels file, gzipped or not.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, IdxError> {
    parse_labels(&read_maybe_gz(path)?)
}

/// Check that images and labels pair up and every label is below `classes`.
pub fn labelled(images: &Images, labels: &[u8], classes: usize) -> Result<(), IdxError> {
    if images.count != labels.len() {
        return Err(IdxError::CountMismatch { images: images.count, labels: labels.len() });
    }
    if let Some((index, &label)) = labels.iter().enumerate().find(|(_, &l)| usize::from(l) >= classes) {
        return Err(IdxError::LabelOutOfRange { index, label, classes });
    }
    Ok(())
}

/// The bytes of an images file (the inverse of [`parse_images`]), for tests and tools.
pub fn encode_images(images: &Images) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + images.pixels.len());
    for word in [IMAGES_MAGIC, images.count as u32, images.rows as u32, images.cols as u32] {
        out.extend(word.to_be_bytes());
    }
    out.extend(&images.pixels);
    out
}

/// The bytes of a labels file (the inverse of [`parse_labels`]).
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend(LABELS_MAGIC.to_be_bytes());
    out.extend((labels.len() as u32).to_be_bytes());
    out.extend(labels);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images() -> Images {
        Images { count: 2, rows: 2, cols: 3, pixels: (0..12).collect() }
    }

    #[test]
    fn round_trip() {
        assert_eq!(parse_images(&encode_images(&images())).unwrap(), images());
        assert_eq!(parse_labels(&encode_labels(&[3, 1])).unwrap(), vec![3, 1]);
    }

    #[test]
    fn rejects_wrong_kind_and_lengths() {
        let labels = encode_labels(&[1, 2]);
        assert!(matches!(parse_images(&labels), Err(IdxError::BadMagic { found: LABELS_MAGIC, .. })));
        let bytes = encode_images(&images());
        assert!(matches!(parse_images(&bytes[..bytes.len() - 1]), Err(IdxError::Length { .. })));
        assert!(matches!(parse_images(&bytes[..10]), Err(IdxError::Length { .. })));
        assert!(matches!(parse_images(&bytes[..2]), Err(IdxError::Length { .. })));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(parse_images(&longer), Err(IdxError::Length { .. })));
        let empty = Images { count: 0, rows: 2, cols: 3, pixels: vec![] };
        assert!(matches!(parse_images(&encode_images(&empty)), Err(IdxError::BadDimensions(_))));
    }

    #[test]
    fn decompression_stops_at_the_limit() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 1 << 20]).unwrap();
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 4096);
        assert!(matches!(decompress_within(bomb.clone(), 1000), Err(IdxError::TooLarge { limit: 1000 })));
        assert_eq!(decompress_within(bomb, 1 << 20).unwrap().len(), 1 << 20);
    }

    #[test]
    fn label_checks() {
        assert!(labelled(&images(), &[0, 9], 10).is_ok());
        assert!(matches!(labelled(&images(), &[0, 10], 10), Err(IdxError::LabelOutOfRange { index: 1, .. })));
        assert!(matches!(labelled(&images(), &[0], 10), Err(IdxError::CountMismatch { images: 2, labels: 1 })));
    }
}
