use super::*;
use crate::track::net;
use std::hint::black_box;
use std::sync::Mutex;

/// Arming is process-wide: the tests run one at a time, so that the idle
/// test sees no reader.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn mine() -> Totals {
    sum(std::iter::once(block()))
}

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Ground truth on this thread: the counts of blocks whose sizes we know.
#[test]
fn counts_what_rust_allocates_on_this_thread_while_armed() {
    let _one = serial();
    publish();
    let _armed = API.armed();
    let before = mine();
    for _ in 0..10 {
        black_box(Vec::<u64>::with_capacity(1000));
    }
    let after = mine();
    assert_eq!(after.allocs - before.allocs, 10);
    assert_eq!(after.bytes - before.bytes, 80_000);
    assert_eq!(after.frees - before.frees, 10);
    assert_eq!(after.live, before.live);
    assert!(after.peak_above >= 8_000, "the peak is in usable bytes, ≥ the request");
    assert!(crate::api().is_some(), "the table is found through the environment");
}

#[test]
fn idle_allocations_are_not_counted_and_their_frees_lower_live() {
    let _one = serial();
    assert_eq!(ARMED.0.load(Relaxed), 0, "no reader armed");
    let before = mine();
    let kept = black_box(vec![0u8; 1000]);
    drop(black_box(vec![0u8; 1000]));
    assert_eq!(mine(), before, "idle: nothing counted");
    let usable = unsafe { malloc_usable_size(kept.as_ptr() as *mut c_void) } as i64;
    assert!(usable >= 1000);
    {
        let _outer = API.armed();
        {
            let _inner = API.armed();
        }
        // Still armed: readers nest.
        drop(kept);
        let after = mine();
        assert_eq!((after.allocs, after.frees - before.frees), (before.allocs, 1));
        assert_eq!(after.live - before.live, -usable, "the heap shrank by the block");
    }
    assert_eq!(ARMED.0.load(Relaxed), 0);
    let before = mine();
    drop(black_box(vec![0u8; 1000]));
    assert_eq!(mine(), before, "idle again once the last reader is gone");
}

#[test]
fn realloc_counts_and_every_family_round_trips() {
    let _one = serial();
    let _armed = API.armed();
    let before = mine();
    let mut v: Vec<u8> = Vec::with_capacity(8);
    v.extend_from_slice(&[1; 100]);
    let after = mine();
    assert_eq!(after.allocs - before.allocs, 2, "one malloc, one realloc");
    assert_eq!(after.reallocs - before.reallocs, 1);
    assert_eq!(after.bytes - before.bytes, 8 + v.capacity() as u64);
    let usable = unsafe { malloc_usable_size(v.as_mut_ptr().cast()) } as i64;
    assert_eq!(after.live - before.live, usable);
    drop(v);
    unsafe {
        let mut p = null_mut();
        assert_eq!(posix_memalign(&mut p, 4096, 100), 0);
        assert_eq!(p as usize % 4096, 0);
        assert!(malloc_usable_size(p) >= 100);
        let q = realloc(p, 200);
        assert!(malloc_usable_size(q) >= 200);
        free(q);
        let a = aligned_alloc(64, 64);
        assert_eq!(a as usize % 64, 0);
        free(a);
        assert!(aligned_alloc(48, 64).is_null(), "not a power of two");
        assert_eq!(posix_memalign(&mut p, 24, 64), EINVAL);
        let m = memalign(256, 10);
        assert_eq!(m as usize % 256, 0);
        free(m);
        let page = valloc(10);
        assert_eq!(page as usize % 4096, 0);
        free(page);
        let pv = pvalloc(10);
        assert_eq!(pv as usize % 4096, 0);
        assert!(malloc_usable_size(pv) >= 4096 - 16, "pvalloc rounds up to a page");
        free(pv);
        let z = calloc(10, 10).cast::<u8>();
        assert!(std::slice::from_raw_parts(z, 100).iter().all(|&b| b == 0));
        free(z.cast());
        let r = reallocarray(null_mut(), 4, 8);
        free(r);
        assert!(black_box(calloc(black_box(usize::MAX), 2)).is_null());
        assert!(reallocarray(null_mut(), usize::MAX, 2).is_null());
        free(null_mut());
    }
    let end = mine();
    assert_eq!(end.live, before.live, "every block's usable bytes came back");
    assert_eq!(end.allocs - end.reallocs - end.frees, before.allocs - before.reallocs - before.frees, "a realloc is an alloc, not a free");
}

