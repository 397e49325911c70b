//! Writing messages: an owned tree of unescaped values → HL7 text.

use super::{Delimiters, escape};

/// A message as owned values: what [`super::Message::to_tree`] returns and
/// [`MessageTree::write`] writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageTree {
    /// Delimiters used when writing.
    pub delimiters: Delimiters,
    /// Segments in order.
    pub segments: Vec<SegmentTree>,
}

/// A segment as owned values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentTree {
    /// Segment id.
    pub id: String,
    /// `fields[n-1]` is field `n`: repetitions → components → sub-components,
    /// unescaped. For MSH, fields 1 and 2 hold the delimiters as written.
    pub fields: Vec<Vec<Vec<Vec<String>>>>,
}

impl MessageTree {
    /// Writes the message as text, segments terminated by CR, values escaped.
    pub fn write(&self) -> String {
        let d = &self.delimiters;
        let mut out = String::new();
        let sep = |b: u8| b as char;
        for seg in &self.segments {
            out.push_str(&seg.id);
            let is_msh = seg.id == "MSH";
            for (i, field) in seg.fields.iter().enumerate() {
                if is_msh && i == 0 {
                    out.push(sep(d.field));
                    continue;
                }
                if is_msh && i == 1 {
                    out.push_str(&d.encoding_characters());
                    continue;
                }
                out.push(sep(d.field));
                for (r, rep) in field.iter().enumerate() {
                    if r > 0 {
                        out.push(sep(d.repetition));
                    }
                    for (c, comp) in rep.iter().enumerate() {
                        if c > 0 {
                            out.push(sep(d.component));
                        }
                        for (s, sub) in comp.iter().enumerate() {
                            if s > 0 {
                                out.push(sep(d.subcomponent));
                            }
                            out.push_str(&escape(sub, d));
                        }
                    }
                }
            }
            out.push('\r');
        }
        out
    }
}
