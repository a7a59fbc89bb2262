//! A TPU-style systolic array model: how many cycles an R×C array of multiply-accumulate
//! units takes for a matrix product or a convolution, in closed form, equal to what
//! SCALE-Sim v3 (PyPI `scalesim` 3.0.0) reports for the same layer shape.
//!
//! A layer ([`Shape`]) becomes SCALE-Sim's operand matrices: an ifmap of `px × window`
//! (one row per output pixel, im2col), a filter of `window × filters` and an ofmap of
//! `px × filters`. A [`Dataflow`] decides which two of `px`, `window`, `filters` are laid
//! out spatially (Sr rows and Sc columns, folded onto the array) and which one streams in
//! time (T). [`simulate`] gives the folds, the cycles, SCALE-Sim's utilisation figures and
//! the SRAM and DRAM traffic; [`best`] the dataflow with the fewest cycles.
//!
//! - `model.rs`: Sr/Sc/T, folds, cycles, utilisation, SRAM accesses (exact);
//! - `dram.rs`: DRAM traffic and the cycles including the first prefetch, under
//!   SCALE-Sim's default buffers in its bandwidth-estimating mode (exact while the
//!   operands fit the buffers, an estimate beyond);
//! - `topology.rs`: SCALE-Sim's topology CSV files (GEMM and convolution).
//!
//! The formulas and how they were derived are in `docs/systolic.md`.

mod dram;
mod model;
mod topology;

use std::fmt;

pub use model::{best, simulate, Report, Traffic};
pub use topology::parse_topology;

/// Which operand stays in the processing elements while the other streams through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dataflow {
    /// Output stationary: each PE accumulates one output; Sr = pixels, Sc = filters.
    Os,
    /// Weight stationary (TPU v1): each PE holds one weight; Sr = window, Sc = filters.
    Ws,
    /// Input stationary: each PE holds one input; Sr = window, Sc = pixels.
    Is,
}

impl Dataflow {
    /// Every dataflow, in the order [`best`] prefers on ties.
    pub const ALL: [Dataflow; 3] = [Dataflow::Os, Dataflow::Ws, Dataflow::Is];

    /// `os`, `ws` or `is`, as SCALE-Sim's configuration spells it.
    pub fn name(self) -> &'static str {
        match self {
            Dataflow::Os => "os",
            Dataflow::Ws => "ws",
            Dataflow::Is => "is",
        }
    }

    /// The dataflow called `name` (`os`, `ws`, `is`).
    pub fn parse(name: &str) -> Option<Dataflow> {
        Dataflow::ALL.into_iter().find(|d| d.name() == name)
    }
}

impl fmt::Display for Dataflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The processing-element grid: `rows × cols` (TPU v1 is 256×256).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Array {
    pub rows: u64,
    pub cols: u64,
}

impl Array {
    /// An array of at least one row and one column, at most 2^16 of each.
    pub fn new(rows: u64, cols: u64) -> Result<Array, Error> {
        if !(1..=MAX_ARRAY).contains(&rows) || !(1..=MAX_ARRAY).contains(&cols) {
            return Err(Error(format!("an array is 1 to {MAX_ARRAY} rows by 1 to {MAX_ARRAY} columns, not {rows}×{cols}")));
        }
        Ok(Array { rows, cols })
    }

    /// `RxC` such as `256x256` (`×` and `X` also separate).
    pub fn parse(text: &str) -> Result<Array, Error> {
        let bad = || Error(format!("`{text}` is not an array size like 256x256"));
        let (rows, cols) = text.split_once(['x', 'X', '×']).ok_or_else(bad)?;
        let rows = rows.trim().parse().map_err(|_| bad())?;
        let cols = cols.trim().parse().map_err(|_| bad())?;
        Array::new(rows, cols)
    }

    /// Multiply-accumulate units.
    pub fn macs(self) -> u64 {
        self.rows * self.cols
    }
}

impl fmt::Display for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.rows, self.cols)
    }
}

/// The largest array side accepted.
const MAX_ARRAY: u64 = 1 << 16;
/// The largest layer dimension accepted, so that every count fits a `u64`.
const MAX_DIM: u64 = 1 << 32;

/// A layer as SCALE-Sim describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `[m, k] @ [k, n]` (a SCALE-Sim GEMM topology row `M, N, K`).
    Gemm { m: u64, n: u64, k: u64 },
    /// A convolution without padding (pad the ifmap size instead) over `batch` images of
    /// `ifmap[0] × ifmap[1] × channels` with `filters` kernels of `filter[0] × filter[1]`.
    /// SCALE-Sim's topology has one image and one stride; `batch` and a second stride are
    /// this model's extensions (the cycles are those of the im2col GEMM either way).
    Conv { batch: u64, ifmap: [u64; 2], filter: [u64; 2], channels: u64, filters: u64, stride: [u64; 2] },
}

