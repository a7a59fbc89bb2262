//! DRAM traffic as SCALE-Sim v3 reports it with its default buffers (ifmap and filter
//! SRAMs of 256 KiB, ofmap 128 KiB, one-byte words, half of each buffer active) in its
//! bandwidth-estimating mode (`InterfaceBandwidth: CALC`).
//!
//! A read buffer records the distinct addresses the array asks for in sets of
//! `⌊bytes / 100⌋` elements; while fewer than 50 sets fill (the active half), nothing is
//! fetched during the run and, at the end, every set is fetched at 10 elements a cycle
//! ending at cycle −1. So an operand that fits is read from DRAM once (its distinct
//! addresses) and its prefetch starts `⌈sets · set_size / 10⌉` cycles early. The ofmap
//! buffer drains C elements a cycle; with at most half of it written (64 Ki elements)
//! it drains once, after the last compute cycle, for `⌈writes / C⌉` cycles. SCALE-Sim's
//! "Total Cycles (incl. prefetch)" runs from the earlier read prefetch to that drain's
//! end. Beyond these limits SCALE-Sim refetches by its set-replacement order, which this
//! model estimates as one pass over the operand per outer fold that streams it again.

use crate::{Array, Dataflow, Shape, Traffic};

/// Elements (bytes) of the ifmap, filter and ofmap buffers.
const IFMAP_ELEMENTS: u64 = 256 * 1024;
const FILTER_ELEMENTS: u64 = 256 * 1024;
const OFMAP_ELEMENTS: u64 = 128 * 1024;
/// Sets of distinct addresses in the active half of a read buffer.
const ACTIVE_SETS: u64 = 50;
/// Elements a read buffer fetches per cycle in the estimating mode.
const READ_BANDWIDTH: u64 = 10;

pub struct Memory {
    pub traffic: Traffic,
    pub cycles_with_prefetch: u64,
    pub exact: bool,
}

/// One read operand: its distinct addresses and how many times its folds stream it.
struct Operand {
    unique: u64,
    passes: u64,
    set_size: u64,
}

impl Operand {
    fn new(unique: u64, passes: u64, buffer: u64) -> Operand {
        Operand { unique, passes, set_size: buffer / 100 }
    }

    fn fits(&self) -> bool {
        self.unique < ACTIVE_SETS * self.set_size
    }

    fn reads(&self) -> u64 {
        if self.fits() {
            self.unique
        } else {
            self.unique * self.passes
        }
    }

    /// Cycles the first prefetch starts before cycle 0.
    fn lead(&self) -> u64 {
        let sets = self.unique.div_ceil(self.set_size.max(1)).min(ACTIVE_SETS);
        (sets * self.set_size).div_ceil(READ_BANDWIDTH)
    }
}

pub fn traffic(shape: Shape, array: Array, dataflow: Dataflow, row_folds: u64, col_folds: u64, cycles: u64) -> Memory {
    let [px, filters, window] = shape.gemm();
    let filter_slice_fits = window * array.cols.min(filters) < ACTIVE_SETS * (FILTER_ELEMENTS / 100);
    let (ifmap_passes, filter_passes, ofmap_writes) = match dataflow {
        Dataflow::Os => (col_folds, if filter_slice_fits { 1 } else { row_folds }, px * filters),
        Dataflow::Ws => (col_folds, 1, row_folds * px * filters),
        Dataflow::Is => (1, col_folds, row_folds * px * filters),
    };
    let ifmap = Operand::new(ifmap_unique(shape), ifmap_passes, IFMAP_ELEMENTS);
    let filter = Operand::new(window * filters, filter_passes, FILTER_ELEMENTS);
    let drain_half = OFMAP_ELEMENTS / 2;
    let drain = ofmap_writes.min(drain_half).div_ceil(array.cols);
    Memory {
        traffic: Traffic { ifmap_reads: ifmap.reads(), filter_reads: filter.reads(), ofmap_writes },
        cycles_with_prefetch: cycles + drain - 1 + ifmap.lead().max(filter.lead()),
        exact: ifmap.fits() && filter.fits() && ofmap_writes <= drain_half,
    }
}

/// Distinct ifmap elements the windows touch (SCALE-Sim's last window may hang over the
/// edge; it reads nothing there).
fn ifmap_unique(shape: Shape) -> u64 {
    match shape {
        Shape::Gemm { m, k, .. } => m * k,
        Shape::Conv { batch, ifmap, filter, channels, stride, .. } => {
            let out = shape.ofmap();
            let [rows, cols] = [0, 1].map(|i| {
                let (size, f, s, n) = (ifmap[i], filter[i], stride[i], out[i]);
                if s <= f {
                    size
                } else {
                    // Disjoint windows; all but the last lie inside the ifmap.
                    (n - 1) * f + size.saturating_sub((n - 1) * s).min(f)
                }
            });
            batch * rows * cols * channels
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_windows_skip_rows() {
        // 5 rows, 1-row windows every 3 rows: rows 0 and 3 (the third window starts at 6).
        let shape = Shape::Conv { batch: 1, ifmap: [5, 5], filter: [1, 1], channels: 2, filters: 1, stride: [3, 3] };
        assert_eq!(shape.ofmap(), [3, 3]);
        assert_eq!(ifmap_unique(shape), 2 * 2 * 2);
        let dense = Shape::Conv { batch: 2, ifmap: [5, 5], filter: [3, 3], channels: 2, filters: 1, stride: [2, 2] };
        assert_eq!(ifmap_unique(dense), 2 * 5 * 5 * 2);
    }

    #[test]
    fn large_operands_are_estimates() {
        let array = Array { rows: 8, cols: 8 };
        let m = traffic(Shape::Gemm { m: 1000, n: 8, k: 1000 }, array, Dataflow::Ws, 125, 1, 1);
        assert!(!m.exact);
        assert_eq!(m.traffic.ifmap_reads, 1_000_000);
    }
}
