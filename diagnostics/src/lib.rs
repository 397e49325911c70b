//! The diagnostics model shared by every kakehashi stage.
//!
//! Bad input never panics and never vanishes: each stage reports what it found as
//! [`Diagnostic`] values — a stable [`Code`], a [`Severity`], a [`Location`]
//! (file, byte offset, line, segment or record, field path such as `PID-5.1[2]`),
//! a message and, optionally, an [`Excerpt`] of the offending input.
//!
//! Excerpts that carry protected health information (names, addresses, phone
//! numbers, birth dates, insurance numbers) are tagged with a [`Phi`] kind and are
//! masked by the renderers unless the user asked for them
//! ([`RenderOptions::show_phi`]). Messages themselves must never contain PHI: put
//! the offending text in the excerpt, where the renderer can mask it.
//!
//! Undecodable bytes are kept as bytes ([`Excerpt::Bytes`]) and rendered as hex,
//! never replaced by U+FFFD.
//!
//! ```
//! use diagnostics::{Code, Diagnostic, Diagnostics, FieldPath, Location, Severity};
//!
//! const EMPTY_NAME: Code = Code::new("H999", Severity::Warning, "example: empty name");
//! let mut diags = Diagnostics::default();
//! diags.push(
//!     Diagnostic::new(&EMPTY_NAME, "patient name is empty")
//!         .at(Location::default().file("a.hl7").line(3).field(FieldPath::new("PID", 5))),
//! );
//! assert!(!diags.has_errors());
//! assert_eq!(diags.iter().next().unwrap().location.to_string(), "a.hl7:3: PID-5");
//! ```

#![deny(missing_docs)]

mod location;
mod render;
pub mod text;

pub use location::{FieldPath, Location, SegmentRef};
pub use render::RenderOptions;

use std::fmt;

/// How bad a finding is.
///
/// Ordered: `Info < Warning < Error`, so `max()` over a list gives the worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Noted, nothing to do (e.g. a spelling variant that was accepted).
    Info,
    /// Processed, but a person should look (e.g. a folder that disagrees with its message).
    Warning,
    /// The item could not be processed as it is (it is skipped or quarantined).
    Error,
}

impl Severity {
    /// Lower-case name used in every output: `error`, `warning`, `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stable diagnostic code with its default severity and a one-line summary.
///
/// Codes are `&'static` constants declared by the stage that raises them; the id is
/// a stage letter plus three digits (`E` text encoding, `H` HL7 v2, `S` SS-MIX2
/// storage, `U` UKE receipts, `T` tables, `M` mappers, `V` validation, `C` CLI).
/// Ids never change meaning once released; `docs/diagnostics.md` lists them all.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Code {
    /// Stable identifier, e.g. `H012`.
    pub id: &'static str,
    /// Severity a diagnostic of this code has unless a policy changes it.
    pub severity: Severity,
    /// What the code means, in one line (no input text).
    pub summary: &'static str,
}

impl Code {
    /// Declares a code; use in a `const`.
    pub const fn new(id: &'static str, severity: Severity, summary: &'static str) -> Code {
        Code {
            id,
            severity,
            summary,
        }
    }
}

/// Kinds of protected health information an excerpt may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phi {
    /// A person's name (kanji or kana).
    Name,
    /// A postal address or postcode.
    Address,
    /// A telephone number.
    Phone,
    /// A birth date.
    BirthDate,
    /// An insurance number, insured-person symbol/number or public-payer recipient number.
    InsuranceNumber,
    /// Any other free text that may identify a person (e.g. a whole segment).
    Other,
}

impl Phi {
    /// Lower-case name used in masked output.
    pub fn as_str(self) -> &'static str {
        match self {
            Phi::Name => "name",
            Phi::Address => "address",
            Phi::Phone => "phone",
            Phi::BirthDate => "birth date",
            Phi::InsuranceNumber => "insurance number",
            Phi::Other => "personal data",
        }
    }
}

/// The offending input, as text or as raw bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Excerpt {
    /// Decoded text; `phi` tells the renderer to mask it.
    Text {
        /// The text as found (after decoding).
        text: String,
        /// Set when the text is protected health information.
        phi: Option<Phi>,
    },
    /// Bytes that could not be decoded (rendered as hex, never as U+FFFD).
    Bytes {
        /// The bytes as found.
        bytes: Vec<u8>,
        /// Set when the bytes sit in a field that holds protected health information.
        phi: Option<Phi>,
    },
}

