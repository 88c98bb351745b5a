//! Giving memory back to the system after background work.
//!
//! The check, the backups, the dashboard and the worklists run on their
//! own threads with their own database connections. When they end, glibc
//! keeps what they freed (their decrypted pages, mostly) in per-thread
//! arenas, so the window's resident size stays at its peak. Trimming after
//! each job returns it; measured with `scripts/memory.sh` (README).

/// Returns freed heap memory to the system (glibc on Linux; elsewhere the
/// allocator does its own).
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and only walks glibc's own
    // heaps, under their locks; it is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Caps glibc's heap arenas at two for the whole process. Each worker
/// thread would otherwise get an arena of its own (up to eight per core),
/// each holding on to what its thread freed until the next trim; with the
/// check, the backup and three screens' readers running at once after a
/// login, that raised the window's peak by tens of megabytes. Call once,
/// before any thread is started.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes two integers and only changes glibc's own
    // settings; it is called before the window starts any thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
