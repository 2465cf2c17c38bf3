//! Rich output from a cell, as it happens.
//!
//! evcxr's own content channel keeps one block per MIME type per cell and
//! delivers it when the cell ends. parlab needs several blocks per cell, in
//! order, some of them updated in place (progress, live tables), so the
//! runtime writes each block as one marker line on stdout:
//!
//! ```text
//! \x01PARLAB {"t":"display","data":{"text/plain":"…","text/html":"…"},"id":null,"update":false}
//! ```
//!
//! The kernel recognises the prefix in the stream it relays and turns the
//! line into a Jupyter `display_data` (or `update_display_data` when
//! `update` is true). Outside the kernel (a doc-test, a plain binary) the
//! line is just printed; [`MimeBundle`] keeps a `text/plain` fallback so
//! that is still readable.

use serde::Serialize;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// The prefix of every runtime-to-kernel line. Starts with `\x01` so it can
/// never be confused with text a user prints.
pub(crate) use parlab_child::MARKER;

/// One output block: the same content in several MIME types.
///
/// ```
/// use parlab::MimeBundle;
/// let b = MimeBundle::text("3 items").with_html("<b>3</b> items");
/// assert_eq!(b.get("text/plain"), Some("3 items"));
/// ```
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(transparent)]
pub struct MimeBundle {
    data: std::collections::BTreeMap<String, String>,
}

impl MimeBundle {
    /// A bundle with only `text/plain`.
    pub fn text(text: impl Into<String>) -> Self {
        Self::default().with("text/plain", text)
    }

    /// Adds (or replaces) one MIME type.
    pub fn with(mut self, mime: &str, content: impl Into<String>) -> Self {
        self.data.insert(mime.to_owned(), content.into());
        self
    }

    /// Adds `text/html`.
    pub fn with_html(self, html: impl Into<String>) -> Self {
        self.with("text/html", html)
    }

    /// Adds `image/svg+xml`.
    pub fn with_svg(self, svg: impl Into<String>) -> Self {
        self.with("image/svg+xml", svg)
    }

    /// The content for one MIME type.
    pub fn get(&self, mime: &str) -> Option<&str> {
        self.data.get(mime).map(String::as_str)
    }

    /// Writes the bundle in evcxr's `EVCXR_BEGIN_CONTENT` format, which is
    /// what a type's `evcxr_display` method must print to become the cell's
    /// value (`execute_result`).
    pub fn evcxr_display(&self) {
        let mut out = std::io::stdout().lock();
        for (mime, content) in &self.data {
            let _ = writeln!(out, "EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT");
        }
        let _ = out.flush();
    }
}

#[derive(Serialize)]
struct DisplayMsg<'a> {
    t: &'static str,
    data: &'a MimeBundle,
    id: Option<&'a str>,
    update: bool,
}

pub(crate) fn emit(json: &impl Serialize) {
    let line = serde_json::to_string(json).expect("marker serializes");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{MARKER}{line}");
    let _ = out.flush();
}

/// Shows a block now, below whatever the cell printed so far.
pub fn display(bundle: MimeBundle) {
    emit(&DisplayMsg { t: "display", data: &bundle, id: None, update: false });
}

/// A block that can be replaced in place later (progress, live results).
///
/// ```
/// use parlab::{DisplayHandle, MimeBundle};
/// let h = DisplayHandle::show(MimeBundle::text("0 %"));
/// h.update(MimeBundle::text("100 %"));
/// ```
#[derive(Debug, Clone)]
pub struct DisplayHandle {
    id: String,
}

impl DisplayHandle {
    /// Displays `bundle` and returns a handle to replace it.
    pub fn show(bundle: MimeBundle) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let id = format!("parlab-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        emit(&DisplayMsg { t: "display", data: &bundle, id: Some(&id), update: false });
        DisplayHandle { id }
    }

    /// Replaces the block everywhere it is shown.
    pub fn update(&self, bundle: MimeBundle) {
        emit(&DisplayMsg { t: "display", data: &bundle, id: Some(&self.id), update: true });
    }
}

/// Clears the cell's output so far, as IPython's `clear_output`; with
/// `wait`, the frontend clears only when the next output arrives (no
/// flicker in a progress loop).
///
/// ```
/// parlab::clear_output(true);
/// ```
pub fn clear_output(wait: bool) {
    #[derive(Serialize)]
    struct Clear {
        t: &'static str,
        wait: bool,
    }
    emit(&Clear { t: "clear", wait });
}
