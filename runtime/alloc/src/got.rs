//! Arming by patching callers' GOTs: while a reader is armed, every
//! loaded object's calls to the C allocation functions reach the counting
//! functions; idle, nothing is interposed and every call is glibc's own.
//!
//! **Why.** An executable that *defines* `malloc` sees every object's calls
//! (the loader binds them to the first definition), but then every call
//! pays a second indirect jump, idle or not: 1.2–2.3 ns per allocate + free
//! pair on glibc's ~15 ns (`alloc_counting_overhead_ratio` 1.085–1.108,
//! BENCHMARKS.md "Idle allocator"). Calls between shared objects already go
//! through a slot of the caller's global offset table, so the slots *are*
//! the switch: on arm they get the counting functions' addresses, on
//! disarm glibc's back.
//!
//! **Which slots.** For every object [`dl_iterate_phdr`] lists (the
//! executable, libc itself, whose internal `strdup`, `fopen`, … call
//! `malloc` through its own PLT, libstd, `parlab-shared`, each cell's
//! library), the `R_X86_64_GLOB_DAT` and `R_X86_64_JUMP_SLOT` relocations
//! (in `DT_RELA` and `DT_JMPREL`; Rust calls through the GOT, `-Z
//! plt=no`, so its slots are `GLOB_DAT`) whose symbol is one of
//! [`NAMES`]. The relocations are read from the dynamic section in memory
//! (glibc has relocated most `DT_*` pointers in place; an offset below the
//! load base is relocated here). A slot is written only if it holds
//! glibc's function (looked up once in libc's own handle) or, for a lazy
//! `JUMP_SLOT` not yet bound (of a symbol its object does not define), an
//! address inside its object (the PLT stub):
//! a slot bound to another allocator (an `LD_PRELOAD`ed one) is left
//! alone, and so is every slot of an object where one slot holds anything
//! else (an object still being relocated by a `dlopen` on another thread).
//! Slots in `PT_GNU_RELRO` are read-only after start-up: their pages are
//! made writable for the stores and read-only again.
//!
//! **Cheap to repeat.** The slot list of each object is cached (keyed by
//! its load base and name; dropped whole when an object is unloaded,
//! `dlpi_subs`), so an arm after the first is the walk, two loads per slot
//! and two `mprotect`s per object with read-only slots, each way: an arm +
//! disarm pair measured 21–34 µs in `bench_alloc` (5 objects, 2 of them
//! with read-only slots: the `mprotect`s are most of it) and 37–47 µs in
//! the kernel after 2–40 cells (`alloc_arm_disarm_us` in BENCHMARKS.md). The walk runs inside `dl_iterate_phdr`'s callback,
//! where the loader's lock keeps objects from being unloaded under it.
//!
//! **Thread safety.** Each store is one aligned 8-byte store: a thread
//! mid-call reads the old or the new address, never a mix. A thread that
//! read the old one finishes its call uncounted (it started before the
//! arm returned); one that read the counting function just before disarm
//! runs it idle (the counting functions pass through while nothing is
//! armed).

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{fence, AtomicUsize, Ordering::*};

/// The functions whose slots are switched, in the order of the address
/// arrays passed around here.
pub(crate) const NAMES: [&CStr; 10] =
    [c"malloc", c"free", c"calloc", c"realloc", c"reallocarray", c"posix_memalign", c"aligned_alloc", c"memalign", c"valloc", c"pvalloc"];
pub(crate) const N: usize = NAMES.len();

#[repr(C)]
struct DlPhdrInfo {
    addr: usize,
    name: *const c_char,
    phdr: *const Phdr,
    phnum: u16,
    adds: u64,
    subs: u64,
}

#[repr(C)]
struct Phdr {
    kind: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    paddr: u64,
    filesz: u64,
    memsz: u64,
    align: u64,
}

#[repr(C)]
struct Dyn {
    tag: i64,
    val: u64,
}

#[repr(C)]
struct Rela {
    offset: u64,
    info: u64,
    addend: i64,
}

#[repr(C)]
struct Sym {
    name: u32,
    info: u8,
    other: u8,
    shndx: u16,
    value: u64,
    size: u64,
}

type Callback = unsafe extern "C" fn(*mut DlPhdrInfo, usize, *mut c_void) -> c_int;

