//! Guards the contract between `parlab-magics`' rewrites and this crate:
//! code copied verbatim from the magics' snapshots (`-q` added where the
//! output would clutter the test) compiles against `__private`, runs, and
//! leaves notebook variables usable afterwards.

#[test]
fn line_timeit_borrows_notebook_variables() {
    let v: Vec<u64> = (0..100).collect();
    // %timeit -n 10 -r 2 -q v.iter().sum::<u64>()
    { ::parlab::__private::timeit(::parlab::__private::TimeitOptions { loops: 10, repeat: 2, quiet: true, ..::parlab::__private::TimeitOptions::DEFAULT }, |__parlab_run: ::parlab::__private::Run| -> ::std::time::Duration { let __parlab_t = __parlab_run.start(); for __parlab_k in __parlab_run.chunks() { for _ in 0..__parlab_k { ::std::hint::black_box(v.iter().sum::<u64>()); } } __parlab_t.elapsed() }); }
    assert_eq!(v.len(), 100);
}

#[test]
fn cell_timeit_setup_runs_per_repeat_and_result_is_bound() {
    let v: Vec<u64> = (0..100).rev().collect();
    // %%timeit -n 3 -r 2 -q -v r let mut w = v.clone();
    // w.sort();
    let r = { ::parlab::__private::timeit(::parlab::__private::TimeitOptions { loops: 3, repeat: 2, quiet: true, ..::parlab::__private::TimeitOptions::DEFAULT }, |__parlab_run: ::parlab::__private::Run| -> ::std::time::Duration { let mut w = v.clone();
let __parlab_t = __parlab_run.start(); for __parlab_k in __parlab_run.chunks() { for _ in 0..__parlab_k { ::std::hint::black_box({ w.sort();
 }); } } __parlab_t.elapsed() }) };
    assert_eq!((r.loops, r.repeat), (3, 2));
    assert_eq!(v[0], 99, "the notebook's vector is untouched");
}

#[test]
fn line_time_keeps_let_bindings_and_values() {
    // %time let x: Vec<u64> = (0..10).collect();
    let x: Vec<u64> = { let __parlab_g = ::parlab::__private::time_cell(0); let __parlab_v = { (0..10).collect() }; ::std::mem::drop(__parlab_g); __parlab_v };
    // %%time
    // let s: u64 = x.iter().sum();
    // s
    let value = { let __parlab_g = ::parlab::__private::time_cell(0); let __parlab_v = {
let s: u64 = x.iter().sum();
s
}; ::std::mem::drop(__parlab_g); __parlab_v };
    assert_eq!(value, 45);
}

#[test]
fn time_no_raise_swallows_the_panic() {
    // %time --no-raise-error f(1);
    { let __parlab_g = ::parlab::__private::time_cell(0); ::parlab::__private::no_raise(|| { panic!("boom") ; }); ::std::mem::drop(__parlab_g); };
}
