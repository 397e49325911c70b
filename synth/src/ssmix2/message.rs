//! A message under construction: segments as field vectors, so faults can edit a
//! field by its HL7 position before the text is serialised and encoded.

/// One segment; `fields[0]` is the segment name and `fields[n]` is field *n*
/// (for MSH, `fields[n]` is MSH-*(n+1)*, because MSH-1 is the separator itself).
#[derive(Clone, Debug)]
pub struct Seg {
    /// Name and fields.
    pub fields: Vec<String>,
}

impl Seg {
    /// An empty segment `name`.
    pub fn new(name: &str) -> Seg {
        Seg {
            fields: vec![name.to_owned()],
        }
    }

    /// Sets field `n` (growing the segment with empty fields as needed).
    pub fn f(mut self, n: usize, value: impl Into<String>) -> Seg {
        self.set(n, value);
        self
    }

    /// Sets field `n` in place.
    pub fn set(&mut self, n: usize, value: impl Into<String>) {
        if self.fields.len() <= n {
            self.fields.resize(n + 1, String::new());
        }
        self.fields[n] = value.into();
    }

    /// Field `n` (empty when absent).
    pub fn get(&self, n: usize) -> &str {
        self.fields.get(n).map_or("", String::as_str)
    }

    /// The segment name.
    pub fn name(&self) -> &str {
        self.get(0)
    }
}

/// A message: its segments in order.
#[derive(Clone, Debug, Default)]
pub struct Msg {
    /// Segments.
    pub segs: Vec<Seg>,
}

impl Msg {
    /// Appends a segment.
    pub fn push(&mut self, seg: Seg) {
        self.segs.push(seg);
    }

    /// Every segment named `name`, mutably.
    pub fn each_mut<'a>(&'a mut self, name: &'a str) -> impl Iterator<Item = &'a mut Seg> + 'a {
        self.segs.iter_mut().filter(move |s| s.name() == name)
    }

    /// The text: fields joined by `|`, each segment ended by CR.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.segs.len() * 96);
        for s in &self.segs {
            for (i, f) in s.fields.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                out.push_str(f);
            }
            out.push('\r');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_land_at_their_hl7_positions() {
        let mut m = Msg::default();
        m.push(Seg::new("MSH").f(1, "^~\\&").f(8, "ADT^A08"));
        m.push(Seg::new("PID").f(1, "0001").f(3, "0000000001^^^^PI"));
        assert_eq!(
            m.to_text(),
            "MSH|^~\\&|||||||ADT^A08\rPID|0001||0000000001^^^^PI\r"
        );
        let pid = m.each_mut("PID").next().unwrap();
        pid.set(5, "X");
        assert_eq!(pid.get(5), "X");
        assert_eq!(pid.get(30), "");
    }
}
