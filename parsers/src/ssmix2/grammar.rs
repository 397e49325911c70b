//! Segment grammars of the SS-MIX2 message types, checked by an NFA over segment ids.
//!
//! The grammars are the regular expressions of the NHO SS-MIX2 checker
//! (`include/HL7_SEGMENTORDER.json`, nhoHQ/SSMIX2DataTestingTool, Apache-2.0): an
//! atom `(XXX)` is a segment id, `(` … `)` groups, `*` `+` `?` repeat, `.` is any
//! segment. Two deliberate changes: the match is anchored at both ends (the checker
//! anchored only the start, so any prefix passed), and in `OUL^R22` the `NTE`
//! after each `OBX` is optional (`(NTE)*`), as the guideline's own OML-11 example
//! has none.

/// One compiled grammar.
#[derive(Debug)]
pub struct Grammar {
    insts: Vec<Inst>,
}

#[derive(Clone, Debug)]
enum Inst {
    Seg([u8; 3]),
    Any,
    Split(usize, usize),
    Jmp(usize),
    Match,
}

/// Where a segment sequence stops following the grammar.
#[derive(Debug, PartialEq, Eq)]
pub enum Deviation {
    /// The segment at this 0-based position is not allowed there.
    Unexpected(usize),
    /// The sequence ends before the grammar is complete.
    Incomplete,
}

/// The grammar of a message type (`MSH-9.1^MSH-9.2`), if SS-MIX2 uses it.
pub fn for_message_type(message_type: &str) -> Option<&'static Grammar> {
    use std::sync::OnceLock;
    static ALL: OnceLock<Vec<(&'static str, Grammar)>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        SOURCES
            .iter()
            .filter_map(|(t, src)| Grammar::compile(src).map(|g| (*t, g)))
            .collect()
    });
    all.iter().find(|(t, _)| *t == message_type).map(|(_, g)| g)
}

/// Message types that have a grammar.
pub fn message_types() -> impl Iterator<Item = &'static str> {
    SOURCES.iter().map(|(t, _)| *t)
}

impl Grammar {
    /// Compiles a grammar; `None` if the source is malformed (a bug in [`SOURCES`],
    /// caught by the tests).
    pub fn compile(src: &str) -> Option<Grammar> {
        let src = src.strip_prefix('^').unwrap_or(src).as_bytes();
        let mut c = Compiler {
            src,
            pos: 0,
            insts: Vec::new(),
        };
        c.seq()?;
        if c.pos != src.len() {
            return None;
        }
        c.insts.push(Inst::Match);
        Some(Grammar { insts: c.insts })
    }

    /// Checks a sequence of segment ids; `Ok` when the whole sequence matches.
    pub fn check<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Result<(), Deviation> {
        let mut current = Vec::new();
        let mut seen = vec![usize::MAX; self.insts.len()];
        self.add(&mut current, &mut seen, 0, 0);
        for (i, id) in ids.into_iter().enumerate() {
            let id = id.as_bytes();
            let mut next = Vec::new();
            let step = i + 1;
            for &pc in &current {
                let ok = match &self.insts[pc] {
                    Inst::Seg(s) => id == s.as_slice(),
                    Inst::Any => true,
                    _ => false,
                };
                if ok {
                    self.add(&mut next, &mut seen, pc + 1, step);
                }
            }
            if next.is_empty() {
                return Err(Deviation::Unexpected(i));
            }
            current = next;
        }
        if current
            .iter()
            .any(|&pc| matches!(self.insts[pc], Inst::Match))
        {
            Ok(())
        } else {
            Err(Deviation::Incomplete)
        }
    }