#[test]
fn tracked_blocks_count_until_freed_on_any_thread_in_their_generation_only() {
    let _one = serial();
    let g = (API.track_begin)();
    assert!((1..=255).contains(&g));
    let tag = g << 16 | 7;
    let me = block();
    me.tag.store(tag, Relaxed);
    let kept = black_box(vec![0u8; 1000]);
    let mut grown: Vec<u8> = Vec::with_capacity(10);
    grown.extend_from_slice(&[1; 100]);
    drop(black_box(vec![0u8; 500]));
    let elsewhere = black_box(vec![0u8; 300]);
    me.tag.store(0, Relaxed);
    let untagged = black_box(vec![0u8; 700]);
    // Freed by another thread: it leaves Net too.
    std::thread::spawn(move || drop(elsewhere)).join().unwrap();
    let cap = grown.capacity() as i64;
    (API.track_end)();
    assert_eq!(net(tag), 1000 + cap, "freed blocks leave, a realloc moves, the untagged never enter");
    assert_eq!((API.untracked)(), 0);
    drop((grown, untagged));
    assert_eq!(net(tag), 1000 + cap, "Net is the statement's end");
    let g2 = (API.track_begin)();
    assert_ne!(g2, g);
    assert_eq!(net(tag), 0, "an old generation reads 0");
    drop(kept);
    (API.track_end)();
    assert_eq!(net(g2 << 16 | 7), 0, "an old block freed later does not count");
    assert_eq!(ARMED.0.load(Relaxed), 0, "tracking disarms at its end");
}

#[test]
fn many_tracked_blocks_and_reuse_of_addresses() {
    let _one = serial();
    let g = (API.track_begin)();
    let tag = g << 16 | 1;
    block().tag.store(tag, Relaxed);
    // The same addresses again and again (tombstones reused), and many
    // blocks alive at once.
    for i in 0..100_000u64 {
        black_box(Box::new(i));
    }
    let kept: Vec<Box<[u8; 24]>> = (0..50_000).map(|_| Box::new([0; 24])).collect();
    block().tag.store(0, Relaxed);
    (API.track_end)();
    assert_eq!((API.untracked)(), 0);
    let expect = 50_000 * 24 + (kept.capacity() * std::mem::size_of::<Box<[u8; 24]>>()) as i64;
    assert_eq!(net(tag), expect, "the boxes and the vector holding them");
}

#[test]
fn totals_include_other_threads() {
    let _one = serial();
    let _armed = API.armed();
    let before = totals();
    std::thread::spawn(|| drop(black_box(Box::new([0u8; 1000])))).join().unwrap();
    let after = totals();
    assert!(after.allocs - before.allocs >= 1);
    assert!(after.bytes - before.bytes >= 1000);
}

extern "C" {
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn _exit(code: i32) -> !;
}

#[test]
fn a_forked_child_allocates_while_its_parent_tracks() {
    let _one = serial();
    let g = (API.track_begin)();
    block().tag.store(g << 16 | 3, Relaxed);
    // SAFETY: the child only allocates, frees and exits.
    let pid = unsafe { fork() };
    if pid == 0 {
        let v = black_box(vec![1u8; 4096]);
        let ok = v.iter().map(|&b| b as usize).sum::<usize>() == 4096 && net(g << 16 | 3) == 0;
        drop(v);
        unsafe { _exit(if ok { 0 } else { 1 }) };
    }
    block().tag.store(0, Relaxed);
    let mut status = -1;
    assert_eq!(unsafe { waitpid(pid, &mut status, 0) }, pid);
    (API.track_end)();
    assert_eq!(status, 0, "the child ran and exited cleanly");
}

mod got_slots {
    //! The GOT switch itself: which calls are counted while armed, and
    //! what the slots hold armed and after.

    use super::*;
    use crate::got::{self, Listed};
    use std::ffi::{c_char, CStr};