extern "C" {
    fn dl_iterate_phdr(cb: Callback, data: *mut c_void) -> c_int;
    fn dlopen(name: *const c_char, flags: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
    fn dlclose(handle: *mut c_void) -> c_int;
    fn mprotect(addr: *mut c_void, len: usize, prot: c_int) -> c_int;
}

const RTLD_LAZY: c_int = 1;
const RTLD_NOLOAD: c_int = 4;
const PROT_READ: c_int = 1;
const PROT_WRITE: c_int = 2;
const PAGE: usize = 4096;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_GNU_RELRO: u32 = 0x6474_e552;
const DT_NULL: i64 = 0;
const DT_PLTRELSZ: i64 = 2;
const DT_STRTAB: i64 = 5;
const DT_SYMTAB: i64 = 6;
const DT_RELA: i64 = 7;
const DT_RELASZ: i64 = 8;
const DT_PLTREL: i64 = 20;
const DT_JMPREL: i64 = 23;
const R_X86_64_GLOB_DAT: u32 = 6;
const R_X86_64_JUMP_SLOT: u32 = 7;

/// One loaded object's slots, found once.
struct Object {
    base: usize,
    name: Box<[u8]>,
    /// Each slot's address, which of [`NAMES`] it calls, and whether it
    /// may be unbound yet (a `JUMP_SLOT` for a symbol the object does not
    /// define: lazily bound, it holds its PLT stub until the first call).
    slots: Vec<(usize, u8, bool)>,
    /// Its `PT_GNU_RELRO` pages, `[lo, hi)`, as glibc protects them (the
    /// last partial page stays writable).
    relro: (usize, usize),
    /// Its `PT_LOAD` extent, `[lo, hi)`: where a lazy slot's PLT stub is.
    extent: (usize, usize),
}

/// A slot written by the last patch, and what it held.
#[derive(Clone, Copy)]
struct Saved {
    object: u32,
    func: u8,
    slot: usize,
    old: usize,
}

/// Everything patching keeps, behind the arming lock.
pub(crate) struct State {
    /// glibc's functions, in [`NAMES`] order (0 until the first arm).
    glibc: [usize; N],
    /// The counting functions, in [`NAMES`] order.
    counting: [usize; N],
    cache: Vec<Object>,
    /// `dlpi_subs` when `cache` was last valid.
    subs: u64,
    /// `dlpi_subs` at the last patch.
    patched_subs: u64,
    /// Slots the last patch wrote (in the walk's order: by object).
    saved: Vec<Saved>,
    /// Position in `cache` during a walk (objects come in the same order).
    cursor: usize,
    /// Objects the last walk saw.
    seen: usize,
}

impl State {
    pub(crate) const fn new() -> Self {
        State {
            glibc: [0; N],
            counting: [0; N],
            cache: Vec::new(),
            subs: 0,
            patched_subs: 0,
            saved: Vec::new(),
            cursor: 0,
            seen: 0,
        }
    }

    /// Objects seen by the last patch, and slots it switched.
    pub(crate) fn stats(&self) -> (usize, usize) {
        (self.seen, self.saved.len())
    }
}

/// Switches every slot to `counting` (the counting functions' addresses,
/// in [`NAMES`] order). Returns false if glibc's functions could not be
/// found (nothing switched).
pub(crate) fn patch(st: &mut State, counting: [usize; N]) -> bool {
    if st.glibc[0] == 0 && !resolve(&mut st.glibc) {
        return false;
    }
    st.counting = counting;
    st.saved.clear();
    st.cursor = 0;
    st.seen = 0;
    // SAFETY: the callback casts `data` back to `st`, alive for the call.
    unsafe { dl_iterate_phdr(patch_one, (st as *mut State).cast()) };
    fence(SeqCst);
    true
}

/// Puts back what [`patch`] replaced, in the objects still loaded.
pub(crate) fn restore(st: &mut State) {
    if st.saved.is_empty() {
        return;
    }
    st.cursor = 0;
    // SAFETY: as in `patch`.
    unsafe { dl_iterate_phdr(restore_one, (st as *mut State).cast()) };
    st.saved.clear();
    fence(SeqCst);
}

/// A slot as [`slots`] lists it.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    pub(crate) object: String,
    pub(crate) func: &'static CStr,
    pub(crate) slot: usize,
    pub(crate) value: usize,
}

/// Every slot of every loaded object and what it holds now (for tests:
/// what they hold armed and after).
#[cfg(test)]
pub(crate) fn slots() -> Vec<Listed> {
    unsafe extern "C" fn each(info: *mut DlPhdrInfo, _: usize, data: *mut c_void) -> c_int {
        let out = &mut *(data as *mut Vec<Listed>);
        let o = scan(&*info);
        for (slot, f, _) in o.slots {
            let value = (*(slot as *const AtomicUsize)).load(Relaxed);
            out.push(Listed { object: String::from_utf8_lossy(&o.name).into_owned(), func: NAMES[f as usize], slot, value });
        }
        0
    }
    let mut out = Vec::new();
    // SAFETY: `each` casts `data` back to `out`.
    unsafe { dl_iterate_phdr(each, (&mut out as *mut Vec<Listed>).cast()) };
    out
}

