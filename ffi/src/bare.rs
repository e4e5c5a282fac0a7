//! The bare-metal build of libftforest (`--no-default-features`: `no_std`, no allocator, no
//! threads): objects live in caller storage, time comes from the embedder's clock callback.
//!
//! Every `ftf_X_init(storage, size, ..., X_out)` lays its object (and its per-partition
//! cells) out in the caller's buffer and hands out the same handle type as the hosted
//! `ftf_X_new`, so every other entry point (`ftf_op_begin`, `ftf_partition_table_transition`,
//! `ftf_coordinator_report`, ...) is the same code in both builds. `ftf_X_storage_size(...)`
//! says how many bytes `init` needs (alignment padding included: any buffer address works).
//!
//! Invariants:
//!
//! * C contract: the storage outlives the object and is not touched by C until
//!   `ftf_X_deinit` (which drops the object in place: a tracker's or lock's wait finalizer
//!   runs, a coordinator returns its permits); a storage buffer holds one object at a time.
//! * `init` writes `*X_out` only on `FTF_OK`; `FTF_BUFFER_TOO_SMALL` when `size` is below
//!   `ftf_X_storage_size`; `FTF_INVALID_ARGUMENT` for a bad count; `FTF_NULL_PARAMETER`.
//! * Single core, one object per context: see `embedded/README.md` ("Interrupt context") for
//!   what an interrupt handler may call. The coordinator is serialised by a spin lock: never
//!   call it from an interrupt handler that may preempt a call to it.
//! * Panics: the core returns typed errors and never panics; the library's panic handler
//!   (staticlib only) parks the core in a loop.

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::mem::{align_of, size_of};
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use ftforest_core::coord::{Coordinator, PartitionSlot, Storage};
use ftforest_core::{
    queue_storage_len, Clock, HealthCell, Instant, LockConfigError, LockSlot, PartitionTable,
    QueueConfigError, QueueSlot, RecoveryLock, RecoveryQueue, Tracker, MAX_PARTITIONS,
};

use crate::config::{ftf_config, ftf_config_builder, FfiConfigBuilder};
use crate::coordinator::{config_or_default, ftf_coordinator, new_error, FfiCoordinator};
use crate::handle::{try_mut_from_ptr, try_out, try_ref_from_ptr};
use crate::lock::{ftf_recovery_lock, FfiLock};
use crate::panic::ffi_panic_boundary;
use crate::queue::{ftf_recovery_queue, FfiQueue};
use crate::result::ftf_result;
use crate::table::{ftf_partition_table, FfiTable};
use crate::tracker::{ftf_tracker, FfiTracker};
use crate::wait::{ftf_wait_callbacks, FfiWait};

// ---- the clock -----------------------------------------------------------------------------

/// Reads the embedder's monotonic clock in nanoseconds (e.g. a timer tick count times its
/// period). Called from whichever context calls a waiting function; must not block or call
/// back into libftforest.
pub type ftf_clock_fn = Option<unsafe extern "C" fn(userdata: *mut c_void) -> u64>;

static CLOCK_FN: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());
static CLOCK_USERDATA: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());

/// Sets the library clock of the bare-metal build (`ftf_now_ns()`, every timeout of a
/// `_wait` function and the `deadline_ns` handed to the wait callback). NULL clears it (the
/// clock then reads 0). Set it once at start-up, before any waiting call.
#[no_mangle]
pub extern "C" fn ftf_clock_set(clock: ftf_clock_fn, userdata: *mut c_void) {
    ffi_panic_boundary! {
        CLOCK_USERDATA.store(userdata, Ordering::Relaxed);
        let f = clock.map_or(core::ptr::null_mut(), |f| f as *mut ());
        // Release: a reader that sees the function also sees its userdata.
        CLOCK_FN.store(f, Ordering::Release);
    }
}

/// The embedder's clock as a core [`Clock`].
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct BareClock;

impl Clock for BareClock {
    fn now(&self) -> Instant {
        let f = CLOCK_FN.load(Ordering::Acquire);
        if f.is_null() {
            return Instant::ZERO;
        }
        // SAFETY: CLOCK_FN only holds NULL or a `ftf_clock_fn` stored by `ftf_clock_set`.
        let f: unsafe extern "C" fn(*mut c_void) -> u64 = unsafe { core::mem::transmute(f) };
        // SAFETY: the embedder's function with its own userdata (C contract above).
        Instant::from_nanos(unsafe { f(CLOCK_USERDATA.load(Ordering::Relaxed)) })
    }
}

// ---- a spin lock for the coordinator ------------------------------------------------------

