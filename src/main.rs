use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    keep_hash_buffers();
    raise_descriptor_limit();
    sessionkeeper::cli::run(sessionkeeper::cli::Cli::parse()).await
}

/// Each password hash allocates scrypt's 32 MiB table. glibc serves an allocation that large
/// with a fresh `mmap` and returns it with `munmap` (its dynamic threshold stops at exactly
/// 32 MiB), so every sign-in faulted in 8,192 zeroed pages and then shot down the other cores'
/// TLBs, which showed as get-session p99 during a sign-in flood. With these two settings the
/// table comes from the hashing thread's arena and is reused by its next hash. Peak RSS is the
/// same (the tables exist either way); memory freed by other work is no longer given back
/// below 512 MiB of free heap, which this process never reaches. The binary sets it, not the
/// library, so an application embedding sessionkeeper keeps its own allocator settings.
fn keep_hash_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters, under the allocator's own lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
    }
}

/// Raises the soft file-descriptor limit to the hard one, as Go's runtime does: systemd and
/// most shells start a process at a soft 1024 whatever the hard limit allows, and the server's
/// connection cap is derived from the soft limit (src/http/serve.rs). The binary does it, not
/// the library, as above.
fn raise_descriptor_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write only the struct they are given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