/// glibc's own definitions, from libc's handle (not the global scope, where
/// an `LD_PRELOAD`ed allocator would come first).
pub(crate) fn resolve(out: &mut [usize; N]) -> bool {
    // SAFETY: plain libdl calls with NUL-terminated names.
    unsafe {
        let libc = dlopen(c"libc.so.6".as_ptr(), RTLD_LAZY | RTLD_NOLOAD);
        if libc.is_null() {
            return false;
        }
        let mut found = [0; N];
        for (f, name) in found.iter_mut().zip(NAMES) {
            *f = dlsym(libc, name.as_ptr()) as usize;
        }
        dlclose(libc);
        if found.contains(&0) {
            return false;
        }
        *out = found;
    }
    true
}

unsafe extern "C" fn patch_one(info: *mut DlPhdrInfo, size: usize, data: *mut c_void) -> c_int {
    let st = &mut *(data as *mut State);
    if size < std::mem::size_of::<DlPhdrInfo>() {
        return 1;
    }
    let info = &*info;
    if st.seen == 0 {
        if info.subs != st.subs {
            // An object was unloaded: another may now sit at its base.
            st.cache.clear();
            st.subs = info.subs;
        }
        st.patched_subs = info.subs;
    }
    st.seen += 1;
    let i = find(st, info).unwrap_or_else(|| {
        st.cache.push(scan(info));
        st.cache.len() - 1
    });
    st.cursor = i + 1;
    let o = &st.cache[i];
    if o.slots.is_empty() {
        return 0;
    }
    // All the object's slots, or none (see the module's doc).
    let mut writes = [(0usize, 0usize); 64];
    let start = st.saved.len();
    for &(slot, f, may_be_lazy) in &o.slots {
        let old = (*(slot as *const AtomicUsize)).load(Relaxed);
        let f_ = f as usize;
        let ours = old == st.glibc[f_] || old == st.counting[f_];
        let lazy = may_be_lazy && (o.extent.0..o.extent.1).contains(&old);
        if !ours && !lazy {
            st.saved.truncate(start);
            return 0;
        }
        st.saved.push(Saved { object: i as u32, func: f, slot, old: if old == st.counting[f_] { st.glibc[f_] } else { old } });
    }
    let mut k = 0;
    for s in &st.saved[start..] {
        if k == writes.len() {
            write_all(o.relro, &writes[..k]);
            k = 0;
        }
        writes[k] = (s.slot, st.counting[s.func as usize]);
        k += 1;
    }
    write_all(o.relro, &writes[..k]);
    0
}

unsafe extern "C" fn restore_one(info: *mut DlPhdrInfo, size: usize, data: *mut c_void) -> c_int {
    let st = &mut *(data as *mut State);
    if size < std::mem::size_of::<DlPhdrInfo>() {
        return 1;
    }
    let info = &*info;
    if info.subs == st.patched_subs {
        // Nothing unloaded since the patch (and the loader's lock holds
        // off unloading now): every saved slot is still mapped.
        let mut from = 0;
        while from < st.saved.len() {
            let object = st.saved[from].object;
            let to = from + st.saved[from..].iter().take_while(|s| s.object == object).count();
            restore_run(st, from, to);
            from = to;
        }
        return 1;
    }
    // Something was unloaded: restore only the objects still here.
    if let Some(i) = find(st, info) {
        st.cursor = i + 1;
        let from = st.saved.iter().position(|s| s.object == i as u32);
        if let Some(from) = from {
            let to = from + st.saved[from..].iter().take_while(|s| s.object == i as u32).count();
            restore_run(st, from, to);
        }
    }
    0
}

/// Puts back `saved[from..to]` (one object's), where a slot still holds
/// the counting function (a lazy slot bound meanwhile keeps its binding).
unsafe fn restore_run(st: &State, from: usize, to: usize) {
    let relro = st.cache[st.saved[from].object as usize].relro;
    let mut writes = [(0usize, 0usize); 64];
    let mut k = 0;
    for s in &st.saved[from..to] {
        if (*(s.slot as *const AtomicUsize)).load(Relaxed) != st.counting[s.func as usize] {
            continue;
        }
        if k == writes.len() {
            write_all(relro, &writes[..k]);
            k = 0;
        }
        writes[k] = (s.slot, s.old);
        k += 1;
    }
    write_all(relro, &writes[..k]);
}

