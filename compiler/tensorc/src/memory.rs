//! How much memory one tensor may take (SPEC §4, resource limits): the session's
//! `--mem-budget`, else the machine's physical memory. The checker does no I/O, so the
//! machine is asked here and the answer handed to it as [`tc_check::Limits`].

use tc_check::{MemoryLimit, MemorySource};

/// The memory budget if there is one, else physical memory; `None` where neither is
/// known (the checker then only caps tensors at 2^40 elements).
pub(crate) fn tensor_limit(mem_budget: Option<u64>) -> Option<MemoryLimit> {
    match mem_budget {
        Some(bytes) => Some(MemoryLimit { bytes, source: MemorySource::Budget }),
        None => physical_memory().map(|bytes| MemoryLimit { bytes, source: MemorySource::PhysicalMemory }),
    }
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn physical_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    mem_total(&meminfo)
}

/// The `MemTotal:   16302668 kB` line of a `/proc/meminfo` text, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line["MemTotal:".len()..].split_whitespace();
    let kib: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => kib.checked_mul(1024),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_total_reads_kib() {
        let text = "MemTotal:       16302668 kB\nMemFree:         1021348 kB\n";
        assert_eq!(mem_total(text), Some(16302668 * 1024));
        assert_eq!(mem_total("MemFree: 5 kB\n"), None);
        assert_eq!(mem_total("MemTotal: lots\n"), None);
    }

    #[test]
    fn a_budget_wins_over_physical_memory() {
        assert_eq!(tensor_limit(Some(1 << 20)), Some(MemoryLimit { bytes: 1 << 20, source: MemorySource::Budget }));
    }
}
