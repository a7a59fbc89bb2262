//! The machine's memory, asked once per question (SPEC §4, resource limits): how much
//! one tensor may take (the session's `--mem-budget`, else physical memory, handed to
//! the checker, which does no I/O, as [`tc_check::Limits`]), and whether an allocation
//! the user asks for (an input file, a data set, a program's buffers) fits in the
//! memory available, so that it is refused with a message instead of aborting the
//! process when the allocation fails.

use tc_check::{MemoryLimit, MemorySource};

use crate::Error;

/// The memory budget if there is one, else physical memory; `None` where neither is
/// known (the checker then only caps tensors at 2^40 elements).
pub(crate) fn tensor_limit(mem_budget: Option<u64>) -> Option<MemoryLimit> {
    match mem_budget {
        Some(bytes) => Some(MemoryLimit { bytes, source: MemorySource::Budget }),
        None => meminfo("MemTotal").map(|bytes| MemoryLimit { bytes, source: MemorySource::PhysicalMemory }),
    }
}

/// A runtime error naming `what` unless `bytes` can be allocated: not more than the
/// address space, and not more than the memory the system reports available (Linux's
/// `MemAvailable`), so that an oversized request is refused instead of aborting the
/// process when the allocation fails or of swapping it to a halt.
pub fn check_memory(what: &str, bytes: u128) -> Result<(), Error> {
    let too_much = |limit: String| Err(Error::Runtime(format!("{what} needs {} of memory, more than {limit}", human_bytes(bytes))));
    if bytes <= 1 << 20 {
        return Ok(());
    }
    if bytes > isize::MAX as u128 {
        return too_much("this machine can address".to_string());
    }
    match meminfo("MemAvailable") {
        Some(available) if bytes > u128::from(available) => too_much(format!("the {} available", human_bytes(u128::from(available)))),
        Some(_) => Ok(()),
        // Without the system's word, ask the allocator (and give the memory back).
        None => match Vec::<u8>::new().try_reserve_exact(bytes as usize) {
            Ok(()) => Ok(()),
            Err(_) => too_much("the allocator could provide".to_string()),
        },
    }
}

/// The most bytes one input (a data file, decompressed) may take: half the memory
/// available, since a growing buffer may briefly need twice its length; without the
/// system's word, the address space.
pub fn input_limit() -> u64 {
    meminfo("MemAvailable").map_or(isize::MAX as u64, |available| available / 2)
}

/// A field of `/proc/meminfo` (`MemTotal`, `MemAvailable`), in bytes.
fn meminfo(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    meminfo_field(&text, field)
}

/// The `FIELD:   16302668 kB` line of a `/proc/meminfo` text, in bytes.
fn meminfo_field(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    kib.checked_mul(1024)
}

/// `78.4 TB`, `512.0 MB`, `900 bytes`.
pub(crate) fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes as f64;
    let mut unit = "bytes";
    for next in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = next;
    }
    if unit == "bytes" {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_fields_read_kib() {
        let text = "MemTotal:       16302668 kB\nMemFree:         1021348 kB\nMemAvailable:    2000 kB\n";
        assert_eq!(meminfo_field(text, "MemTotal"), Some(16302668 * 1024));
        assert_eq!(meminfo_field(text, "MemAvailable"), Some(2000 * 1024));
        assert_eq!(meminfo_field("MemFree: 5 kB\n", "MemTotal"), None);
        assert_eq!(meminfo_field("MemTotal: lots\n", "MemTotal"), None);
    }

    #[test]
    fn a_budget_wins_over_physical_memory() {
        assert_eq!(tensor_limit(Some(1 << 20)), Some(MemoryLimit { bytes: 1 << 20, source: MemorySource::Budget }));
    }

    #[test]
    fn requests_beyond_memory_are_refused() {
        assert!(check_memory("a kilobyte", 1000).is_ok());
        assert!(matches!(check_memory("everything", u128::MAX), Err(Error::Runtime(m)) if m.contains("everything needs")));
        assert_eq!(human_bytes(78_400_000_000_000), "78.4 TB");
        assert_eq!(human_bytes(999), "999 bytes");
    }
}
