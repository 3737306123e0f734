//! Running a function over a slice on every core: one contiguous chunk per core on
//! scoped threads, results in the order of the chunks.

/// `f` applied to each of up to one-chunk-per-core pieces of `items`, in order. A panic
/// in `f` is passed on to the caller.
pub fn map_chunks<T, R>(items: &[T], f: impl Fn(&[T]) -> R + Sync) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || f(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_slice_in_order() {
        let items: Vec<u32> = (0..1001).collect();
        let parts = map_chunks(&items, |part| part.to_vec());
        assert_eq!(parts.concat(), items);
        assert!(map_chunks(&[] as &[u32], |p| p.len())
            .iter()
            .all(|&n| n == 0));
    }
}