/// Serialises the coordinator's `&mut self` calls without an OS (a held lock is only ever
/// waited for by another context of the same core, which the interrupt rules forbid).
pub(crate) struct SpinLock<T> {
    held: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: `value` is only reached through a `SpinGuard`, and at most one guard exists (the
// `held` flag, acquired with Acquire and released with Release).
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    fn new(value: T) -> Self {
        SpinLock {
            held: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    fn guard(&self) -> SpinGuard<'_, T> {
        while self
            .held
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        SpinGuard { lock: self }
    }
}

/// Exclusive access to the coordinator until dropped.
pub(crate) struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard is the only one (see `SpinLock`).
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard is the only one (see `SpinLock`).
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        // Release: the next holder sees every change made under this guard.
        self.lock.held.store(false, Ordering::Release);
    }
}

impl FfiCoordinator {
    /// Exclusive access to the core coordinator (spins while another context holds it).
    pub(crate) fn lock(&self) -> SpinGuard<'_, crate::coordinator::FfiCoord> {
        self.coord.guard()
    }
}

// ---- carving caller storage ---------------------------------------------------------------

/// A bump allocator over the caller's buffer; `None` once it runs out. Pointer arithmetic
/// only (the carved pointers keep the buffer's provenance).
struct Arena {
    next: *mut u8,
    left: usize,
}

impl Arena {
    fn new(storage: *mut c_void, size: usize) -> Self {
        Arena {
            next: storage.cast(),
            left: size,
        }
    }

    /// Room for `n` values of `T`, aligned.
    fn take<T>(&mut self, n: usize) -> Option<*mut T> {
        let pad = self.next.align_offset(align_of::<T>());
        let bytes = size_of::<T>().checked_mul(n)?;
        let total = pad.checked_add(bytes)?;
        if total > self.left {
            return None;
        }
        // SAFETY: `pad + bytes <= left`: both offsets stay inside the caller's buffer
        // (C contract: `size` bytes at `storage`).
        let start = unsafe { self.next.add(pad) };
        // SAFETY: as above.
        self.next = unsafe { start.add(bytes) };
        self.left -= total;
        Some(start.cast())
    }
}

/// Bytes an arena needs for `n` values of `T` from any start address.
const fn need<T>(n: usize) -> usize {
    size_of::<T>() * n + align_of::<T>() - 1
}

/// Fills `n` fresh cells at `ptr` and borrows them for the object's life.
///
/// # Safety
/// `ptr` is valid for `n` writes of `T`, aligned, and not otherwise used until `deinit`
/// (the C storage contract).
unsafe fn fill<T>(ptr: *mut T, n: usize, fresh: impl Fn() -> T) -> &'static mut [T] {
    for i in 0..n {
        // SAFETY: `i < n`: inside the carved region (caller's contract).
        unsafe { ptr.add(i).write(fresh()) };
    }
    // SAFETY: all `n` elements were just initialised; the region is exclusively ours.
    unsafe { core::slice::from_raw_parts_mut(ptr, n) }
}

fn valid_n(n: u32) -> bool {
    n != 0 && n <= MAX_PARTITIONS
}

/// Drops the object behind a handle in place; NULL is a no-op.
///
/// # Safety
/// `ptr` came from this file's `init` for `T` and is not used afterwards (C contract).
unsafe fn deinit<T>(ptr: *const T) {
    if !ptr.is_null() {
        // SAFETY: caller's contract; the storage stays the caller's.
        unsafe { core::ptr::drop_in_place(ptr.cast_mut()) };
    }
}

// ---- constructors in caller storage --------------------------------------------------------

/// Bytes `ftf_tracker_init` needs.
#[no_mangle]
pub extern "C" fn ftf_tracker_storage_size() -> usize {
    need::<FfiTracker>(1)
}

/// Creates a tracker in `storage` (`size >= ftf_tracker_storage_size()` bytes) whose waiters
/// use `wait_kind`: `FTF_WAIT_SPIN`, or `FTF_WAIT_CALLBACKS` with `callbacks` (copied);
/// `FTF_WAIT_PARK` needs an OS (`FTF_INVALID_ARGUMENT` here). Destroy with
/// `ftf_tracker_deinit`.
///
/// The tracker reopens eagerly (the last resume clears every stripe): an interrupt handler
/// may pause and resume it while the main loop runs `ftf_op_begin`/`ftf_op_end` (as long as
/// the main loop itself never pauses or resumes it), without the first pause ever waiting for
/// a `begin` it preempted.
#[no_mangle]
pub extern "C" fn ftf_tracker_init(
    storage: *mut c_void,
    size: usize,
    wait_kind: u32,
    callbacks: *const ftf_wait_callbacks,
    tracker_out: *mut *const ftf_tracker,
) -> ftf_result {
    ffi_panic_boundary! {
        let out = try_out!(tracker_out);
        if storage.is_null() {
            return ftf_result::FTF_NULL_PARAMETER;
        }
        let Some(p) = Arena::new(storage, size).take::<FfiTracker>(1) else {
            return ftf_result::FTF_BUFFER_TOO_SMALL;
        };
        let wait = match FfiWait::from_c(wait_kind, callbacks) {
            Ok(w) => w,
            Err(e) => return e,
        };
        // Eager reopen: `FfiWait::eager_reopen` is true in this build (see the doc above).
        // SAFETY: `p` is aligned room for one tracker inside the caller's buffer.
        unsafe { p.write(Tracker::with_waiter(wait)) };
        *out = p.cast_const().cast::<ftf_tracker>();
        ftf_result::FTF_OK
    }
}

