//! SCALE-Sim's topology CSV files: a header line, then one layer per line, either
//! `name, M, N, K,` (a GEMM topology, SCALE-Sim's `-i gemm`) or
//! `name, IFMAP height, IFMAP width, Filter height, Filter width, Channels, Num filter,
//! Stride,` (a convolution topology). The trailing comma is optional here.

use crate::{Error, Shape};

/// The named layers of a topology file's text.
pub fn parse_topology(text: &str) -> Result<Vec<(String, Shape)>, Error> {
    let mut layers = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let at = |message: String| Error(format!("topology line {}: {message}", i + 1));
        let mut fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.last() == Some(&"") {
            fields.pop();
        }
        let (name, dims) = fields.split_first().ok_or_else(|| at("empty line".into()))?;
        let dims = dims
            .iter()
            .map(|d| d.parse::<u64>().map_err(|_| at(format!("`{d}` is not a positive integer"))))
            .collect::<Result<Vec<u64>, Error>>()?;
        let shape = match dims[..] {
            [m, n, k] => Shape::Gemm { m, n, k },
            [h, w, r, s, channels, filters, stride] => {
                Shape::Conv { batch: 1, ifmap: [h, w], filter: [r, s], channels, filters, stride: [stride, stride] }
            }
            _ => {
                return Err(at(format!(
                    "expected `name, M, N, K` or `name, IFMAP height, IFMAP width, Filter height, Filter width, Channels, Num filter, Stride`, got {} numbers",
                    dims.len()
                )))
            }
        };
        layers.push((name.to_string(), shape.validate().map_err(|e| at(e.0))?));
    }
    if layers.is_empty() {
        return Err(Error("the topology has no layers (the first line is a header)".into()));
    }
    Ok(layers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_and_conv_rows() {
        let text = "Layer, M, N, K,\nfc1, 64, 128, 1568,\n\nconv1, 30, 30, 3, 3, 1, 16, 1\n";
        let layers = parse_topology(text).expect("valid");
        assert_eq!(layers[0], ("fc1".to_string(), Shape::Gemm { m: 64, n: 128, k: 1568 }));
        let conv = Shape::Conv { batch: 1, ifmap: [30, 30], filter: [3, 3], channels: 1, filters: 16, stride: [1, 1] };
        assert_eq!(layers[1], ("conv1".to_string(), conv));
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_topology("h\nfc, 1, 2,\n").unwrap_err();
        assert!(e.0.starts_with("topology line 2: expected"), "{e}");
        let e = parse_topology("h\nfc, 1, x, 3,\n").unwrap_err();
        assert!(e.0.contains("`x` is not a positive integer"), "{e}");
        let e = parse_topology("h\nc, 2, 2, 3, 3, 1, 1, 1,\n").unwrap_err();
        assert!(e.0.contains("does not fit"), "{e}");
        assert!(parse_topology("header only\n").is_err());
    }
}
