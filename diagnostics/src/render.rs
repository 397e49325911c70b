//! Rendering diagnostics for people (text) and machines (JSON Lines), with PHI masking.

use crate::{Diagnostic, Excerpt, Location, hex};
use serde_json::{Map, Value, json};
use std::fmt::Write as _;

/// How to render diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Show protected health information instead of masking it (`--show-phi`).
    pub show_phi: bool,
}

impl Excerpt {
    /// The excerpt for a person: text, hex for bytes, or a mask for PHI.
    pub fn render(&self, opts: RenderOptions) -> String {
        match (self, self.phi()) {
            (Excerpt::Text { text, .. }, Some(kind)) if !opts.show_phi => format!(
                "[{} masked: {} characters; --show-phi shows it]",
                kind.as_str(),
                text.chars().count()
            ),
            (Excerpt::Bytes { bytes, .. }, Some(kind)) if !opts.show_phi => format!(
                "[{} masked: {} bytes; --show-phi shows it]",
                kind.as_str(),
                bytes.len()
            ),
            (Excerpt::Text { text, .. }, _) => text.clone(),
            (Excerpt::Bytes { bytes, .. }, _) => format!("bytes {}", hex(bytes)),
        }
    }

    /// The excerpt as JSON: `{"text": …}`, `{"hex": …}` or `{"masked": kind, "length": n}`.
    pub fn to_json(&self, opts: RenderOptions) -> Value {
        match (self, self.phi()) {
            (Excerpt::Text { text, .. }, Some(kind)) if !opts.show_phi => {
                json!({"masked": kind.as_str(), "length": text.chars().count()})
            }
            (Excerpt::Bytes { bytes, .. }, Some(kind)) if !opts.show_phi => {
                json!({"masked": kind.as_str(), "length": bytes.len()})
            }
            (Excerpt::Text { text, .. }, _) => json!({ "text": text }),
            (Excerpt::Bytes { bytes, .. }, _) => json!({ "hex": hex(bytes) }),
        }
    }
}

impl Location {
    /// The location as a JSON object; unknown parts are left out.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(f) = &self.file {
            m.insert("file".into(), json!(f));
        }
        if let Some(b) = self.byte {
            m.insert("byte".into(), json!(b));
        }
        if let Some(l) = self.line {
            m.insert("line".into(), json!(l));
        }
        if let Some(s) = &self.segment {
            let noun = s.noun();
            m.insert(noun.into(), json!(s.id));
            m.insert(format!("{noun}_index"), json!(s.index));
        }
        if let Some(fp) = &self.field {
            m.insert("field".into(), json!(fp.path()));
            if let Some(name) = fp.name {
                m.insert("field_name".into(), json!(name));
            }
        }
        if let Some(e) = &self.element {
            m.insert("element".into(), json!(e));
        }
        Value::Object(m)
    }
}

impl Diagnostic {
    /// Human form: a header line, the location, and the excerpt (masked if PHI).
    ///
    /// ```text
    /// warning[S003]: PID-3 patient id differs from the folder
    ///   --> 999/901/9999013/-/PPR-01/…:2: byte 151: PID-3 (segment 2)
    ///    | 1234567890
    /// ```
    pub fn render_human(&self, opts: RenderOptions) -> String {
        let mut s = format!("{}[{}]: {}", self.severity, self.code.id, self.message);
        if !self.location.is_empty() {
            let _ = write!(s, "\n  --> {}", self.location);
        }
        if let Some(e) = &self.excerpt {
            let _ = write!(s, "\n   | {}", e.render(opts));
        }
        s
    }

    /// Machine form: one JSON object with `code`, `severity`, `location`, `message`
    /// and, when present, `excerpt`.
    pub fn to_json(&self, opts: RenderOptions) -> Value {
        let mut m = Map::new();
        m.insert("code".into(), json!(self.code.id));
        m.insert("severity".into(), json!(self.severity.as_str()));
        m.insert("location".into(), self.location.to_json());
        m.insert("message".into(), json!(self.message));
        if let Some(e) = &self.excerpt {
            m.insert("excerpt".into(), e.to_json(opts));
        }
        // Keys sorted whatever serde_json's `preserve_order` (fhirbolt turns it on).
        let mut v = Value::Object(m);
        v.sort_all_objects();
        v
    }
}

#[cfg(test)]
mod tests {
    use crate::*;

    const C: Code = Code::new("X002", Severity::Error, "test");

    fn phi_diag() -> Diagnostic {
        Diagnostic::new(&C, "name has a stray escape")
            .at(Location::default()
                .file("f")
                .line(3)
                .field(FieldPath::new("PID", 5)))
            .excerpt(Excerpt::phi_text("患者太郎", Phi::Name))
    }

    #[test]
    fn phi_is_masked_by_default() {
        let text = phi_diag().render_human(RenderOptions::default());
        assert!(!text.contains("患者"), "{text}");
        assert!(text.contains("[name masked: 4 characters"), "{text}");
        let json = phi_diag().to_json(RenderOptions::default()).to_string();
        assert!(!json.contains("患者"), "{json}");
        assert!(json.contains(r#""masked":"name""#), "{json}");
    }

    #[test]
    fn phi_is_shown_on_request() {
        let opts = RenderOptions { show_phi: true };
        assert!(phi_diag().render_human(opts).contains("患者太郎"));
        assert!(phi_diag().to_json(opts).to_string().contains("患者太郎"));
    }

    #[test]
    fn bytes_render_as_hex() {
        let d = Diagnostic::new(&C, "undecodable").excerpt(Excerpt::bytes(vec![0xfb, 0xfc]));
        assert!(
            d.render_human(RenderOptions::default())
                .ends_with("bytes fb fc")
        );
        assert_eq!(
            d.to_json(RenderOptions::default())["excerpt"]["hex"],
            serde_json::json!("fb fc")
        );
    }

    #[test]
    fn human_form_has_header_location_and_excerpt() {
        let d = Diagnostic::new(&C, "bad").at(Location::default().file("f").line(2));
        assert_eq!(
            d.render_human(RenderOptions::default()),
            "error[X002]: bad\n  --> f:2"
        );
    }
}
