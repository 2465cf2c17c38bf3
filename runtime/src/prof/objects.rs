//! Addresses to symbol names, from the symbol tables of the objects loaded
//! *now*.
//!
//! Not `backtrace::resolve`: its cache lists the process's libraries once,
//! on first use, and evcxr loads a new library for every cell, so from the
//! second `%prun` on every notebook frame came back unnamed (seen in
//! `tests/test_prun.py`). Each [`Objects`] lists the loaded objects afresh
//! (`dl_iterate_phdr`) and reads a file's symbol table (`.symtab`, which
//! evcxr's `strip = "debuginfo"` keeps; else `.dynsym`) only when an
//! address falls in it.

use object::{Object, ObjectSymbol, SymbolKind};
use std::path::PathBuf;

struct Loaded {
    path: PathBuf,
    bias: usize,
    /// `[start, end)` of each `PT_LOAD` segment in memory.
    ranges: Vec<(usize, usize)>,
    /// (start, end, name) by start, relative to the file; read on demand.
    symbols: Option<Vec<(u64, u64, String)>>,
}

/// The objects loaded when it was made, and their symbols once read.
pub(crate) struct Objects {
    loaded: Vec<Loaded>,
}

impl Objects {
    /// Lists the loaded objects.
    pub(crate) fn now() -> Objects {
        let mut loaded: Vec<Loaded> = Vec::new();
        unsafe extern "C" fn each(info: *mut libc::dl_phdr_info, _size: usize, data: *mut libc::c_void) -> libc::c_int {
            // SAFETY: dl_iterate_phdr passes a valid info and our pointer.
            let (info, loaded) = unsafe { (&*info, &mut *(data as *mut Vec<Loaded>)) };
            let name = if info.dlpi_name.is_null() {
                String::new()
            } else {
                // SAFETY: a NUL-terminated path.
                unsafe { std::ffi::CStr::from_ptr(info.dlpi_name) }.to_string_lossy().into_owned()
            };
            let path = if name.is_empty() { std::env::current_exe().unwrap_or_default() } else { PathBuf::from(name) };
            let bias = info.dlpi_addr as usize;
            let mut ranges = Vec::new();
            for i in 0..info.dlpi_phnum as usize {
                // SAFETY: dlpi_phnum headers at dlpi_phdr.
                let ph = unsafe { &*info.dlpi_phdr.add(i) };
                if ph.p_type == libc::PT_LOAD {
                    let start = bias + ph.p_vaddr as usize;
                    ranges.push((start, start + ph.p_memsz as usize));
                }
            }
            loaded.push(Loaded { path, bias, ranges, symbols: None });
            0
        }
        // SAFETY: the callback only reads what it is given.
        unsafe { libc::dl_iterate_phdr(Some(each), &mut loaded as *mut Vec<Loaded> as *mut libc::c_void) };
        Objects { loaded }
    }

    /// The demangled name (without hash) of the function at `addr`.
    pub(crate) fn name(&mut self, addr: usize) -> Option<String> {
        let obj = self.loaded.iter_mut().find(|o| o.ranges.iter().any(|&(s, e)| (s..e).contains(&addr)))?;
        let symbols = obj.symbols.get_or_insert_with(|| read_symbols(&obj.path));
        let at = (addr - obj.bias) as u64;
        let i = symbols.partition_point(|s| s.0 <= at).checked_sub(1)?;
        let (start, end, name) = &symbols[i];
        // A symbol of size 0 reaches up to the next one.
        let end = if end > start { *end } else { symbols.get(i + 1).map_or(u64::MAX, |s| s.0) };
        (at < end).then(|| format!("{:#}", rustc_demangle::demangle(name)))
    }
}

fn read_symbols(path: &std::path::Path) -> Vec<(u64, u64, String)> {
    let Ok(data) = std::fs::read(path) else { return Vec::new() };
    let Ok(file) = object::File::parse(&*data) else { return Vec::new() };
    let mut out: Vec<(u64, u64, String)> = file
        .symbols()
        .chain(file.dynamic_symbols())
        .filter(|s| s.kind() == SymbolKind::Text && s.address() != 0)
        .filter_map(|s| Some((s.address(), s.address() + s.size(), s.name().ok()?.to_owned())))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    out.dedup_by_key(|s| s.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    fn a_function_to_find() -> usize {
        std::hint::black_box(a_function_to_find as *const () as usize)
    }

    #[test]
    fn names_a_function_of_this_binary_and_one_of_libc() {
        let mut objects = Objects::now();
        let addr = a_function_to_find() + 1;
        let name = objects.name(addr).unwrap();
        assert!(name.ends_with("objects::tests::a_function_to_find"), "{name}");
        let name = objects.name(libc::getpid as *const () as usize).unwrap_or_default();
        assert!(name.contains("getpid"), "{name}");
    }
}
