//! The compute side of SCALE-Sim v3 in closed form: the spatio-temporal mapping
//! (Sr, Sc, T), the folds, the cycles, the utilisation figures and the SRAM accesses.
//!
//! SCALE-Sim builds, per fold, demand matrices with one row per cycle and skews them
//! (a matrix of r rows and c columns becomes r + c − 1 rows). Without memory stalls —
//! its bandwidth-estimating mode never stalls reads, and the ofmap buffer frees its
//! drain half as soon as a drain starts — the reported cycles are the row count of the
//! concatenated demand matrices minus one (the index of the last row). Per fold:
//! - OS: T − 1 idle rows, the R×C ofmap block, skewed over C columns: T + R + C − 2;
//! - WS: 2R − 1 idle rows, T ofmap rows, skewed over C columns: 2R + C + T − 2;
//! - IS: the same shape as WS with T = filters: 2R + C + T − 2.

use crate::dram;
use crate::{Array, Dataflow, Error, Shape};

/// Accesses to one level of memory, per operand (in elements).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    pub ifmap_reads: u64,
    pub filter_reads: u64,
    pub ofmap_writes: u64,
}

impl Traffic {
    pub fn total(&self) -> u64 {
        self.ifmap_reads + self.filter_reads + self.ofmap_writes
    }
}

impl std::ops::AddAssign for Traffic {
    fn add_assign(&mut self, other: Traffic) {
        self.ifmap_reads += other.ifmap_reads;
        self.filter_reads += other.filter_reads;
        self.ofmap_writes += other.ofmap_writes;
    }
}

/// One layer on one array with one dataflow, in SCALE-Sim's terms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Report {
    pub dataflow: Dataflow,
    /// Operand rows mapped onto array rows, onto array columns, and streamed in time.
    pub sr: u64,
    pub sc: u64,
    pub t: u64,
    pub row_folds: u64,
    pub col_folds: u64,
    /// SCALE-Sim's "Total Cycles" (compute plus stalls; stalls are zero here).
    pub cycles: u64,
    /// SCALE-Sim's "Total Cycles (incl. prefetch)": from the first DRAM read to the last
    /// DRAM write. Exact when `dram_exact`.
    pub cycles_with_prefetch: u64,
    /// Mean over folds of the fraction of PEs mapped ("Mapping Efficiency").
    pub mapping_efficiency: f64,
    /// Mean over folds of MACs / (PEs × the fold's cycles) ("Compute Util").
    pub compute_utilisation: f64,
    /// All MACs / (PEs × cycles) ("Overall Util").
    pub overall_utilisation: f64,
    pub macs: u64,
    /// SRAM accesses by the array, as SCALE-Sim counts them (padding included).
    pub sram: Traffic,
    /// Reads from and writes to DRAM through the double-buffered SRAMs.
    pub dram: Traffic,
    /// Whether `dram` and `cycles_with_prefetch` are SCALE-Sim's exactly: every operand
    /// fits the active half of its buffer and the ofmap never drains early.
    pub dram_exact: bool,
}

impl Report {
    pub fn folds(&self) -> u64 {
        self.row_folds * self.col_folds
    }
}

