//! Where a diagnostic points: file, byte offset, line, segment/record and field.

use std::fmt;

/// A segment (HL7) or record (UKE) by its id and 1-based position in the file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SegmentRef {
    /// Segment or record id, e.g. `PID`, `RE`.
    pub id: String,
    /// 1-based position of the segment in its file (or of the record in its file).
    pub index: u32,
    /// True for a receipt record (UKE), false for an HL7 segment: decides the word
    /// used in output (`record 3` / `segment 3`).
    pub record: bool,
}

impl SegmentRef {
    /// `segment` or `record`.
    pub fn noun(&self) -> &'static str {
        if self.record { "record" } else { "segment" }
    }
}

/// A field path inside a segment or record: `PID-5.1[2]`, `RE-14`.
///
/// Numbers are 1-based as in the HL7 and UKE specifications (`MSH-1` is the field
/// separator; UKE column 1 is the record id). A component or sub-component of `0`
/// means "the whole field" / "the whole component"; a repetition of `0` means "not
/// applicable". The repetition is shown in brackets when it is 2 or more:
/// `PID-5.1[2]` is component 1 of the second repetition of PID-5.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldPath {
    /// Segment or record id.
    pub segment: String,
    /// Field (HL7) or column (UKE) number, 1-based.
    pub field: u32,
    /// Repetition, 1-based; 0 when not applicable.
    pub repetition: u32,
    /// Component, 1-based; 0 for the whole field.
    pub component: u32,
    /// Sub-component, 1-based; 0 for the whole component.
    pub subcomponent: u32,
    /// Optional name of the field, e.g. `カルテ番号等` (shown after the path).
    pub name: Option<&'static str>,
}

impl FieldPath {
    /// Path to a whole field.
    pub fn new(segment: impl Into<String>, field: u32) -> FieldPath {
        FieldPath {
            segment: segment.into(),
            field,
            repetition: 0,
            component: 0,
            subcomponent: 0,
            name: None,
        }
    }

    /// Sets the repetition (1-based).
    pub fn rep(mut self, repetition: u32) -> FieldPath {
        self.repetition = repetition;
        self
    }

    /// Sets the component (1-based).
    pub fn comp(mut self, component: u32) -> FieldPath {
        self.component = component;
        self
    }

    /// Sets the sub-component (1-based).
    #[allow(clippy::should_implement_trait)] // a builder step, not arithmetic
    pub fn sub(mut self, subcomponent: u32) -> FieldPath {
        self.subcomponent = subcomponent;
        self
    }

    /// Names the field.
    pub fn named(mut self, name: &'static str) -> FieldPath {
        self.name = Some(name);
        self
    }

    /// The path without the name: `PID-5.1[2]`.
    pub fn path(&self) -> String {
        let mut s = format!("{}-{}", self.segment, self.field);
        if self.component > 0 {
            s.push_str(&format!(".{}", self.component));
            if self.subcomponent > 0 {
                s.push_str(&format!(".{}", self.subcomponent));
            }
        }
        if self.repetition > 1 {
            s.push_str(&format!("[{}]", self.repetition));
        }
        s
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())?;
        if let Some(name) = self.name {
            write!(f, " ({name})")?;
        }
        Ok(())
    }
}

/// Where in the input a diagnostic points. Every part is optional; stages fill in
/// what they know (a parser knows offsets and fields, the caller knows the file).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Location {
    /// File path as given by the user (or relative to the storage root).
    pub file: Option<String>,
    /// Byte offset in the file (of the raw, undecoded bytes), 0-based.
    pub byte: Option<u64>,
    /// Line (HL7: segment line; UKE: record line), 1-based.
    pub line: Option<u32>,
    /// Segment or record.
    pub segment: Option<SegmentRef>,
    /// Field path.
    pub field: Option<FieldPath>,
    /// Element path in a FHIR resource (`Bundle.entry[2].resource.code`).
    pub element: Option<String>,
}

impl Location {
    /// Sets the file.
    pub fn file(mut self, file: impl Into<String>) -> Location {
        self.file = Some(file.into());
        self
    }

    /// Sets the byte offset.
    pub fn byte(mut self, byte: u64) -> Location {
        self.byte = Some(byte);
        self
    }

    /// Sets the line.
    pub fn line(mut self, line: u32) -> Location {
        self.line = Some(line);
        self
    }

    /// Sets the segment or record.
    pub fn segment(mut self, id: impl Into<String>, index: u32) -> Location {
        self.segment = Some(SegmentRef {
            id: id.into(),
            index,
            record: false,
        });
        self
    }

    /// Sets the receipt record (UKE): its id and 1-based record number.
    pub fn record(mut self, id: impl Into<String>, index: u32) -> Location {
        self.segment = Some(SegmentRef {
            id: id.into(),
            index,
            record: true,
        });
        self
    }

    /// Sets the field path.
    pub fn field(mut self, field: FieldPath) -> Location {
        self.field = Some(field);
        self
    }

    /// Sets the FHIR element path.
    pub fn element(mut self, element: impl Into<String>) -> Location {
        self.element = Some(element.into());
        self
    }

    /// True when nothing is known.
    pub fn is_empty(&self) -> bool {
        self == &Location::default()
    }
}

impl fmt::Display for Location {
    /// `file:line: byte N: PID-5.1[2] (segment 3)`; parts that are unknown are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        match (&self.file, self.line) {
            (Some(file), Some(line)) => parts.push(format!("{file}:{line}")),
            (Some(file), None) => parts.push(file.clone()),
            (None, Some(line)) => parts.push(format!("line {line}")),
            (None, None) => {}
        }
        if let Some(b) = self.byte {
            parts.push(format!("byte {b}"));
        }
        match (&self.field, &self.segment) {
            (Some(field), Some(seg)) => {
                parts.push(format!("{field} ({} {})", seg.noun(), seg.index))
            }
            (Some(field), None) => parts.push(field.to_string()),
            (None, Some(seg)) => parts.push(format!("{} ({} {})", seg.id, seg.noun(), seg.index)),
            (None, None) => {}
        }
        if let Some(e) = &self.element {
            parts.push(e.clone());
        }
        f.write_str(&parts.join(": "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_render_as_specified() {
        assert_eq!(FieldPath::new("PID", 5).path(), "PID-5");
        assert_eq!(FieldPath::new("PID", 5).comp(1).rep(2).path(), "PID-5.1[2]");
        assert_eq!(FieldPath::new("PID", 5).comp(1).rep(1).path(), "PID-5.1");
        assert_eq!(FieldPath::new("OBX", 3).comp(1).sub(2).path(), "OBX-3.1.2");
        assert_eq!(
            FieldPath::new("RE", 14).named("カルテ番号等").to_string(),
            "RE-14 (カルテ番号等)"
        );
    }

    #[test]
    fn location_renders_known_parts_only() {
        assert_eq!(Location::default().to_string(), "");
        let l = Location::default()
            .file("a/b")
            .line(3)
            .byte(120)
            .segment("PID", 3)
            .field(FieldPath::new("PID", 5).comp(1).rep(2));
        assert_eq!(l.to_string(), "a/b:3: byte 120: PID-5.1[2] (segment 3)");
        assert_eq!(
            Location::default().segment("MSH", 1).to_string(),
            "MSH (segment 1)"
        );
        assert_eq!(
            Location::default()
                .file("b.json")
                .element("Bundle.entry[2].resource.code")
                .to_string(),
            "b.json: Bundle.entry[2].resource.code"
        );
    }
}
