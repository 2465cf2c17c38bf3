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
//! (`parlab_child::marker` writes it: the format is defined there alone.)
//! The kernel recognises the prefix in the stream it relays and turns the
//! line into a Jupyter `display_data` (or `update_display_data` when
//! `update` is true). Outside the kernel (a doc-test, a plain binary) the
//! line is just printed; [`MimeBundle`] keeps a `text/plain` fallback so
//! that is still readable.

use serde::Serialize;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

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
        // Without it, the kernel would show the blocks as displays.
        let _ = out.write_all(parlab_child::marker::value().as_bytes());
        for (mime, content) in &self.data {
            let _ = writeln!(out, "EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT");
        }
        let _ = out.flush();
    }
}

/// An SVG chart as HTML: an `<img>` whose source is the SVG as a base64
/// `data:` URI, with `alt` as its text.
///
/// Not the `<svg>` inline, and not only an `image/svg+xml` output: the course
/// notebooks are opened with saved outputs, so untrusted, and JupyterLab then
/// renders only its "safe" MIME types (`text/html`, sanitized, but not
/// `image/svg+xml`) and its sanitizer drops `<svg>` elements, leaving the
/// chart's labels as run-on text. `<img>` passes, and so does its `data:`
/// source (JupyterLab checks URI schemes only on `href` and `cite`).
/// `tests/test_browser.py` opens a saved notebook to check the chart shows.
///
/// ```
/// let html = parlab::display::svg_img("<svg xmlns=\"http://www.w3.org/2000/svg\"/>", "a <chart>");
/// assert!(html.starts_with("<img src=\"data:image/svg+xml;base64,PHN2Zy"));
/// assert!(html.ends_with("alt=\"a &lt;chart&gt;\">"));
/// ```
pub fn svg_img(svg: &str, alt: &str) -> String {
    format!("<img src=\"data:image/svg+xml;base64,{}\" alt=\"{}\">", base64(svg.as_bytes()), escape_html(alt))
}

/// The SVG `draw` writes, or a one-line SVG naming its error: a chart that
/// cannot be drawn never fails the cell that shows it.
pub(crate) fn svg_or_error<E: std::fmt::Display>(draw: impl FnOnce(&mut String) -> Result<(), E>) -> String {
    let mut svg = String::new();
    match draw(&mut svg) {
        Ok(()) => svg,
        Err(e) => format!("<svg xmlns=\"http://www.w3.org/2000/svg\"><text y=\"20\">chart failed: {}</text></svg>", escape_html(&e.to_string())),
    }
}

/// Escapes text for HTML content and double-quoted attribute values.
pub(crate) fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Standard base64 with padding (RFC 4648). A dozen lines instead of the
/// `base64` crate: every cell that uses parlab pays each of its dependency
/// crates a fingerprint check and link (see ARCHITECTURE.md).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            let c = if i <= chunk.len() { ABC[((n >> (18 - 6 * i)) & 63) as usize] } else { b'=' };
            out.push(char::from(c));
        }
    }
    out
}

/// Writes one marker line (one `write`, so it cannot interleave).
fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}

fn display_line(bundle: &MimeBundle, id: Option<&str>, update: bool) -> String {
    parlab_child::marker::display(bundle.data.iter().map(|(m, c)| (m.as_str(), c.as_str())), id, update)
}

/// Shows a block now, below whatever the cell printed so far.
pub fn display(bundle: MimeBundle) {
    emit(&display_line(&bundle, None, false));
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
        emit(&display_line(&bundle, Some(&id), false));
        DisplayHandle { id }
    }

    /// Replaces the block everywhere it is shown.
    pub fn update(&self, bundle: MimeBundle) {
        emit(&display_line(&bundle, Some(&self.id), true));
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
    emit(&parlab_child::marker::clear(wait));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
        assert_eq!(base64("μs <\u{ff}>".as_bytes()), "zrxzIDzDvz4=");
    }
}