/// Map `shape` onto `array` with `dataflow`.
pub fn simulate(shape: Shape, array: Array, dataflow: Dataflow) -> Result<Report, Error> {
    let shape = shape.validate()?;
    let [px, filters, window] = shape.gemm();
    let (r, c) = (array.rows, array.cols);
    let (sr, sc, t) = match dataflow {
        Dataflow::Os => (px, filters, window),
        Dataflow::Ws => (window, filters, px),
        Dataflow::Is => (window, px, filters),
    };
    let row_folds = sr.div_ceil(r);
    let col_folds = sc.div_ceil(c);
    let folds = row_folds * col_folds;
    let per_fold = match dataflow {
        Dataflow::Os => t + r + c - 2,
        Dataflow::Ws | Dataflow::Is => 2 * r + c + t - 2,
    };
    let cycles = folds * per_fold - 1;
    // The fold length SCALE-Sim divides by for "Compute Util": the unskewed demand rows of
    // one operand plus C − 1.
    let util_cycles = match dataflow {
        Dataflow::Os => t + r + c - 2,
        Dataflow::Ws | Dataflow::Is => 2 * r + 2 * c + t - 3,
    };
    // The used PEs summed over all folds tile the Sr × Sc operand exactly.
    let used = (sr * sc) as f64;
    let pes = array.macs() as f64;
    let macs = shape.macs();
    let sram = match dataflow {
        Dataflow::Os => Traffic {
            ifmap_reads: col_folds * t * sr,
            filter_reads: row_folds * t * sc,
            // SCALE-Sim also adds R + C per fold (the padded block's height and width).
            ofmap_writes: sr * sc + folds * (r + c),
        },
        Dataflow::Ws => Traffic { ifmap_reads: col_folds * t * sr, filter_reads: sr * sc, ofmap_writes: row_folds * t * sc },
        Dataflow::Is => Traffic { ifmap_reads: sr * sc, filter_reads: col_folds * t * sr, ofmap_writes: row_folds * t * sc },
    };
    let memory = dram::traffic(shape, array, dataflow, row_folds, col_folds, cycles);
    Ok(Report {
        dataflow,
        sr,
        sc,
        t,
        row_folds,
        col_folds,
        cycles,
        cycles_with_prefetch: memory.cycles_with_prefetch,
        mapping_efficiency: used / (folds as f64 * pes),
        compute_utilisation: used * t as f64 / (folds as f64 * pes * util_cycles as f64),
        overall_utilisation: macs as f64 / (cycles.max(1) as f64 * pes),
        macs,
        sram,
        dram: memory.traffic,
        dram_exact: memory.exact,
    })
}