/// Destroys a tracker made by `ftf_tracker_init` (its wait finalizer runs); NULL is a no-op.
#[no_mangle]
pub extern "C" fn ftf_tracker_deinit(tracker: *const ftf_tracker) {
    // SAFETY: C contract: made by `ftf_tracker_init`, not used afterwards.
    ffi_panic_boundary! { unsafe { deinit(tracker.cast::<FfiTracker>()) } }
}

/// Bytes `ftf_partition_table_init` needs for `n` partitions (0 when `n` is invalid).
#[no_mangle]
pub extern "C" fn ftf_partition_table_storage_size(n: u32) -> usize {
    if !valid_n(n) {
        return 0;
    }
    need::<FfiTable>(1) + need::<HealthCell>(n as usize)
}

/// Creates a table of `n` HEALTHY partitions in `storage` (see
/// `ftf_partition_table_storage_size`). Destroy with `ftf_partition_table_deinit`.
#[no_mangle]
pub extern "C" fn ftf_partition_table_init(
    storage: *mut c_void,
    size: usize,
    n: u32,
    table_out: *mut *const ftf_partition_table,
) -> ftf_result {
    ffi_panic_boundary! {
        let out = try_out!(table_out);
        if storage.is_null() {
            return ftf_result::FTF_NULL_PARAMETER;
        }
        if !valid_n(n) {
            return ftf_result::FTF_INVALID_ARGUMENT;
        }
        let mut a = Arena::new(storage, size);
        let (Some(obj), Some(cells)) = (a.take::<FfiTable>(1), a.take::<HealthCell>(n as usize))
        else {
            return ftf_result::FTF_BUFFER_TOO_SMALL;
        };
        // SAFETY: carved, aligned, exclusively the object's (storage contract).
        let cells: &'static [HealthCell] = unsafe { fill(cells, n as usize, HealthCell::new) };
        match PartitionTable::new(cells, n) {
            Ok(t) => {
                // SAFETY: `obj` is aligned room for the table.
                unsafe { obj.write(t) };
                *out = obj.cast_const().cast::<ftf_partition_table>();
                ftf_result::FTF_OK
            }
            Err(_) => ftf_result::FTF_INVALID_ARGUMENT,
        }
    }
}

/// Destroys a table made by `ftf_partition_table_init`; NULL is a no-op.
#[no_mangle]
pub extern "C" fn ftf_partition_table_deinit(table: *const ftf_partition_table) {
    // SAFETY: C contract: made by `ftf_partition_table_init`, not used afterwards.
    ffi_panic_boundary! { unsafe { deinit(table.cast::<FfiTable>()) } }
}

/// Bytes `ftf_recovery_lock_init` needs for `n` partitions (0 when `n` is invalid).
#[no_mangle]
pub extern "C" fn ftf_recovery_lock_storage_size(n: u32) -> usize {
    if !valid_n(n) {
        return 0;
    }
    need::<FfiLock>(1) + need::<LockSlot>(n as usize)
}