/// The cached object for `info`, trying the walk's next position first.
fn find(st: &State, info: &DlPhdrInfo) -> Option<usize> {
    // SAFETY: glibc's names are NUL-terminated (the executable's is "").
    let name = if info.name.is_null() { &[][..] } else { unsafe { CStr::from_ptr(info.name) }.to_bytes() };
    let is = |o: &Object| o.base == info.addr && &*o.name == name;
    if st.cache.get(st.cursor).is_some_and(is) {
        return Some(st.cursor);
    }
    st.cache.iter().position(is)
}

/// Stores `(slot, value)` pairs of one object, making its read-only pages
/// writable for the stores.
unsafe fn write_all(relro: (usize, usize), writes: &[(usize, usize)]) {
    let (lo, hi) = writes.iter().filter(|(s, _)| (relro.0..relro.1).contains(s)).fold((usize::MAX, 0), |(lo, hi), &(s, _)| {
        (lo.min(s & !(PAGE - 1)), hi.max((s & !(PAGE - 1)) + PAGE))
    });
    let guarded = lo < hi;
    if guarded && mprotect(lo as *mut c_void, hi - lo, PROT_READ | PROT_WRITE) != 0 {
        // Cannot write them: leave the read-only slots as they are.
        for &(s, v) in writes.iter().filter(|(s, _)| !(lo..hi).contains(s)) {
            (*(s as *const AtomicUsize)).store(v, Release);
        }
        return;
    }
    for &(s, v) in writes {
        (*(s as *const AtomicUsize)).store(v, Release);
    }
    if guarded {
        mprotect(lo as *mut c_void, hi - lo, PROT_READ);
    }
}

/// An absolute address for a `DT_*` pointer: glibc relocates them in
/// place, except in read-only dynamic sections (the vDSO's).
fn at(base: usize, v: u64) -> usize {
    let v = v as usize;
    if v < base {
        base + v
    } else {
        v
    }
}

/// Finds `info`'s slots from its dynamic section.
unsafe fn scan(info: &DlPhdrInfo) -> Object {
    let base = info.addr;
    let name = if info.name.is_null() { Box::default() } else { CStr::from_ptr(info.name).to_bytes().into() };
    let mut o = Object { base, name, slots: Vec::new(), relro: (0, 0), extent: (usize::MAX, 0) };
    let phdrs = std::slice::from_raw_parts(info.phdr, info.phnum as usize);
    let mut dynamic = None;
    for p in phdrs {
        let start = base.wrapping_add(p.vaddr as usize);
        match p.kind {
            PT_LOAD => o.extent = (o.extent.0.min(start), o.extent.1.max(start + p.memsz as usize)),
            PT_DYNAMIC => dynamic = Some(start as *const Dyn),
            PT_GNU_RELRO => o.relro = (start & !(PAGE - 1), (start + p.memsz as usize) & !(PAGE - 1)),
            _ => {}
        }
    }
    let Some(mut d) = dynamic else { return o };
    let (mut symtab, mut strtab, mut rela, mut relasz, mut jmprel, mut pltrelsz, mut pltrel) = (0, 0, 0, 0, 0, 0, 0);
    while (*d).tag != DT_NULL {
        let v = (*d).val;
        match (*d).tag {
            DT_SYMTAB => symtab = at(base, v),
            DT_STRTAB => strtab = at(base, v),
            DT_RELA => rela = at(base, v),
            DT_RELASZ => relasz = v as usize,
            DT_JMPREL => jmprel = at(base, v),
            DT_PLTRELSZ => pltrelsz = v as usize,
            DT_PLTREL => pltrel = v as i64,
            _ => {}
        }
        d = d.add(1);
    }
    if symtab == 0 || strtab == 0 {
        return o;
    }
    let mut tables = vec![(rela, relasz)];
    if pltrel == DT_RELA {
        tables.push((jmprel, pltrelsz));
    }
    for (table, bytes) in tables {
        if table == 0 {
            continue;
        }
        let relas = std::slice::from_raw_parts(table as *const Rela, bytes / std::mem::size_of::<Rela>());
        for r in relas {
            let kind = r.info as u32;
            if kind != R_X86_64_GLOB_DAT && kind != R_X86_64_JUMP_SLOT {
                continue;
            }
            let sym = &*(symtab as *const Sym).add((r.info >> 32) as usize);
            let name = CStr::from_ptr((strtab + sym.name as usize) as *const c_char);
            let slot = base.wrapping_add(r.offset as usize);
            if let Some(f) = NAMES.iter().position(|n| *n == name) {
                if slot % 8 == 0 {
                    o.slots.push((slot, f as u8, kind == R_X86_64_JUMP_SLOT && sym.shndx == 0));
                }
            }
        }
    }
    o
}
