//! The line instrumenter: a function in, the same function with a probe per
//! source line out. See `README.md` beside this file for how statements,
//! loop headers, early exits and closures map to probes.
//!
//! Pure and syn-based: the output is a token string that calls
//! `::parlab::__private::{LpFrame, LpIter}` and keeps every probe's
//! *original* cell line as its id, so the emitted layout does not matter.

use crate::items::record::fn_lines;
use crate::items::{FnSite, RecordedItem};
use proc_macro2::{Literal, Span};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{parse_quote, Block, Expr, Stmt};

/// Where probes report: function number `fn_id` of the session, cell lines
/// `first..=last`; `offset` turns a span's line into a cell line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probe {
    pub(crate) fn_id: u32,
    pub(crate) offset: u32,
    pub(crate) first: u32,
    pub(crate) last: u32,
}

/// `item`'s source with the functions at `sites` instrumented (each with
/// its session `fn_id`), laid out by [`super::pretty`]. Errors name the
/// function and say why it cannot carry probes.
pub(crate) fn instrument_item(item: &RecordedItem, sites: &[(&FnSite, u32)]) -> Result<String, (String, String)> {
    let mut parsed: syn::Item = syn::parse_str(&item.source).map_err(|e| (item.name.clone(), format!("its source no longer parses: {e}")))?;
    let offset = item.first_line - 1;
    for (site, fn_id) in sites {
        let fail = |reason: &str| (site.path.clone(), reason.to_owned());
        let (sig, vis, block) = find_fn(&mut parsed, &site.inner_path).ok_or_else(|| fail("its definition was not found in its item"))?;
        if sig.constness.is_some() {
            return Err(fail("a `const fn` cannot call the profiler"));
        }
        if sig.asyncness.is_some() {
            return Err(fail("`async fn` is not supported by %lprun"));
        }
        let (first, last) = fn_lines(&vis, &sig, block);
        instrument_fn_block(block, Probe { fn_id: *fn_id, offset, first: first + offset, last: last + offset });
    }
    Ok(super::pretty::pretty(quote::quote!(#parsed)))
}

fn find_fn<'a>(item: &'a mut syn::Item, path: &[String]) -> Option<(syn::Signature, syn::Visibility, &'a mut Block)> {
    match (item, path) {
        (syn::Item::Fn(f), []) => Some((f.sig.clone(), f.vis.clone(), &mut *f.block)),
        (syn::Item::Impl(i), [name]) => i.items.iter_mut().find_map(|it| match it {
            syn::ImplItem::Fn(m) if m.sig.ident == name => Some((m.sig.clone(), m.vis.clone(), &mut m.block)),
            _ => None,
        }),
        (syn::Item::Mod(m), [first, rest @ ..]) => {
            let named = |it: &syn::Item| match it {
                syn::Item::Fn(f) => rest.is_empty() && f.sig.ident == first,
                syn::Item::Mod(sub) => !rest.is_empty() && sub.ident == first,
                _ => false,
            };
            let it = m.content.as_mut()?.1.iter_mut().find(|it| named(it))?;
            match it {
                syn::Item::Fn(f) => Some((f.sig.clone(), f.vis.clone(), &mut *f.block)),
                _ => find_fn(it, rest),
            }
        }
        _ => None,
    }
}

/// Adds the frame and the probes to a function body, twice, and keeps the
/// original body beside them:
/// `{ if LpFrame::counting() { COUNTING } else if LpFrame::marking() {
/// MARKING } else { ORIGINAL } }`.
///
/// Outside a profiling session the function runs exactly the code the user
/// wrote (a relaxed load and a branch per call): that is what `lprun` times
/// for the Time column's scale. The counting copy counts Hits and checks
/// for interrupts at loop headers. The marking copy only marks lines for
/// the sampler and has no call in its loops: a never-taken call to the
/// interrupt check made the optimiser keep `distance()`'s accumulator in
/// memory across it, and the marked loop ran 3× slower than without it
/// (measured); marked runs are short and are interrupted between runs.
pub(crate) fn instrument_fn_block(block: &mut Block, probe: Probe) {
    let original = block.clone();
    let mut counting = block.clone();
    let mut v = Instrumenter { probe, stmt_line: None, frame: local_frame(), marking: false, loops: 0 };
    v.visit_block_mut(&mut counting);
    counting.stmts.insert(0, v.enter());
    // An `impl` inside the body would be defined three times (impls are
    // global): such a function gets the counting copy alone.
    let has_impl = original.stmts.iter().any(|s| matches!(s, Stmt::Item(syn::Item::Impl(_))));
    if has_impl {
        *block = counting;
        return;
    }
    let mut marking = original.clone();
    let mut v = Instrumenter { probe, stmt_line: None, frame: local_frame(), marking: true, loops: 0 };
    v.visit_block_mut(&mut marking);
    marking.stmts.insert(0, v.enter());
    *block = parse_quote!({
        if ::parlab::__private::LpFrame::counting() #counting
        else if ::parlab::__private::LpFrame::marking() #marking
        else #original
    });
}

/// Adds probes to the top-level statements of a `%%lprun` body, which
/// report to the frame `lprun_cell_start` opened (`lp_cell()`), not to a
/// local `__lp`: a top-level `let __lp` would become a session variable.
pub(crate) fn instrument_cell_block(block: &mut Block, probe: Probe) {
    let mut v = Instrumenter { probe, stmt_line: None, frame: quote::quote!((*::parlab::__private::lp_cell())), marking: false, loops: 0 };
    v.visit_block_mut(block);
}

fn local_frame() -> proc_macro2::TokenStream {
    quote::quote!(__lp)
}

struct Instrumenter {
    probe: Probe,
    /// The place probes call: `__lp`, or the cell body's frame.
    frame: proc_macro2::TokenStream,
    /// The marking copy: `mark` probes and `LpIter::marks`, no interrupt
    /// checks; `pin` for statements outside loops.
    marking: bool,
    /// Loops around the statement being visited (in this frame).
    loops: u32,
    /// Line of the statement being visited in the enclosing block, so a
    /// nested block on that same line (`if x { continue; }`) adds no
    /// second event for it.
    stmt_line: Option<u32>,
}

fn lit(n: u32) -> Literal {
    Literal::u32_unsuffixed(n)
}

impl Instrumenter {
    fn line_of(&self, span: Span) -> u32 {
        span.start().line as u32 + self.probe.offset
    }

    fn enter(&self) -> Stmt {
        let (id, first, last) = (lit(self.probe.fn_id), lit(self.probe.first), lit(self.probe.last));
        parse_quote!(let __lp = ::parlab::__private::LpFrame::enter(#id, #first, #last);)
    }

    /// `{ __lp.METHOD(LINE); EXPR }`.
    fn wrap(&self, method: &str, line: u32, expr: &mut Expr) {
        let method = syn::Ident::new(if self.marking { "mark" } else { method }, Span::call_site());
        let l = lit(line);
        let frame = &self.frame;
        let inner = std::mem::replace(expr, Expr::Verbatim(Default::default()));
        *expr = parse_quote!({ #frame.#method(#l); #inner });
    }

    /// The condition of a `while`/`else if`, or its first `&&` operand,
    /// or the scrutinee of its `let`: where a header probe goes.
    fn wrap_condition(&self, method: &str, line: u32, cond: &mut Expr) {
        let mut target = cond;
        while matches!(target, Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_))) {
            let Expr::Binary(b) = target else { unreachable!() };
            target = &mut b.left;
        }
        match target {
            Expr::Let(l) => self.wrap(method, line, &mut l.expr),
            other => self.wrap(method, line, other),
        }
    }
}

/// A statement's own line probe is left out when another probe already
/// fires its line: `while` checks its condition in the header probe.
fn has_own_header(stmt: &Stmt) -> bool {
    matches!(stmt, Stmt::Expr(Expr::While(_), _))
}

impl VisitMut for Instrumenter {
    fn visit_block_mut(&mut self, block: &mut Block) {
        let lines: Vec<u32> = block.stmts.iter().map(|s| self.line_of(s.span())).collect();
        let outer = self.stmt_line;
        for (stmt, line) in block.stmts.iter_mut().zip(&lines) {
            self.stmt_line = Some(*line);
            self.visit_stmt_mut(stmt);
        }
        self.stmt_line = outer;
        let old = std::mem::take(&mut block.stmts);
        let mut prev = outer;
        for (stmt, line) in old.into_iter().zip(lines) {
            let probed = !matches!(stmt, Stmt::Item(_)) && !has_own_header(&stmt);
            // Several statements on one line are one line event, as in
            // Python (`a(); b()` is one hit).
            if probed && prev != Some(line) {
                let l = lit(line);
                let frame = &self.frame;
                let method = match (self.marking, self.loops) {
                    (false, _) => "line",
                    (true, 0) => "pin",
                    (true, _) => "mark",
                };
                let method = syn::Ident::new(method, Span::call_site());
                block.stmts.push(parse_quote!(#frame.#method(#l);));
            }
            if !matches!(stmt, Stmt::Item(_)) {
                prev = Some(line);
            }
            block.stmts.push(stmt);
        }
    }

    // Nested items cannot see `__lp`; they are not part of this function.
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
    // Async and const blocks run elsewhere or at compile time.
    fn visit_expr_async_mut(&mut self, _: &mut syn::ExprAsync) {}
    fn visit_expr_const_mut(&mut self, _: &mut syn::ExprConst) {}

    fn visit_expr_loop_mut(&mut self, l: &mut syn::ExprLoop) {
        self.loops += 1;
        visit_mut::visit_expr_loop_mut(self, l);
        self.loops -= 1;
    }

    fn visit_expr_closure_mut(&mut self, c: &mut syn::ExprClosure) {
        // Only a braced body gets a frame of its own (it may run on another
        // thread, e.g. under rayon); `|x| x * 2` stays untouched, its time
        // charged to the line that called it.
        if let Expr::Block(b) = &mut *c.body {
            if b.label.is_none() {
                // A new frame: its first line is an event even on the
                // caller's line.
                let outer = self.stmt_line.take();
                let frame = std::mem::replace(&mut self.frame, local_frame());
                let loops = std::mem::take(&mut self.loops);
                self.visit_block_mut(&mut b.block);
                self.loops = loops;
                self.frame = frame;
                self.stmt_line = outer;
                b.block.stmts.insert(0, self.enter());
            }
        }
    }

    fn visit_expr_for_loop_mut(&mut self, f: &mut syn::ExprForLoop) {
        self.loops += 1;
        visit_mut::visit_expr_for_loop_mut(self, f);
        self.loops -= 1;
        let line = lit(self.line_of(f.for_token.span));
        let iter = &f.expr;
        let frame = &self.frame;
        let ctor = syn::Ident::new(if self.marking { "marks" } else { "new" }, Span::call_site());
        *f.expr = parse_quote!(::parlab::__private::LpIter::#ctor(&#frame, #line, #iter));
    }

    fn visit_expr_while_mut(&mut self, w: &mut syn::ExprWhile) {
        self.loops += 1;
        visit_mut::visit_expr_while_mut(self, w);
        self.loops -= 1;
        let line = self.line_of(w.while_token.span);
        self.wrap_condition("header", line, &mut w.cond);
    }

    fn visit_expr_if_mut(&mut self, i: &mut syn::ExprIf) {
        visit_mut::visit_expr_if_mut(self, i);
        let if_line = self.line_of(i.if_token.span);
        if let Some((_, else_branch)) = &mut i.else_branch {
            if let Expr::If(inner) = &mut **else_branch {
                let line = self.line_of(inner.if_token.span);
                if line != if_line {
                    self.wrap_condition("line", line, &mut inner.cond);
                }
            }
        }
    }

    fn visit_expr_match_mut(&mut self, m: &mut syn::ExprMatch) {
        visit_mut::visit_expr_match_mut(self, m);
        let match_line = self.line_of(m.match_token.span);
        for arm in &mut m.arms {
            let line = self.line_of(arm.pat.span());
            if line != match_line && !matches!(*arm.body, Expr::Block(_)) {
                self.wrap("line", line, &mut arm.body);
            }
        }
    }
}