/// Creates a recovery lock for `n` partitions, at most `max_concurrent` at once, in
/// `storage`; waiters use `wait_kind` / `callbacks` as for `ftf_tracker_init`. Destroy with
/// `ftf_recovery_lock_deinit`.
#[no_mangle]
pub extern "C" fn ftf_recovery_lock_init(
    storage: *mut c_void,
    size: usize,
    n: u32,
    max_concurrent: u32,
    wait_kind: u32,
    callbacks: *const ftf_wait_callbacks,
    lock_out: *mut *const ftf_recovery_lock,
) -> ftf_result {
    ffi_panic_boundary! {
        let out = try_out!(lock_out);
        if storage.is_null() {
            return ftf_result::FTF_NULL_PARAMETER;
        }
        if !valid_n(n) || max_concurrent == 0 {
            return ftf_result::FTF_INVALID_ARGUMENT;
        }
        let mut a = Arena::new(storage, size);
        let (Some(obj), Some(slots)) = (a.take::<FfiLock>(1), a.take::<LockSlot>(n as usize))
        else {
            return ftf_result::FTF_BUFFER_TOO_SMALL;
        };
        let wait = match FfiWait::from_c(wait_kind, callbacks) {
            Ok(w) => w,
            Err(e) => return e,
        };
        // SAFETY: carved, aligned, exclusively the object's (storage contract).
        let slots: &'static [LockSlot] = unsafe { fill(slots, n as usize, LockSlot::new) };
        match RecoveryLock::with_waiter(slots, n, max_concurrent, wait) {
            Ok(l) => {
                // SAFETY: `obj` is aligned room for the lock.
                unsafe { obj.write(l) };
                *out = obj.cast_const().cast::<ftf_recovery_lock>();
                ftf_result::FTF_OK
            }
            Err(LockConfigError::StorageInUse { .. }) => ftf_result::FTF_STORAGE_IN_USE,
            Err(_) => ftf_result::FTF_INVALID_ARGUMENT,
        }
    }
}

/// Destroys a lock made by `ftf_recovery_lock_init`; NULL is a no-op.
#[no_mangle]
pub extern "C" fn ftf_recovery_lock_deinit(lock: *const ftf_recovery_lock) {
    // SAFETY: C contract: made by `ftf_recovery_lock_init`, not used afterwards.
    ffi_panic_boundary! { unsafe { deinit(lock.cast::<FfiLock>()) } }
}

/// Bytes `ftf_recovery_queue_init` needs (0 when `n` or `capacity` is invalid).
#[no_mangle]
pub extern "C" fn ftf_recovery_queue_storage_size(n: u32, capacity: u32) -> usize {
    if !valid_n(n) || capacity == 0 {
        return 0;
    }
    need::<FfiQueue>(1) + need::<QueueSlot>(queue_storage_len(n, capacity))
}

/// Creates an empty queue for ranks `0..n` holding at most `capacity` ranks in `storage`.
/// Destroy with `ftf_recovery_queue_deinit`.
#[no_mangle]
pub extern "C" fn ftf_recovery_queue_init(
    storage: *mut c_void,
    size: usize,
    n: u32,
    capacity: u32,
    queue_out: *mut *const ftf_recovery_queue,
) -> ftf_result {
    ffi_panic_boundary! {
        let out = try_out!(queue_out);
        if storage.is_null() {
            return ftf_result::FTF_NULL_PARAMETER;
        }
        if !valid_n(n) || capacity == 0 {
            return ftf_result::FTF_INVALID_ARGUMENT;
        }
        let len = queue_storage_len(n, capacity);
        let mut a = Arena::new(storage, size);
        let (Some(obj), Some(slots)) = (a.take::<FfiQueue>(1), a.take::<QueueSlot>(len)) else {
            return ftf_result::FTF_BUFFER_TOO_SMALL;
        };
        // SAFETY: carved, aligned, exclusively the object's (storage contract).
        let slots: &'static [QueueSlot] = unsafe { fill(slots, len, QueueSlot::new) };
        match RecoveryQueue::new(slots, n) {
            Ok(q) => {
                // SAFETY: `obj` is aligned room for the queue.
                unsafe { obj.write(q) };
                *out = obj.cast_const().cast::<ftf_recovery_queue>();
                ftf_result::FTF_OK
            }
            Err(QueueConfigError::StorageInUse { .. }) => ftf_result::FTF_STORAGE_IN_USE,
            Err(_) => ftf_result::FTF_INVALID_ARGUMENT,
        }
    }
}

/// Destroys a queue made by `ftf_recovery_queue_init`; NULL is a no-op.
#[no_mangle]
pub extern "C" fn ftf_recovery_queue_deinit(queue: *const ftf_recovery_queue) {
    // SAFETY: C contract: made by `ftf_recovery_queue_init`, not used afterwards.
    ffi_panic_boundary! { unsafe { deinit(queue.cast::<FfiQueue>()) } }
}

/// Bytes `ftf_config_builder_init` needs.
#[no_mangle]
pub extern "C" fn ftf_config_builder_storage_size() -> usize {
    need::<FfiConfigBuilder>(1)
}

