//! Size-classed buffer pools: the host-side bookkeeping shared by the device memory pool
//! and the pinned host pool (`crate::gpu::DevicePool`, `crate::gpu::PinnedPool`).
//!
//! A pool hands out [`Pooled`] buffers rounded up to a size class and takes them back when
//! they are dropped. Freed buffers are cached per class and reused by later requests of the
//! same class; [`Pool::trim`] releases the cache. The bytes of a recycled buffer are those
//! the previous user left, unless the request asks for zeroed memory or the pool was built
//! with a poison byte, which overwrites every recycled buffer before it is handed out again.
//! Consumers only ever read back the ranges a kernel reported as written, so stale bytes
//! never reach an output.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::Result;

/// Smallest class: 256 bytes, the alignment CUDA gives every allocation.
pub const MIN_CLASS: usize = 256;

/// The size class of a request of `bytes`: four classes per power of two (at most 25 %
/// waste), never below [`MIN_CLASS`].
pub fn size_class(bytes: usize) -> usize {
    if bytes <= MIN_CLASS {
        return MIN_CLASS;
    }
    let top = usize::BITS - 1 - bytes.leading_zeros();
    let step = 1usize << top.saturating_sub(2);
    bytes.div_ceil(step) * step
}

/// What a pool allocates from: device memory on a stream, pinned host memory, or plain
/// host memory in tests.
pub trait Backend: Send + Sync + 'static {
    type Buf: Send + 'static;
    /// Allocates a buffer of exactly `bytes` bytes; contents unspecified.
    fn alloc(&self, bytes: usize) -> Result<Self::Buf>;
    /// Sets every byte of `buf` to `byte` (asynchronously on a device backend).
    fn fill(&self, buf: &mut Self::Buf, byte: u8) -> Result<()>;
}

/// Counters of a pool, in bytes unless named otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Bytes in buffers currently handed out (class sizes).
    pub in_use: usize,
    /// Bytes in buffers cached for reuse.
    pub cached: usize,
    /// Largest `in_use + cached` seen: the most memory the pool held at once.
    pub peak: usize,
    /// Buffers obtained from the backend.
    pub fresh_allocations: u64,
    /// Requests served from the cache.
    pub reuses: u64,
}

struct State<B: Backend> {
    free: HashMap<usize, Vec<B::Buf>>,
    stats: PoolStats,
    max_cached: usize,
}

struct Shared<B: Backend> {
    backend: B,
    poison: Option<u8>,
    state: Mutex<State<B>>,
}

impl<B: Backend> Shared<B> {
    fn lock(&self) -> MutexGuard<'_, State<B>> {
        // A panic while holding the lock leaves only counters half-updated; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A size-classed cache of buffers. Cloning gives another handle to the same pool.
pub struct Pool<B: Backend> {
    shared: Arc<Shared<B>>,
}

impl<B: Backend> Clone for Pool<B> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone() }
    }
}

impl<B: Backend> Pool<B> {
    /// A pool over `backend`. With `poison = Some(b)`, every recycled buffer is filled with
    /// `b` before reuse (for tests that prove outputs are fully written).
    pub fn new(backend: B, poison: Option<u8>) -> Self {
        Self {
            shared: Arc::new(Shared {
                backend,
                poison,
                state: Mutex::new(State { free: HashMap::new(), stats: PoolStats::default(), max_cached: usize::MAX }),
            }),
        }
    }

    /// The backend the pool allocates from.
    pub fn backend(&self) -> &B {
        &self.shared.backend
    }

    /// Caps the bytes kept in the cache; buffers returned beyond it are released.
    pub fn set_max_cached(&self, bytes: usize) {
        let mut st = self.shared.lock();
        st.max_cached = bytes;
        Self::shrink_to(&mut st, bytes);
    }

    /// A buffer of at least `len` bytes (its class size); contents unspecified unless the
    /// pool poisons recycled buffers.
    pub fn alloc(&self, len: usize) -> Result<Pooled<B>> {
        let class = size_class(len);
        let recycled = {
            let mut st = self.shared.lock();
            let buf = st.free.get_mut(&class).and_then(Vec::pop);
            if buf.is_some() {
                st.stats.cached -= class;
                st.stats.in_use += class;
                st.stats.reuses += 1;
            }
            buf
        };
        let buf = match recycled {
            Some(mut buf) => {
                if let Some(byte) = self.shared.poison {
                    self.shared.backend.fill(&mut buf, byte)?;
                }
                buf
            }
            None => {
                let buf = self.shared.backend.alloc(class)?;
                let mut st = self.shared.lock();
                st.stats.in_use += class;
                st.stats.fresh_allocations += 1;
                st.stats.peak = st.stats.peak.max(st.stats.in_use + st.stats.cached);
                buf
            }
        };
        Ok(Pooled { buf: Some(buf), class, len, pool: self.shared.clone() })
    }

    /// A buffer of at least `len` bytes, all of them zero.
    pub fn alloc_zeroed(&self, len: usize) -> Result<Pooled<B>> {
        let mut p = self.alloc(len)?;
        self.shared.backend.fill(p.buf.as_mut().expect("live buffer"), 0)?;
        Ok(p)
    }

