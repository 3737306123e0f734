//! The C heap under libtorch's CPU tensors (glibc malloc): keeping a step's freed
//! buffers for the next step instead of returning them to the kernel, and handing free
//! pages back now and then so that RSS does not creep.

/// Tells glibc to serve allocations up to 32 MiB from its heap and to keep freed
/// memory there (`mallopt`: `M_MMAP_THRESHOLD` 32 MiB, its maximum; `M_TRIM_THRESHOLD`
/// 128 MiB; `M_TOP_PAD` 64 MiB). `BERTWORK_MALLOC=glibc` keeps glibc's defaults.
///
/// By default glibc maps large blocks (a step's activations, logits and gradients)
/// with mmap and unmaps them on free, and trims the heap's top as soon as 128 KiB (or
/// twice the dynamic threshold) lie free there: every step then faults the same
/// pages in again, zeroing each. Measured with `bertwork bench --without allocator`
/// (docs/measurements.md, "The levers, one at a time": x1.22 tiny, x1.04 mini). Freed memory stays
/// resident instead, which the trim threshold and [`return_free_memory`] bound; it
/// costs memory where batch shapes vary: a 20-step mini run on a 1 GB corpus peaked
/// at 3.6 GB RSS against 2.7 GB with glibc's defaults (3.9 GB with no trim threshold;
/// all measured before [`bound_kernel_caches`], which accounted for part of it).
/// Call once, before the first tensor.
pub fn keep_freed_pages() {
    // Diagnostic escape hatch: glibc's own defaults (compare memory and speed).
    if std::env::var_os("BERTWORK_MALLOC").is_some_and(|v| v == "glibc") {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc's tuning parameters; called before the
    // threads that allocate start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

/// Bounds oneDNN's cache of compiled kernels (`ONEDNN_PRIMITIVE_CACHE_CAPACITY`, 1,024
/// by default) to 128, unless the user set it. The cache is keyed by shape: with exact
/// unpadding a batch's row count changes every step and each new shape kept a kernel
/// and its buffers (a default tiny run's anonymous memory grew from about 350 MB to
/// 1.2 GB in two minutes with 1,024). Under CPU bf16, row counts are rounded to at
/// most 16 buckets (`crate::train::step::Rows`): 16 real batches of mini then use 63
/// kernel shapes (259 unbucketed), about 15 per bucket, so 128 holds the buckets a
/// corpus's batch lengths actually reach; peak memory stayed at 640-670 MB against
/// 870-895 MB unbucketed. Call first thing in `main`, before libtorch starts.
pub fn bound_kernel_caches() {
    if std::env::var_os("ONEDNN_PRIMITIVE_CACHE_CAPACITY").is_none() {
        // SAFETY: called before any other thread exists.
        unsafe { std::env::set_var("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "128") };
    }
}

/// Hands the C heap's free pages back to the system (glibc's `malloc_trim`).
///
/// libtorch's CPU tensors come from malloc. With glibc's dynamic mmap threshold, a
/// training step's large, short-lived buffers end up inside the heap, and the pages
/// they free stay resident: a run's RSS grew by about 120 MB an epoch (tiny, 2 threads)
/// with a live heap of about 200 MB (measured with heaptrack). A fixed threshold
/// (`MALLOC_MMAP_THRESHOLD_`) stops the growth but costs 40% of throughput, and
/// trimming at every step log costs the page faults that refill the pages; trimming at
/// most every [`TRIM_EVERY`] bounds the growth at little cost. Called at step logs,
/// between steps.
pub fn return_free_memory() {
    static LAST: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if last.is_some_and(|t| t.elapsed() < TRIM_EVERY) {
        return;
    }
    *last = Some(std::time::Instant::now());
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it is thread-safe in glibc.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The least time between two [`return_free_memory`] trims.
pub const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(20);