    /// The segments that, inserted right before position `i` (the one
    /// [`Deviation::Unexpected`] names, or `ids.len()` for
    /// [`Deviation::Incomplete`]), let the sequence go on: what is missing there.
    /// For `i == ids.len()` the inserted segment must complete the message. Sorted,
    /// without duplicates; empty when no single segment helps.
    pub fn missing_before(&self, ids: &[&str], i: usize) -> Vec<String> {
        let mut current = Vec::new();
        let mut step = 0usize;
        let mut seen = vec![usize::MAX; self.insts.len()];
        self.add(&mut current, &mut seen, 0, step);
        for id in ids.iter().take(i) {
            step += 1;
            current = self.advance(&current, id.as_bytes(), &mut seen, step);
            if current.is_empty() {
                return Vec::new();
            }
        }
        let mut candidates: Vec<[u8; 3]> = current
            .iter()
            .filter_map(|&pc| match self.insts[pc] {
                Inst::Seg(s) => Some(s),
                _ => None,
            })
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let mut out = Vec::new();
        for cand in candidates {
            let mut seen2 = vec![usize::MAX; self.insts.len()];
            let after = self.advance(&current, &cand, &mut seen2, 1);
            let fits = match ids.get(i) {
                Some(next) => !self
                    .advance(&after, next.as_bytes(), &mut seen2, 2)
                    .is_empty(),
                None => after
                    .iter()
                    .any(|&pc| matches!(self.insts[pc], Inst::Match)),
            };
            if fits {
                out.push(String::from_utf8_lossy(&cand).into_owned());
            }
        }
        out
    }

    fn advance(&self, current: &[usize], id: &[u8], seen: &mut [usize], step: usize) -> Vec<usize> {
        let mut next = Vec::new();
        for &pc in current {
            let ok = match &self.insts[pc] {
                Inst::Seg(s) => id == s.as_slice(),
                Inst::Any => true,
                _ => false,
            };
            if ok {
                self.add(&mut next, seen, pc + 1, step);
            }
        }
        next
    }

    fn add(&self, list: &mut Vec<usize>, seen: &mut [usize], pc: usize, step: usize) {
        if seen[pc] == step {
            return;
        }
        seen[pc] = step;
        match self.insts[pc] {
            Inst::Jmp(t) => self.add(list, seen, t, step),
            Inst::Split(a, b) => {
                self.add(list, seen, a, step);
                self.add(list, seen, b, step);
            }
            _ => list.push(pc),
        }
    }
}

struct Compiler<'s> {
    src: &'s [u8],
    pos: usize,
    insts: Vec<Inst>,
}

impl Compiler<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    /// seq := (atom postfix?)*
    fn seq(&mut self) -> Option<()> {
        while let Some(c) = self.peek() {
            if c == b')' {
                break;
            }
            let start = self.insts.len();
            self.atom()?;
            self.postfix(start)?;
        }
        Some(())
    }

    fn atom(&mut self) -> Option<()> {
        match self.peek()? {
            b'.' => {
                self.pos += 1;
                self.insts.push(Inst::Any);
            }
            b'(' => {
                self.pos += 1;
                let rest = self.src.get(self.pos..self.pos + 4);
                match rest {
                    Some([a, b, c, b')'])
                        if [a, b, c]
                            .iter()
                            .all(|x| x.is_ascii_uppercase() || x.is_ascii_digit()) =>
                    {
                        self.insts.push(Inst::Seg([*a, *b, *c]));
                        self.pos += 4;
                    }
                    _ => {
                        self.seq()?;
                        if self.peek()? != b')' {
                            return None;
                        }
                        self.pos += 1;
                    }
                }
            }
            _ => return None,
        }
        Some(())
    }

    /// Applies `*`, `+` or `?` to the instructions from `start`.
    fn postfix(&mut self, start: usize) -> Option<()> {
        let Some(op @ (b'*' | b'+' | b'?')) = self.peek() else {
            return Some(());
        };
        self.pos += 1;
        let body: Vec<Inst> = self.insts.split_off(start);
        let n = body.len();
        let shift = |insts: Vec<Inst>, by: usize| -> Vec<Inst> {
            insts
                .into_iter()
                .map(|i| match i {
                    Inst::Split(a, b) => Inst::Split(a + by, b + by),
                    Inst::Jmp(t) => Inst::Jmp(t + by),
                    other => other,
                })
                .collect()
        };
        match op {
            b'*' => {
                // L: split body, out; body; jmp L; out:
                self.insts.push(Inst::Split(start + 1, start + n + 2));
                self.insts.extend(shift(body, 1));
                self.insts.push(Inst::Jmp(start));
            }
            b'+' => {
                // L: body; split L, out; out:
                self.insts.extend(body);
                self.insts.push(Inst::Split(start, start + n + 1));
            }
            _ => {
                // split body, out; body; out:
                self.insts.push(Inst::Split(start + 1, start + n + 1));
                self.insts.extend(shift(body, 1));
            }
        }
        // A repeated group may itself be followed by another postfix (`(A)*?` is not
        // used by the sources, but keep the parse total).
        Some(())
    }
}