/// The dataflow with the fewest cycles (the first of [`Dataflow::ALL`] on a tie).
pub fn best(shape: Shape, array: Array) -> Result<Report, Error> {
    let mut best = simulate(shape, array, Dataflow::ALL[0])?;
    for dataflow in &Dataflow::ALL[1..] {
        let report = simulate(shape, array, *dataflow)?;
        if report.cycles < best.cycles {
            best = report;
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gemm(m: u64, n: u64, k: u64) -> Shape {
        Shape::Gemm { m, n, k }
    }

    fn conv(hw: u64, f: u64, channels: u64, filters: u64, stride: u64) -> Shape {
        Shape::Conv { batch: 1, ifmap: [hw, hw], filter: [f, f], channels, filters, stride: [stride, stride] }
    }

    fn run(shape: Shape, rows: u64, cols: u64, dataflow: &str) -> Report {
        let array = Array::new(rows, cols).expect("valid array");
        simulate(shape, array, Dataflow::parse(dataflow).expect("a dataflow")).expect("valid layer")
    }

    /// Close to SCALE-Sim's percentages, which it prints with 15 or so digits.
    fn percent(fraction: f64, expected: f64) {
        assert!((fraction * 100.0 - expected).abs() < 1e-9, "{} vs {expected}", fraction * 100.0);
    }

    // Every expected number below is from a SCALE-Sim 3.0.0 run (numpy 1.26, the default
    // buffers 256/256/128 KiB, InterfaceBandwidth CALC): COMPUTE_REPORT.csv and
    // DETAILED_ACCESS_REPORT.csv of the layer.

    #[test]
    fn gemm_output_stationary_8x8() {
        let r = run(gemm(100, 50, 70), 8, 8, "os");
        assert_eq!((r.row_folds, r.col_folds), (13, 7));
        assert_eq!(r.cycles, 7643);
        assert_eq!(r.cycles_with_prefetch, 9054);
        percent(r.overall_utilisation, 71.552400889703);
        percent(r.mapping_efficiency, 85.85164835164835);
        percent(r.compute_utilisation, 71.54304029304036);
        assert_eq!(r.sram, Traffic { ifmap_reads: 49000, filter_reads: 45500, ofmap_writes: 6456 });
        assert_eq!(r.dram, Traffic { ifmap_reads: 7000, filter_reads: 3500, ofmap_writes: 5000 });
        assert!(r.dram_exact);
    }

    #[test]
    fn gemm_weight_stationary_8x16() {
        let r = run(gemm(100, 50, 70), 8, 16, "ws");
        assert_eq!(r.cycles, 4679);
        assert_eq!(r.cycles_with_prefetch, 8278);
        percent(r.overall_utilisation, 58.439303269929475);
        percent(r.mapping_efficiency, 75.95486111111111);
        percent(r.compute_utilisation, 52.38266283524903);
        assert_eq!(r.sram, Traffic { ifmap_reads: 28000, filter_reads: 3500, ofmap_writes: 45000 });
        assert_eq!(r.dram, Traffic { ifmap_reads: 7000, filter_reads: 3500, ofmap_writes: 45000 });
    }

    #[test]
    fn gemm_input_stationary_16x8() {
        let r = run(gemm(100, 50, 70), 16, 8, "is");
        assert_eq!(r.cycles, 5719);
        assert_eq!(r.cycles_with_prefetch, 9630);
        percent(r.mapping_efficiency, 84.13461538461539);
        percent(r.compute_utilisation, 44.28137651821865);
        assert_eq!(r.sram, Traffic { ifmap_reads: 7000, filter_reads: 45500, ofmap_writes: 25000 });
        assert_eq!(r.dram, Traffic { ifmap_reads: 7000, filter_reads: 3500, ofmap_writes: 25000 });
    }

    #[test]
    fn gemm_output_stationary_32x16() {
        let r = run(gemm(300, 200, 100), 32, 16, "os");
        assert_eq!(r.cycles, 18979);
        assert_eq!(r.cycles_with_prefetch, 25874);
        assert_eq!(r.sram, Traffic { ifmap_reads: 390000, filter_reads: 200000, ofmap_writes: 66240 });
        assert_eq!(r.dram, Traffic { ifmap_reads: 30000, filter_reads: 20000, ofmap_writes: 60000 });
    }

    #[test]
    fn strided_conv_weight_stationary_8x8() {
        let r = run(conv(14, 3, 5, 12, 2), 8, 8, "ws");
        assert_eq!((r.sr, r.sc, r.t), (45, 12, 49));
        assert_eq!(r.cycles, 851);
        assert_eq!(r.cycles_with_prefetch, 1554);
        percent(r.overall_utilisation, 48.582549941245595);
        percent(r.mapping_efficiency, 70.3125);
        percent(r.compute_utilisation, 44.170673076923066);
        assert_eq!(r.sram, Traffic { ifmap_reads: 4410, filter_reads: 540, ofmap_writes: 3528 });
        assert_eq!(r.dram, Traffic { ifmap_reads: 980, filter_reads: 540, ofmap_writes: 3528 });
    }

    #[test]
    fn conv_input_stationary_32x32() {
        let r = run(conv(14, 3, 5, 12, 1), 32, 32, "is");
        assert_eq!(r.cycles, 1059);
        assert_eq!(r.cycles_with_prefetch, 1429);
        percent(r.mapping_efficiency, 63.28125);
        percent(r.compute_utilisation, 5.5428832116788325);
        assert_eq!(r.sram, Traffic { ifmap_reads: 6480, filter_reads: 2700, ofmap_writes: 3456 });
    }

    #[test]
    fn best_picks_the_fewest_cycles() {
        let array = Array::new(8, 8).expect("valid");
        let shape = gemm(100, 50, 70);
        let all = Dataflow::ALL.map(|d| simulate(shape, array, d).expect("valid").cycles);
        let chosen = best(shape, array).expect("valid");
        assert_eq!(chosen.cycles, *all.iter().min().expect("three"));
        assert_eq!(Some(chosen.dataflow), Dataflow::ALL.into_iter().find(|&d| simulate(shape, array, d).expect("valid").cycles == chosen.cycles));
    }

    #[test]
    fn one_pe_and_invalid_layers() {
        // A 1×1 array: every MAC is its own fold of T + 0 cycles (OS) plus the skew.
        let r = run(gemm(2, 3, 4), 1, 1, "os");
        assert_eq!(r.folds(), 6);
        assert_eq!(r.cycles, 6 * 4 - 1);
        assert!(simulate(gemm(0, 3, 4), Array::new(1, 1).expect("valid"), Dataflow::Os).is_err());
    }
}
