//! libtorch's CPU thread count, per thread.
//!
//! `set_num_threads` sets the calling thread's count and also a process-wide value that
//! every *other* thread copies when it runs its first parallel op. So the trainer (2
//! threads) and the probe thread (1) can undo each other: the probe's setting used to
//! reach the trainer before its first op, and training ran on one core. Settling the
//! count at once, with a parallel query, makes a thread immune to later settings.

/// Sets this thread's libtorch CPU thread count (0 = one per core) and settles it.
/// Returns the count.
pub fn use_threads(configured: usize) -> usize {
    let n = match configured {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    tch::set_num_threads(n as i32);
    // Runs libtorch's lazy per-thread initialisation now, with our value.
    let _ = tch::get_num_threads();
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn another_threads_setting_does_not_reach_a_settled_thread() {
        let (settled_tx, settled_rx) = channel();
        let (other_done_tx, other_done_rx) = channel();
        let trainer = std::thread::spawn(move || {
            assert_eq!(use_threads(2), 2);
            settled_tx.send(()).unwrap();
            other_done_rx.recv().unwrap();
            // The first parallel op after the other thread's setting.
            let x = tch::Tensor::ones([256, 256], (tch::Kind::Float, tch::Device::Cpu));
            let _ = x.matmul(&x);
            tch::get_num_threads()
        });
        settled_rx.recv().unwrap();
        std::thread::spawn(|| use_threads(1)).join().unwrap();
        assert!(use_threads(0) >= 1);
        other_done_tx.send(()).unwrap();
        assert_eq!(trainer.join().unwrap(), 2);
    }
}