/// Grammar sources by message type (see the module docs for their origin).
pub const SOURCES: &[(&str, &str)] = &[
    (
        "ADT^A01",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(ROL)*(NK1)*(PV1)(PV2)?(ROL)*(DB1)*(OBX)*(AL1)*(DG1)*(DRG)?((PR1)(ROL)*)*(GT1)*((IN1)(IN2)?(IN3)*(ROL)*)*(ACC)?(UB1)?(UB2)?(PDA)?",
    ),
    (
        "ADT^A02",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(ROL)*(PV1)(PV2)?(ROL)*(DB1)*(OBX)*(PDA)?",
    ),
    (
        "ADT^A03",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(ROL)*(NK1)*(PV1)(PV2)?(ROL)*(DB1)*(AL1)*(DG1)*(DRG)?((PR1)(ROL)*)*(OBX)*(GT1)*((IN1)(IN2)?(IN3)*(ROL)*)*(ACC)?(PDA)?",
    ),
    (
        "ADT^A04",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(ROL)*(NK1)*(PV1)(PV2)?(ROL)*(DB1)*(OBX)*(AL1)*(DRG)?((PR1)(ROL)*)*(GT1)*((IN1)(IN2)?(IN3)*(ROL)*)*(ACC)?(UB1)?(UB2)?(PDA)?",
    ),
    (
        "ADT^A08",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(ROL)*(NK1)*(PV1)(PV2)?(ROL)*(DB1)*(OBX)*(AL1)*(DG1)*(DRG)?((PR1)(ROL)*)*(GT1)*((IN1)(IN2)?(IN3)*(ROL)*)*(ACC)?(UB1)?(UB2)?(PDA)?",
    ),
    (
        "ADT^A11",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(PV1)(PV2)?(DB1)*(OBX)*(DG1)*",
    ),
    (
        "ADT^A12",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(PV1)(PV2)?(DB1)*(OBX)*(DG1)*",
    ),
    (
        "ADT^A13",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(ROL)*(NK1)*(PV1)(PV2)?(ROL)*(DB1)*(OBX)*(AL1)*(DG1)*(DRG)?((PR1)(ROL)*)*(GT1)*((IN1)(IN2)?(IN3)*(ROL)*)*(ACC)?(UB1)?(UB2)?(PDA)?",
    ),
    (
        "ADT^A14",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(ROL)*(NK1)*(PV1)(PV2)?(ROL)*(DB1)*(OBX)*(AL1)*(DG1)*(DRG)?((PR1)(ROL)*)*(GT1)*((IN1)(IN2)?(IN3)*(ROL)*)*(ACC)?(UB1)?(UB2)?",
    ),
    (
        "ADT^A15",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(ROL)*(PV1)(PV2)?(ROL)*(DB1)*(OBX)*(DG1)*",
    ),
    (
        "ADT^A16",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(ROL)*(NK1)*(PV1)(PV2)?(ROL)*(DB1)*(OBX)*(AL1)*(DG1)*(DRG)?((PR1)(ROL)*)*(GT1)*((IN1)(IN2)?(IN3)*(ROL)*)*(ACC)?",
    ),
    (
        "ADT^A21",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(PV1)(PV2)?(DB1)*(OBX)*",
    ),
    (
        "ADT^A22",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(PV1)(PV2)?(DB1)*(OBX)*",
    ),
    (
        "ADT^A23",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(PV1)(PV2)?(DB1)*(OBX)*",
    ),
    (
        "ADT^A25",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(PV1)(PV2)?(DB1)*(OBX)*",
    ),
    (
        "ADT^A26",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(PV1)(PV2)?(DB1)*(OBX)*",
    ),
    (
        "ADT^A27",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(PV1)(PV2)?(DB1)*(OBX)*",
    ),
    ("ADT^A52", "^(MSH)(SFT)*(EVN)(PID)(PD1)?(PV1)(PV2)?"),
    ("ADT^A53", "^(MSH)(SFT)*(EVN)(PID)(PD1)?(PV1)(PV2)?"),
    (
        "ADT^A54",
        "^(MSH)(SFT)*(EVN)(PID)(PD1)?(ROL)*(PV1)(PV2)?(ROL)*",
    ),
    ("ADT^A55", "^(MSH)(SFT)*(EVN)(PID)(PD1)?(PV1)(PV2)?"),
    ("ADT^A60", "^(MSH)(SFT)*(EVN)(PID)(PV1)?(PV2)?(IAM)*"),
    (
        "OMD^O03",
        "^(MSH)(SFT)*(NTE)*((PID)(PD1)?(NTE)*((PV1)(PV2)*)?((IN1)(IN2)?(IN3)?)*(GT1)?(AL1)*)?((ORC)((TQ1)(TQ2)*)*((ODS)+(NTE)*((OBX)(NTE)*)*)?)+((ORC)((TQ1)(TQ2)*)*(ODT)+(NTE)*)*",
    ),
    (
        "OMG^O19",
        "^(MSH)(SFT)*(NTE)*((PID)(PD1)?(NTE)*(NK1)*((PV1)(PV2)?)?((IN1)(IN2)?(IN3)?)*(GT1)?(AL1)*)?((ORC)((TQ1)(TQ2)*)+(OBR)(NTE)*(CTD)?(DG1)*((OBX)(NTE)*)*((SPM)(OBX)*((SAC)(OBX)*)*)*(((PID)(PD1)?)?((PV1)(PV2)?)?(AL1)*((ORC)?(OBR)((TQ1)(TQ2)*)*(NTE)*(CTD)?((OBX)(NTE)*)+)+)*(FT1)*(CT1)*(BLG)?)+",
    ),
    (
        "OMI^Z23",
        "^(MSH)(SFT)*(NTE)*((PID)(PD1)?(NTE)*((PV1)(PV2)?)?((IN1)(IN2)?(IN3)?)*(GT1)?(AL1)*)?((ORC)((TQ1)(TQ2)*)+(OBR)(NTE)*(CTD)?(DG1)*((OBX)(NTE)*)*((ZE1)(OBX)*(ZE2)*)*(IPC)+)+",
    ),
    (
        "OML^O33",
        "^(MSH)(SFT)*(NTE)*((PID)(PD1)?(NTE)*(NK1)*((PV1)(PV2)?)?((IN1)(IN2)?(IN3)?)*(GT1)?(AL1)*)?((SPM)(OBX)*(SAC)*((ORC)((TQ1)(TQ2)*)*((OBR)(TCD)?(NTE)*(DG1)*((OBX)(TCD)?(NTE)*)*(((PID)(PD1)?)?((PV1)(PV2)?)?(AL1)*((ORC)?(OBR)(NTE)*((TQ1)(TQ2)*)*((OBX)(NTE)*)+)+)*)?(FT1)*(CTI)*(BLG)?)+)+",
    ),
    (
        "ORU^R01",
        "^(MSH)(SFT)*(((PID)(PD1)?(NTE)*(NK1)*((PV1)(PV2)?)?)?((ORC)?(OBR)(NTE)*((TQ1)(TQ2)*)*(CTD)?((OBX)(NTE)*)*(FT1)*(CT1)*((SPM)(OBX)*)*)+)+(DSC)?",
    ),
    (
        "ORU^R30",
        "^(MSH)(SFT)*(PID)(PD1)?((PV1)(PV2)?)?(ORC)(OBR)(NTE)*((TQ1)(TQ2)*)*((OBX)(NTE)*)+",
    ),
    (
        "OUL^R22",
        "^(MSH)(SFT)*(NTE)?((PID)(PD1)?(NTE)*)?((PV1)(PV2)?)?((SPM)(OBX)*((SAC)(INV)?)*((OBR)(ORC)?(NTE)*((TQ1)(TQ2)*)*((OBX)(TCD)?(SID)*(NTE)*)*(CTI)*)+)+(DSC)?",
    ),
    (
        "PPR^ZD1",
        "^(MSH)(SFT)*(PID)((PV1)(PV2)?)?((PRB)(ZPR)?(ZPD)*(NTE)*(VAR)*((ROL)(VAR)*)*((PTH)(VAR)*)*(ZI1)*((OBX)(NTE)*)*((GOL)(NTE)*(VAR)*((ROL)(VAR)*)*((OBX)(NTE)*)*)*((ORC)(.*(NTE)*(VAR)*((OBX)(NTE)*(VAR)*)*)?)*)+",
    ),
    (
        "RAS^O17",
        "^(MSH)(SFT)*(NTE)*((PID)(PD1)?(NTE)*(AL1)*((PV1)(PV2)?)?)?((ORC)((TQ1)(TQ2)*)*((RXO)(NTE)+(RXR)+((RXC)(NTE)*)*)?((RXE)((TQ1)(TQ2)*)*(RXR)+(RXC)*)?((RXA)+(RXR)((OBX)(NTE)*)*)+(CTI)*)+",
    ),
    (
        "RDE^O11",
        "^(MSH)(SFT)*(NTE)*((PID)(PD1)?(NTE)*((PV1)(PV2)?)?((IN1)(IN2)?(IN3)?)*(GT1)?(AL1)*)?((ORC)((TQ1)(TQ2)*)*((RXO)(NTE)*(RXR)+((RXC)(NTE)*)*)?(RXE)(NTE)*((TQ1)(TQ2)*)+(RXR)+(RXC)*((OBX)(NTE)*)*(FT1)*(BLG)?(CTI)*)+",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_compiles() {
        for (t, src) in SOURCES {
            assert!(Grammar::compile(src).is_some(), "{t}");
            assert!(for_message_type(t).is_some(), "{t}");
        }
        assert_eq!(message_types().count(), 32);
    }

    #[test]
    fn anchored_matching_and_deviations() {
        let g = for_message_type("ADT^A60").unwrap();
        assert_eq!(g.check(["MSH", "EVN", "PID", "IAM", "IAM"]), Ok(()));
        assert_eq!(g.check(["MSH", "EVN", "PID"]), Ok(()));
        assert_eq!(g.check(["MSH", "PID"]), Err(Deviation::Unexpected(1)));
        assert_eq!(g.check(["MSH", "EVN"]), Err(Deviation::Incomplete));
        assert_eq!(
            g.check(["MSH", "EVN", "PID", "IAM", "PV1"]),
            Err(Deviation::Unexpected(4))
        );
        let g = for_message_type("RDE^O11").unwrap();
        let ok = [
            "MSH", "PID", "PV1", "ORC", "RXE", "TQ1", "RXR", "ORC", "RXE", "TQ1", "RXR",
        ];
        assert_eq!(g.check(ok), Ok(()));
        assert_eq!(
            g.check(["MSH", "PID", "ORC", "RXE", "RXR"]),
            Err(Deviation::Unexpected(4))
        );
    }

    #[test]
    fn missing_segments_are_named() {
        let g = for_message_type("RDE^O11").unwrap();
        let ids = ["MSH", "PID", "ORC", "RXE", "RXR"];
        assert_eq!(g.check(ids), Err(Deviation::Unexpected(4)));
        assert_eq!(g.missing_before(&ids, 4), vec!["TQ1".to_owned()]);
        let ids = ["MSH", "PID", "ORC", "RXE"];
        assert_eq!(g.check(ids), Err(Deviation::Incomplete));
        // Ending after RXE needs a TQ1 and an RXR: no single segment completes it.
        assert!(g.missing_before(&ids, 4).is_empty());
        let ids = ["MSH", "PID", "ORC", "RXE", "TQ1"];
        assert_eq!(g.missing_before(&ids, 5), vec!["RXR".to_owned()]);
        let g = for_message_type("ADT^A60").unwrap();
        assert_eq!(g.missing_before(&["MSH", "PID"], 1), vec!["EVN".to_owned()]);
        // Out of range and impossible prefixes give nothing.
        assert!(g.missing_before(&["PID", "PID"], 2).is_empty());
        assert!(g.missing_before(&["MSH"], 7).is_empty());
    }

    #[test]
    fn any_segment_wildcard() {
        let g = for_message_type("PPR^ZD1").unwrap();
        assert_eq!(
            g.check(["MSH", "PID", "PRB", "ZPR", "ZI1", "ORC", "XYZ", "NTE"]),
            Ok(())
        );
    }
}