/// Creates a configuration builder holding the defaults in `storage` (the setters are the
/// hosted build's). Nothing to destroy: the storage may be reused once done.
#[no_mangle]
pub extern "C" fn ftf_config_builder_init(
    storage: *mut c_void,
    size: usize,
    builder_out: *mut *mut ftf_config_builder,
) -> ftf_result {
    ffi_panic_boundary! {
        let out = try_out!(builder_out);
        if storage.is_null() {
            return ftf_result::FTF_NULL_PARAMETER;
        }
        let Some(p) = Arena::new(storage, size).take::<FfiConfigBuilder>(1) else {
            return ftf_result::FTF_BUFFER_TOO_SMALL;
        };
        // SAFETY: aligned room for one builder inside the caller's buffer.
        unsafe { p.write(FfiConfigBuilder::new()) };
        *out = p.cast::<ftf_config_builder>();
        ftf_result::FTF_OK
    }
}

/// Bytes `ftf_config_builder_build_into` needs.
#[no_mangle]
pub extern "C" fn ftf_config_storage_size() -> usize {
    need::<ftforest_core::coord::Config>(1)
}

/// Validates the builder's settings into a config in `storage`: `FTF_OK` (`*config_out` is
/// valid while the storage is), `FTF_INVALID_CONFIG` (nothing written; the bare-metal build
/// has no error strings), `FTF_BUFFER_TOO_SMALL`, `FTF_NULL_PARAMETER`.
#[no_mangle]
pub extern "C" fn ftf_config_builder_build_into(
    builder: *mut ftf_config_builder,
    storage: *mut c_void,
    size: usize,
    config_out: *mut *const ftf_config,
) -> ftf_result {
    ffi_panic_boundary! {
        let b = try_mut_from_ptr!(builder);
        let out = try_out!(config_out);
        if storage.is_null() {
            return ftf_result::FTF_NULL_PARAMETER;
        }
        let Some(p) = Arena::new(storage, size).take::<ftforest_core::coord::Config>(1) else {
            return ftf_result::FTF_BUFFER_TOO_SMALL;
        };
        match b.builder.heartbeat(b.heartbeat).alerts(b.alerts).build() {
            Ok(cfg) => {
                b.error = None;
                // SAFETY: aligned room for one config inside the caller's buffer.
                unsafe { p.write(cfg) };
                *out = p.cast_const().cast::<ftf_config>();
                ftf_result::FTF_OK
            }
            Err(e) => {
                b.error = Some(e);
                ftf_result::FTF_INVALID_CONFIG
            }
        }
    }
}

/// Bytes `ftf_coordinator_init` needs for `n` partitions (0 when `n` is invalid): the
/// coordinator (fixed) plus 52 bytes and one bit per partition.
#[no_mangle]
pub extern "C" fn ftf_coordinator_storage_size(n: u32) -> usize {
    if !valid_n(n) {
        return 0;
    }
    let n = n as usize;
    need::<FfiCoordinator>(1)
        + need::<HealthCell>(n)
        + need::<LockSlot>(n)
        + need::<QueueSlot>(queue_storage_len(n as u32, n as u32))
        + need::<PartitionSlot>(n)
}

/// Creates the poll-driven coordinator for partitions `0..n` in `storage`, with `config`
/// (NULL: the defaults; copied), closing `tracker` (required; it must outlive the
/// coordinator) in recovery mode, started at `now_ns`. Destroy with `ftf_coordinator_deinit`.
///
/// Errors: `FTF_INVALID_CONFIG` (e.g. `max_concurrent > FTF_MAX_CONCURRENT_RECOVERIES`),
/// `FTF_INVALID_ARGUMENT`, `FTF_BUFFER_TOO_SMALL`, `FTF_NULL_PARAMETER`.
#[no_mangle]
pub extern "C" fn ftf_coordinator_init(
    storage: *mut c_void,
    size: usize,
    config: *const ftf_config,
    n: u32,
    tracker: *const ftf_tracker,
    now_ns: u64,
    coordinator_out: *mut *const ftf_coordinator,
) -> ftf_result {
    ffi_panic_boundary! {
        let out = try_out!(coordinator_out);
        let gate: &'static FfiTracker = try_ref_from_ptr!(tracker);
        if storage.is_null() {
            return ftf_result::FTF_NULL_PARAMETER;
        }
        if !valid_n(n) {
            return ftf_result::FTF_INVALID_ARGUMENT;
        }
        let nu = n as usize;
        let qlen = queue_storage_len(n, n);
        let mut a = Arena::new(storage, size);
        let obj = a.take::<FfiCoordinator>(1);
        let cells = a.take::<HealthCell>(nu);
        let locks = a.take::<LockSlot>(nu);
        let queue = a.take::<QueueSlot>(qlen);
        let slots = a.take::<PartitionSlot>(nu);
        let (Some(obj), Some(cells), Some(locks), Some(queue), Some(slots)) =
            (obj, cells, locks, queue, slots)
        else {
            return ftf_result::FTF_BUFFER_TOO_SMALL;
        };
        let cfg = config_or_default(config);
        // SAFETY: each region is carved, aligned and exclusively the coordinator's.
        let storage = unsafe {
            Storage {
                cells: &*fill(cells, nu, HealthCell::new),
                locks: &*fill(locks, nu, LockSlot::new),
                queue: &*fill(queue, qlen, QueueSlot::new),
                slots: fill(slots, nu, PartitionSlot::new),
            }
        };
        match Coordinator::new(cfg, storage, n, gate, Instant::from_nanos(now_ns)) {
            Ok(c) => {
                // SAFETY: `obj` is aligned room for the coordinator.
                unsafe {
                    obj.write(FfiCoordinator {
                        coord: SpinLock::new(c),
                    })
                };
                *out = obj.cast_const().cast::<ftf_coordinator>();
                ftf_result::FTF_OK
            }
            Err(e) => new_error(&e),
        }
    }
}