impl Shape {
    /// The shape if every dimension is positive and a filter fits its ifmap.
    pub fn validate(self) -> Result<Shape, Error> {
        let dims: Vec<u64> = match self {
            Shape::Gemm { m, n, k } => vec![m, n, k],
            Shape::Conv { batch, ifmap, filter, channels, filters, stride } => {
                if filter[0] > ifmap[0] || filter[1] > ifmap[1] {
                    return Err(Error(format!(
                        "a {}×{} filter does not fit a {}×{} ifmap",
                        filter[0], filter[1], ifmap[0], ifmap[1]
                    )));
                }
                vec![batch, ifmap[0], ifmap[1], filter[0], filter[1], channels, filters, stride[0], stride[1]]
            }
        };
        if let Some(bad) = dims.iter().find(|&&d| d == 0 || d > MAX_DIM) {
            return Err(Error(format!("layer dimensions are 1 to {MAX_DIM}, not {bad}")));
        }
        Ok(self)
    }

    /// Output rows and columns per image: SCALE-Sim's `ceil((H - R + s) / s)`.
    pub fn ofmap(self) -> [u64; 2] {
        match self {
            Shape::Gemm { m, .. } => [m, 1],
            Shape::Conv { ifmap, filter, stride, .. } => {
                [0, 1].map(|i| (ifmap[i] - filter[i] + stride[i]).div_ceil(stride[i]))
            }
        }
    }

    /// The im2col GEMM: (output pixels, filters, window) = (M, N, K).
    pub fn gemm(self) -> [u64; 3] {
        match self {
            Shape::Gemm { m, n, k } => [m, n, k],
            Shape::Conv { batch, filter, channels, filters, .. } => {
                let [h, w] = self.ofmap();
                [batch * h * w, filters, filter[0] * filter[1] * channels]
            }
        }
    }

    /// Multiply-accumulates: M·N·K.
    pub fn macs(self) -> u64 {
        let [m, n, k] = self.gemm();
        m * n * k
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Shape::Gemm { m, n, k } => write!(f, "gemm M={m} N={n} K={k}"),
            Shape::Conv { batch, ifmap, filter, channels, filters, stride } => {
                write!(f, "conv {}x{}x{channels} * {}x{}x{filters}", ifmap[0], ifmap[1], filter[0], filter[1])?;
                if stride != [1, 1] {
                    write!(f, " /{}", stride[0])?;
                    if stride[1] != stride[0] {
                        write!(f, ",{}", stride[1])?;
                    }
                }
                if batch != 1 {
                    write!(f, " batch {batch}")?;
                }
                Ok(())
            }
        }
    }
}

/// An invalid array, layer or topology file; the message says which and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays() {
        assert_eq!(Array::parse("256x256"), Ok(Array { rows: 256, cols: 256 }));
        assert_eq!(Array::parse("8X16"), Ok(Array { rows: 8, cols: 16 }));
        assert_eq!(Array::parse("4×2"), Ok(Array { rows: 4, cols: 2 }));
        assert!(Array::parse("256").is_err());
        assert!(Array::parse("0x4").unwrap_err().0.contains("1 to"));
        assert!(Array::parse("ax4").is_err());
        assert!(Array::parse("4x99999999").is_err());
    }

    #[test]
    fn dataflow_names() {
        for d in Dataflow::ALL {
            assert_eq!(Dataflow::parse(d.name()), Some(d));
        }
        assert_eq!(Dataflow::parse("best"), None);
    }

    #[test]
    fn conv_output_size_is_scale_sims() {
        // ceil((14 - 3 + 2) / 2) = 7, one more than floor((14 - 3) / 2) + 1 = 6.
        let conv = Shape::Conv { batch: 1, ifmap: [14, 14], filter: [3, 3], channels: 5, filters: 12, stride: [2, 2] };
        assert_eq!(conv.ofmap(), [7, 7]);
        assert_eq!(conv.gemm(), [49, 12, 45]);
        assert_eq!(conv.to_string(), "conv 14x14x5 * 3x3x12 /2");
    }

    #[test]
    fn invalid_shapes() {
        assert!(Shape::Gemm { m: 0, n: 1, k: 1 }.validate().is_err());
        let big = Shape::Conv { batch: 1, ifmap: [2, 2], filter: [3, 3], channels: 1, filters: 1, stride: [1, 1] };
        assert!(big.validate().unwrap_err().0.contains("does not fit"));
    }
}
