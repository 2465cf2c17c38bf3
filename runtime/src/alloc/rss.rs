//! The process's resident memory, as memory_profiler reads it, and its
//! high-water mark without sampling.
//!
//! memory_profiler samples RSS every 0.1 s in a second thread, so a peak
//! shorter than that is missed. Linux keeps the exact high-water mark
//! (`VmHWM` in `/proc/self/status`) and lets a process reset it to the
//! current RSS by writing `5` to `/proc/self/clear_refs` (Linux ≥ 4.0).

/// `(VmRSS, VmHWM)` in bytes, or `None` where `/proc` lacks them.
pub fn rss_and_peak() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Starts a new high-water mark at the current RSS; false if the kernel
/// refused (then the mark is the process's lifetime peak).
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