    extern "C" {
        fn dlopen(name: *const c_char, flags: i32) -> *mut c_void;
        fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
        fn strdup(s: *const c_char) -> *mut c_char;
    }
    const RTLD_LAZY: i32 = 1;
    const RTLD_DEFAULT: *mut c_void = null_mut();

    /// Whichever of the counting functions `value` is.
    fn counting_fn(value: usize) -> Option<&'static CStr> {
        counting().iter().position(|&c| c == value).map(|i| got::NAMES[i])
    }

    fn glibc(name: &CStr) -> usize {
        // SAFETY: a NUL-terminated name.
        unsafe { dlsym(RTLD_DEFAULT, name.as_ptr()) as usize }
    }

    #[test]
    fn armed_the_slots_hold_the_counting_functions_and_disarmed_glibcs_again() {
        let _one = serial();
        let mut libc = [0; got::N];
        assert!(got::resolve(&mut libc));
        let scope: Vec<usize> = got::NAMES.iter().map(|n| glibc(n)).collect();
        assert_eq!(scope, libc, "the executable defines none of them: the global scope's are libc's");
        let idle = got::slots();
        let exe_malloc = idle.iter().find(|s| s.object.is_empty() && s.func == c"malloc").expect("the executable calls malloc through its GOT");
        assert_eq!(exe_malloc.value, glibc(c"malloc"), "idle, the executable's calls go to glibc directly");
        let libc_malloc = idle.iter().find(|s| s.object.contains("libc.so") && s.func == c"malloc").expect("libc calls its own malloc through its GOT");
        assert_eq!(libc_malloc.value, glibc(c"malloc"));
        assert!(idle.iter().all(|s| counting_fn(s.value).is_none()), "idle, no slot is switched: {idle:?}");
        let bound: Vec<&Listed> = idle.iter().filter(|s| s.value == glibc(s.func)).collect();
        assert!(bound.len() >= 4, "{idle:?}");

        let armed = {
            let _armed = API.armed();
            got::slots()
        };
        for s in &bound {
            let now = armed.iter().find(|a| a.slot == s.slot).unwrap();
            assert_eq!(counting_fn(now.value), Some(s.func), "armed, {} in {:?} counts", s.func.to_string_lossy(), s.object);
        }
        assert_eq!(got::slots(), idle, "disarmed, every slot holds what it held before");
    }

    #[test]
    fn arming_and_disarming_while_other_threads_allocate() {
        let _one = serial();
        let idle = got::slots();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut sum = 0usize;
                    let mut rounds = 0usize;
                    while !stop.load(Relaxed) {
                        let v: Vec<usize> = (0..black_box(100 + w)).collect();
                        sum += v.iter().sum::<usize>();
                        let s = black_box(format!("{rounds}"));
                        let copy = unsafe { strdup(black_box(std::ffi::CString::new(s).unwrap()).as_ptr()) };
                        sum += unsafe { CStr::from_ptr(copy) }.to_bytes().len();
                        unsafe { libc_free(black_box(copy).cast()) };
                        rounds += 1;
                    }
                    (sum, rounds)
                })
            })
            .collect();
        for _ in 0..500 {
            drop(API.armed());
        }
        stop.store(true, Relaxed);
        for (w, t) in workers.into_iter().enumerate() {
            let (sum, rounds) = t.join().unwrap();
            let digits: usize = (0..rounds).map(|r| r.to_string().len()).sum();
            assert_eq!(sum, rounds * ((100 + w) * (99 + w) / 2) + digits, "every block intact");
        }
        let after = got::slots();
        assert!(after.iter().all(|s| counting_fn(s.value).is_none()), "no slot left switched");
        for s in idle.iter().filter(|s| s.value == glibc(s.func)) {
            assert!(after.contains(s), "{s:?} back to glibc's");
        }
    }

    #[test]
    fn libc_internal_calls_are_counted() {
        let _one = serial();
        let _armed = API.armed();
        let before = mine();
        // SAFETY: a C string in, a malloc'ed copy out, freed by `free`.
        // (black boxes: the compiler knows strdup and free, and would drop
        // the pair.)
        let copy = black_box(unsafe { strdup(black_box(c"parlab").as_ptr()) });
        assert_eq!(unsafe { CStr::from_ptr(copy) }, c"parlab");
        let after = mine();
        assert_eq!((after.allocs - before.allocs, after.bytes - before.bytes), (1, 7), "strdup's malloc, inside libc");
        unsafe { libc_free(black_box(copy).cast()) };
        assert_eq!(mine().frees - after.frees, 1);
    }

    extern "C" {
        #[link_name = "free"]
        fn libc_free(p: *mut c_void);
    }

    /// A C library built here and `dlopen`ed, as cells' libraries are:
    /// `plt` builds calls through a lazily bound PLT (`JUMP_SLOT`), the
    /// other through the GOT (`-fno-plt`, `GLOB_DAT`, as Rust does).
    fn library(stem: &str, plt: bool) -> *mut c_void {
        let dir = std::env::temp_dir().join(format!("parlab-got-{}-{stem}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let c = dir.join("grab.c");
        std::fs::write(&c, "#include <stdlib.h>\nvoid *grab(size_t n) { return malloc(n); }\nvoid give(void *p) { free(p); }\n").unwrap();
        let so = dir.join(format!("lib{stem}.so"));
        let mut cc = std::process::Command::new("cc");
        cc.args(["-O1", "-shared", "-fPIC", "-Wl,-z,lazy", "-o"]).arg(&so).arg(&c);
        if !plt {
            cc.arg("-fno-plt");
        }
        let status = cc.status().expect("a C compiler (cc) builds the test library");
        assert!(status.success());
        let path = std::ffi::CString::new(so.into_os_string().into_encoded_bytes()).unwrap();
        // SAFETY: a library of two plain functions.
        let h = unsafe { dlopen(path.as_ptr(), RTLD_LAZY) };
        assert!(!h.is_null());
        // Mapped now: the files can go.
        let _ = std::fs::remove_dir_all(&dir);
        h
    }

    type Grab = unsafe extern "C" fn(usize) -> *mut c_void;
    type Give = unsafe extern "C" fn(*mut c_void);

    fn functions(h: *mut c_void) -> (Grab, Give) {
        // SAFETY: the library's two functions, with these signatures.
        unsafe {
            let grab = dlsym(h, c"grab".as_ptr());
            let give = dlsym(h, c"give".as_ptr());
            assert!(!grab.is_null() && !give.is_null());
            (std::mem::transmute::<*mut c_void, Grab>(grab), std::mem::transmute::<*mut c_void, Give>(give))
        }
    }

    #[test]
    fn a_dlopened_library_is_counted_through_its_got_and_its_lazy_plt() {
        let _one = serial();
        for plt in [false, true] {
            let (grab, give) = functions(library(if plt { "grab_plt" } else { "grab_got" }, plt));
            let kind = if plt { "lazy PLT" } else { "GOT" };
            {
                let _armed = API.armed();
                let before = mine();
                // SAFETY: malloc and free of a block of ours.
                unsafe { give(grab(1234)) };
                let after = mine();
                let got = (after.allocs - before.allocs, after.bytes - before.bytes, after.frees - before.frees);
                assert_eq!(got, (1, 1234, 1), "through the library's {kind}");
            }
            let before = mine();
            unsafe { give(grab(1234)) };
            assert_eq!(mine(), before, "disarmed, the library's calls ({kind}) are glibc's");
            let mine_ = got::slots().into_iter().filter(|s| s.object.contains("libgrab_")).collect::<Vec<_>>();
            assert!(mine_.iter().all(|s| s.value == glibc(s.func)), "bound to glibc after use: {mine_:?}");
        }
    }

    #[test]
    fn a_library_dlopened_while_armed_counts_from_the_next_arm() {
        let _one = serial();
        let outer = API.armed();
        let (grab, give) = functions(library("grab_later", false));
        let before = mine();
        unsafe { give(grab(100)) };
        assert_eq!(mine().allocs, before.allocs, "loaded after the arm: not switched");
        drop(outer);
        let _armed = API.armed();
        let before = mine();
        unsafe { give(grab(100)) };
        assert_eq!(mine().allocs - before.allocs, 1, "the next arm switches it");
    }
}