/// Destroys a coordinator made by `ftf_coordinator_init` (returns its permits, empties its
/// queue, reopens its pause); NULL is a no-op.
#[no_mangle]
pub extern "C" fn ftf_coordinator_deinit(coordinator: *const ftf_coordinator) {
    // SAFETY: C contract: made by `ftf_coordinator_init`, not used afterwards.
    ffi_panic_boundary! { unsafe { deinit(coordinator.cast::<FfiCoordinator>()) } }
}

/// The staticlib's panic handler: the core never panics (typed errors everywhere), so this
/// is unreachable in practice; it parks the core rather than unwinding into C.
#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    //! The bare-metal build's constructors on the host (`cargo test -p ftforest-ffi
    //! --no-default-features --lib bare`; also under Miri: the carving and placement are the
    //! unsafe part).
    use super::*;
    use crate::event::ftf_event;
    use crate::tracker::ftf_op_token;

    fn ftf_op_begin(t: *const ftf_tracker, tok: *mut ftf_op_token) -> ftf_result {
        ftf_tracker::ftf_op_begin(t, tok)
    }
    fn ftf_op_end(t: *const ftf_tracker, tok: ftf_op_token) -> ftf_result {
        ftf_tracker::ftf_op_end(t, tok)
    }
    fn ftf_tracker_in_flight(t: *const ftf_tracker) -> u32 {
        ftf_tracker::ftf_tracker_in_flight(t)
    }
    use ftf_coordinator as C;
    use ftf_partition_table as PT;

    /// A buffer with a deliberately odd start (every init must align by itself).
    struct Buf(std::vec::Vec<u64>);

    impl Buf {
        fn new(bytes: usize) -> Self {
            Buf(std::vec![0u64; bytes / 8 + 2])
        }
        fn odd(&mut self) -> *mut c_void {
            // SAFETY: 1 byte into an allocation of at least 16 bytes.
            unsafe { self.0.as_mut_ptr().cast::<u8>().add(1).cast() }
        }
        fn len(&self) -> usize {
            self.0.len() * 8 - 1
        }
    }

    #[test]
    fn tracker_lives_in_caller_storage() {
        let mut buf = Buf::new(ftf_tracker_storage_size());
        let mut t = core::ptr::null();
        assert_eq!(
            ftf_tracker_init(buf.odd(), 8, 1, core::ptr::null(), &mut t),
            ftf_result::FTF_BUFFER_TOO_SMALL
        );
        assert!(t.is_null(), "out-param untouched on error");
        assert_eq!(
            ftf_tracker_init(buf.odd(), buf.len(), 0, core::ptr::null(), &mut t),
            ftf_result::FTF_INVALID_ARGUMENT,
            "FTF_WAIT_PARK needs an OS"
        );
        assert_eq!(
            ftf_tracker_init(core::ptr::null_mut(), 64, 1, core::ptr::null(), &mut t),
            ftf_result::FTF_NULL_PARAMETER
        );
        assert_eq!(
            ftf_tracker_init(buf.odd(), buf.len(), 1, core::ptr::null(), &mut t),
            ftf_result::FTF_OK
        );
        assert_eq!((t as usize) % align_of::<FfiTracker>(), 0);
        // SAFETY: `t` was just made by `ftf_tracker_init` and is not freed yet.
        assert!(
            unsafe { &*t.cast::<FfiTracker>() }.is_eager_reopen(),
            "ISR-safe reopen"
        );
        let mut tok = ftf_op_token::default();
        assert_eq!(ftf_op_begin(t, &mut tok), ftf_result::FTF_OK);
        assert_eq!(ftf_tracker_in_flight(t), 1);
        assert_eq!(ftf_op_end(t, tok), ftf_result::FTF_OK);
        ftf_tracker_deinit(t);
        ftf_tracker_deinit(core::ptr::null());
    }

    #[test]
    fn table_lock_queue_in_caller_storage() {
        assert_eq!(ftf_partition_table_storage_size(0), 0);
        let mut buf = Buf::new(ftf_partition_table_storage_size(5));
        let mut t = core::ptr::null();
        assert_eq!(
            ftf_partition_table_init(
                buf.odd(),
                ftf_partition_table_storage_size(5) / 2,
                5,
                &mut t
            ),
            ftf_result::FTF_BUFFER_TOO_SMALL
        );
        assert_eq!(
            ftf_partition_table_init(buf.odd(), buf.len(), 5, &mut t),
            ftf_result::FTF_OK
        );
        let mut tr = crate::table::ftf_transition::default();
        assert_eq!(
            PT::ftf_partition_table_transition(t, 4, u32::MAX, 1, u32::MAX, &mut tr),
            ftf_result::FTF_OK
        );
        ftf_partition_table_deinit(t);

        let mut buf = Buf::new(ftf_recovery_lock_storage_size(5));
        let mut l = core::ptr::null();
        assert_eq!(
            ftf_recovery_lock_init(buf.odd(), buf.len(), 5, 0, 1, core::ptr::null(), &mut l),
            ftf_result::FTF_INVALID_ARGUMENT
        );
        assert_eq!(
            ftf_recovery_lock_init(buf.odd(), buf.len(), 5, 2, 1, core::ptr::null(), &mut l),
            ftf_result::FTF_OK
        );
        ftf_recovery_lock_deinit(l);

        let mut buf = Buf::new(ftf_recovery_queue_storage_size(40, 3));
        let mut q = core::ptr::null();
        assert_eq!(
            ftf_recovery_queue_init(buf.odd(), buf.len(), 40, 3, &mut q),
            ftf_result::FTF_OK
        );
        assert_eq!(
            ftf_recovery_queue::ftf_recovery_queue_push(q, 39),
            ftf_result::FTF_OK
        );
        assert_eq!(ftf_recovery_queue::ftf_recovery_queue_len(q), 1);
        ftf_recovery_queue_deinit(q);
    }

    unsafe extern "C" fn fixed_clock(userdata: *mut c_void) -> u64 {
        userdata.addr() as u64
    }

    /// A config builder in `buf` (made by `ftf_config_builder_init`).
    fn builder_in(buf: &mut Buf) -> *mut ftf_config_builder {
        let mut b = core::ptr::null_mut();
        assert_eq!(
            ftf_config_builder_init(buf.odd(), buf.len(), &mut b),
            ftf_result::FTF_OK
        );
        b
    }

    /// A one-stripe spinning tracker in `buf` (made by `ftf_tracker_init`).
    fn tracker_in(buf: &mut Buf) -> *const ftf_tracker {
        let mut t = core::ptr::null();
        assert_eq!(
            ftf_tracker_init(buf.odd(), buf.len(), 1, core::ptr::null(), &mut t),
            ftf_result::FTF_OK
        );
        t
    }

    #[test]
    fn coordinator_in_caller_storage_with_a_built_config() {
        let mut bb = Buf::new(ftf_config_builder_storage_size());
        let b = builder_in(&mut bb);
        let mut cb = Buf::new(ftf_config_storage_size());
        let mut cfg = core::ptr::null();
        assert_eq!(
            ftf_config_builder::ftf_config_builder_set_max_concurrent(b, 9),
            ftf_result::FTF_OK
        );
        let mut tb = Buf::new(ftf_tracker_storage_size());
        let t = tracker_in(&mut tb);
        assert_eq!(
            ftf_config_builder_build_into(b, cb.odd(), cb.len(), &mut cfg),
            ftf_result::FTF_OK
        );
        let mut store = Buf::new(ftf_coordinator_storage_size(6));
        let mut c = core::ptr::null();
        assert_eq!(
            ftf_coordinator_init(store.odd(), store.len(), cfg, 6, t, 0, &mut c),
            ftf_result::FTF_INVALID_CONFIG,
            "max_concurrent above FTF_MAX_CONCURRENT_RECOVERIES"
        );
        assert!(c.is_null());
        assert_eq!(
            ftf_config_builder::ftf_config_builder_set_max_concurrent(b, 2),
            ftf_result::FTF_OK
        );
        assert_eq!(
            ftf_config_builder_build_into(b, cb.odd(), cb.len(), &mut cfg),
            ftf_result::FTF_OK
        );
        assert_eq!(
            ftf_coordinator_init(
                store.odd(),
                store.len(),
                cfg,
                6,
                core::ptr::null(),
                0,
                &mut c
            ),
            ftf_result::FTF_NULL_PARAMETER,
            "the tracker is required"
        );
        assert_eq!(
            ftf_coordinator_init(store.odd(), store.len(), cfg, 6, t, 0, &mut c),
            ftf_result::FTF_OK
        );
        let mut outcome = 0;
        for _ in 0..2 {
            assert_eq!(
                C::ftf_coordinator_report(c, 1, 0, 5, u32::MAX, &mut outcome),
                ftf_result::FTF_OK
            );
        }
        let mut e = ftf_event::default();
        assert_eq!(C::ftf_coordinator_poll_event(c, &mut e), ftf_result::FTF_OK);
        assert_eq!(e.rank, 5);
        // No per-partition statistics in the bare build: the documented refusal, nothing
        // written.
        let mut ps = crate::stats::ftf_partition_stats {
            reports: 77,
            ..Default::default()
        };
        assert_eq!(
            C::ftf_coordinator_partition_stats(c, 5, &mut ps),
            ftf_result::FTF_UNEXPECTED_STATE
        );
        assert_eq!(ps.reports, 77);
        assert_eq!(
            C::ftf_coordinator_partition_stats(c, 6, &mut ps),
            ftf_result::FTF_UNKNOWN_PARTITION
        );
        ftf_coordinator_deinit(c);
        ftf_tracker_deinit(t);
    }

    /// The bare build has no fence machinery (ftforest-core without `fence`): a fencing
    /// configuration does not build, and the fence inputs answer with existing codes.
    #[test]
    fn fences_are_refused_in_the_bare_build() {
        let mut bb = Buf::new(ftf_config_builder_storage_size());
        let b = builder_in(&mut bb);
        let mut cb = Buf::new(ftf_config_storage_size());
        let mut cfg = core::ptr::null();
        type B = ftf_config_builder;
        assert_eq!(
            B::ftf_config_builder_set_fenced(b, true),
            ftf_result::FTF_OK
        );
        assert_eq!(
            ftf_config_builder_build_into(b, cb.odd(), cb.len(), &mut cfg),
            ftf_result::FTF_INVALID_CONFIG,
            "fenced needs the fence feature"
        );
        assert_eq!(
            B::ftf_config_builder_set_fenced(b, false),
            ftf_result::FTF_OK
        );
        assert_eq!(
            B::ftf_config_builder_set_local_confirmation(b, false),
            ftf_result::FTF_OK
        );
        assert_eq!(
            ftf_config_builder_build_into(b, cb.odd(), cb.len(), &mut cfg),
            ftf_result::FTF_INVALID_CONFIG,
            "local_confirmation off needs the fence feature"
        );
        assert!(cfg.is_null());
        let mut tb = Buf::new(ftf_tracker_storage_size());
        let t = tracker_in(&mut tb);
        let mut store = Buf::new(ftf_coordinator_storage_size(6));
        let mut c = core::ptr::null();
        assert_eq!(
            ftf_coordinator_init(store.odd(), store.len(), core::ptr::null(), 6, t, 0, &mut c),
            ftf_result::FTF_OK
        );
        assert_eq!(
            C::ftf_coordinator_fence_granted(c, 1, 2, 1, 7),
            ftf_result::FTF_UNEXPECTED_STATE
        );
        assert_eq!(
            C::ftf_coordinator_fence_granted(c, 1, 6, 1, 7),
            ftf_result::FTF_UNKNOWN_PARTITION
        );
        assert_eq!(
            C::ftf_coordinator_fence_refused(c, 1, 2, 1, 0),
            ftf_result::FTF_UNEXPECTED_STATE
        );
        assert_eq!(
            C::ftf_coordinator_set_available(c, 1, false),
            ftf_result::FTF_UNEXPECTED_STATE,
            "availability is a fence feature"
        );
        assert!(C::ftf_coordinator_is_available(c));
        assert_eq!(
            C::ftf_coordinator_set_available(c, 1, true),
            ftf_result::FTF_OK
        );
        let mut token = 0;
        assert_eq!(
            C::ftf_coordinator_fence(c, 2, &mut token),
            ftf_result::FTF_NO_RECOVERY
        );
        ftf_coordinator_deinit(c);
        ftf_tracker_deinit(t);
    }

    #[test]
    fn clock_callback_drives_the_library_clock() {
        assert_eq!(crate::clock::ftf_now_ns(), 0, "no clock set: reads 0");
        ftf_clock_set(Some(fixed_clock), core::ptr::without_provenance_mut(42));
        assert_eq!(crate::clock::ftf_now_ns(), 42);
        ftf_clock_set(None, core::ptr::null_mut());
        assert_eq!(crate::clock::ftf_now_ns(), 0);
    }
}