impl Excerpt {
    /// Plain (non-PHI) text.
    pub fn text(text: impl Into<String>) -> Excerpt {
        Excerpt::Text {
            text: text.into(),
            phi: None,
        }
    }

    /// Text that is protected health information.
    pub fn phi_text(text: impl Into<String>, kind: Phi) -> Excerpt {
        Excerpt::Text {
            text: text.into(),
            phi: Some(kind),
        }
    }

    /// Raw bytes.
    pub fn bytes(bytes: impl Into<Vec<u8>>) -> Excerpt {
        Excerpt::Bytes {
            bytes: bytes.into(),
            phi: None,
        }
    }

    /// The PHI kind, if any.
    pub fn phi(&self) -> Option<Phi> {
        match self {
            Excerpt::Text { phi, .. } | Excerpt::Bytes { phi, .. } => *phi,
        }
    }

    /// Marks the excerpt as PHI of the given kind (keeps an existing mark).
    pub fn with_phi(mut self, kind: Option<Phi>) -> Excerpt {
        match &mut self {
            Excerpt::Text { phi, .. } | Excerpt::Bytes { phi, .. } => {
                if phi.is_none() {
                    *phi = kind;
                }
            }
        }
        self
    }
}

/// One finding about the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code.
    pub code: &'static Code,
    /// Severity (the code's default unless a policy changed it).
    pub severity: Severity,
    /// Where in the input.
    pub location: Location,
    /// What is wrong, for a person. Never contains PHI.
    pub message: String,
    /// The offending input, if useful.
    pub excerpt: Option<Excerpt>,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity and an empty location.
    pub fn new(code: &'static Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity,
            location: Location::default(),
            message: message.into(),
            excerpt: None,
        }
    }

    /// Sets the location.
    pub fn at(mut self, location: Location) -> Diagnostic {
        self.location = location;
        self
    }

    /// Attaches the offending input.
    pub fn excerpt(mut self, excerpt: Excerpt) -> Diagnostic {
        self.excerpt = Some(excerpt);
        self
    }

    /// Overrides the severity (for documented policies only).
    pub fn severity(mut self, severity: Severity) -> Diagnostic {
        self.severity = severity;
        self
    }
}

/// An ordered collection of diagnostics: the sink every stage reports into.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Adds one diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    /// Adds many diagnostics.
    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(ds);
    }

    /// True when any diagnostic has error severity.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// The worst severity, if any diagnostic was reported.
    pub fn worst(&self) -> Option<Severity> {
        self.items.iter().map(|d| d.severity).max()
    }

    /// Number of diagnostics.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing was reported.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Iterates in report order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// Mutable access, e.g. to fill in the file of every location.
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Diagnostic> {
        self.items.iter_mut()
    }

    /// Sets the file of every diagnostic that has none.
    pub fn set_file(&mut self, file: &str) {
        for d in &mut self.items {
            if d.location.file.is_none() {
                d.location.file = Some(file.to_owned());
            }
        }
    }

    /// Consumes the collection.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(items: Vec<Diagnostic>) -> Diagnostics {
        Diagnostics { items }
    }
}

/// Lowercase hex of bytes, space-separated (`fb fc`): how undecodable bytes are shown.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: Code = Code::new("X001", Severity::Warning, "test");

    #[test]
    fn severity_order_gives_worst() {
        let mut d = Diagnostics::default();
        assert_eq!(d.worst(), None);
        d.push(Diagnostic::new(&C, "a"));
        d.push(Diagnostic::new(&C, "b").severity(Severity::Info));
        assert_eq!(d.worst(), Some(Severity::Warning));
        assert!(!d.has_errors());
        d.push(Diagnostic::new(&C, "c").severity(Severity::Error));
        assert!(d.has_errors());
    }

    #[test]
    fn hex_is_spaced_lowercase() {
        assert_eq!(hex(&[0xfb, 0xfc, 0x0a]), "fb fc 0a");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn set_file_keeps_existing() {
        let mut d = Diagnostics::default();
        d.push(Diagnostic::new(&C, "a").at(Location::default().file("x")));
        d.push(Diagnostic::new(&C, "b"));
        d.set_file("y");
        let files: Vec<_> = d.iter().map(|d| d.location.file.clone()).collect();
        assert_eq!(files, vec![Some("x".to_owned()), Some("y".to_owned())]);
    }
}