    /// Releases every cached buffer back to the backend.
    pub fn trim(&self) {
        let mut st = self.shared.lock();
        Self::shrink_to(&mut st, 0);
    }

    pub fn stats(&self) -> PoolStats {
        self.shared.lock().stats
    }

    fn shrink_to(st: &mut State<B>, limit: usize) {
        if st.stats.cached <= limit {
            return;
        }
        let mut classes: Vec<usize> = st.free.keys().copied().collect();
        classes.sort_unstable_by(|a, b| b.cmp(a));
        for class in classes {
            let list = st.free.get_mut(&class).unwrap();
            while st.stats.cached > limit {
                match list.pop() {
                    Some(buf) => {
                        drop(buf);
                        st.stats.cached -= class;
                    }
                    None => break,
                }
            }
        }
        st.free.retain(|_, v| !v.is_empty());
    }
}

/// A buffer on loan from a [`Pool`]; it goes back to the pool's cache when dropped.
pub struct Pooled<B: Backend> {
    buf: Option<B::Buf>,
    class: usize,
    len: usize,
    pool: Arc<Shared<B>>,
}

impl<B: Backend> Pooled<B> {
    /// The length asked for.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The size actually allocated (the class size, >= `len`).
    pub fn capacity(&self) -> usize {
        self.class
    }

    pub fn buf(&self) -> &B::Buf {
        self.buf.as_ref().expect("live buffer")
    }

    pub fn buf_mut(&mut self) -> &mut B::Buf {
        self.buf.as_mut().expect("live buffer")
    }
}

impl<B: Backend> Drop for Pooled<B> {
    fn drop(&mut self) {
        let Some(buf) = self.buf.take() else { return };
        let mut st = self.pool.lock();
        st.stats.in_use -= self.class;
        if st.stats.cached + self.class <= st.max_cached {
            st.stats.cached += self.class;
            st.free.entry(self.class).or_default().push(buf);
        }
    }
}

/// Plain host memory: the backend of the CPU tests of the pool logic.
#[derive(Debug, Default)]
pub struct HostBackend;

impl Backend for HostBackend {
    type Buf = Vec<u8>;
    fn alloc(&self, bytes: usize) -> Result<Vec<u8>> {
        Ok(vec![0xEE; bytes])
    }
    fn fill(&self, buf: &mut Vec<u8>, byte: u8) -> Result<()> {
        buf.fill(byte);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_round_up_by_at_most_a_quarter() {
        assert_eq!(size_class(0), 256);
        assert_eq!(size_class(256), 256);
        assert_eq!(size_class(257), 320);
        assert_eq!(size_class(1 << 20), 1 << 20);
        assert_eq!(size_class((1 << 20) + 1), (1 << 20) + (1 << 18));
        for n in [300usize, 1000, 4097, 65_537, 1_000_000, 123_456_789] {
            let c = size_class(n);
            assert!(c >= n && (c - n) * 4 <= n, "{n} -> {c}");
            assert_eq!(size_class(c), c, "class sizes are fixed points");
        }
    }

    #[test]
    fn freed_buffers_are_reused_and_counted() {
        let pool = Pool::new(HostBackend, None);
        let a = pool.alloc(1000).unwrap();
        assert_eq!(a.capacity(), 1024);
        assert_eq!(pool.stats().in_use, 1024);
        drop(a);
        let s = pool.stats();
        assert_eq!((s.in_use, s.cached, s.fresh_allocations), (0, 1024, 1));
        let b = pool.alloc(900).unwrap();
        let s = pool.stats();
        assert_eq!((s.in_use, s.cached, s.reuses, s.fresh_allocations), (1024, 0, 1, 1));
        let c = pool.alloc(900).unwrap();
        assert_eq!(pool.stats().fresh_allocations, 2);
        assert_eq!(pool.stats().peak, 2048);
        drop((b, c));
        pool.trim();
        assert_eq!(pool.stats().cached, 0);
        assert_eq!(pool.stats().peak, 2048);
    }

    #[test]
    fn recycled_buffer_is_zeroed_on_request() {
        let pool = Pool::new(HostBackend, None);
        let mut a = pool.alloc(4096).unwrap();
        a.buf_mut().fill(0x5A);
        drop(a);
        let b = pool.alloc_zeroed(4096).unwrap();
        assert_eq!(pool.stats().reuses, 1);
        assert!(b.buf().iter().all(|&x| x == 0));
    }

    #[test]
    fn poisoning_pool_overwrites_previous_bytes() {
        let pool = Pool::new(HostBackend, Some(0xA5));
        let mut a = pool.alloc(4096).unwrap();
        a.buf_mut().fill(0x11);
        drop(a);
        let b = pool.alloc(4000).unwrap();
        assert!(b.buf().iter().all(|&x| x == 0xA5));
    }

    #[test]
    fn cache_cap_releases_excess() {
        let pool = Pool::new(HostBackend, None);
        pool.set_max_cached(2048);
        let bufs: Vec<_> = (0..4).map(|_| pool.alloc(1024).unwrap()).collect();
        drop(bufs);
        assert_eq!(pool.stats().cached, 2048);
        assert_eq!(pool.stats().in_use, 0);
    }
}
