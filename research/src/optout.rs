//! The opt-out list: patients who declined secondary use (オプトアウト), excluded
//! with every resource of theirs before anything is written.
//!
//! Format: UTF-8 text (a BOM is allowed), one entry per line, `KIND,VALUE`:
//!
//! ```text
//! # comment lines and blank lines are ignored
//! kind,value                      (an optional header line, exactly this)
//! patient,0000000001              the hospital's patient id (カルテ番号, SS-MIX2 PID-3)
//! insurance,06139999:123:456:01   insurer number:記号:番号:枝番 (JP_Insurance_memberID)
//! insurance,06139999:123:456      without the 枝番: every 枝番 of that insurance
//! ```
//!
//! Spaces around fields are trimmed; full-width ASCII (０-９, Ａ-Ｚ, ：) is folded to
//! its ASCII form on both sides, so `１２３` matches `123`. Anything else (another
//! kind, an empty value, a third field, an insurance value without insurer,
//! 記号 and 番号 fields) is an R001 error at its line, and nothing is written.

use crate::codes;
use diagnostics::{Diagnostic, Location};
use std::collections::BTreeSet;

/// A parsed opt-out list.
#[derive(Clone, Debug, Default)]
pub struct OptOut {
    /// Local patient ids (folded).
    pub patients: BTreeSet<String>,
    /// Insurance identifiers with the 枝番 (`insurer:symbol:number:branch`, folded).
    pub insurance: BTreeSet<String>,
    /// Insurance identifiers without the 枝番 (`insurer:symbol:number`, folded).
    pub insurance_any_branch: BTreeSet<String>,
    /// Entries (lines that are neither blank, comment nor header).
    pub entries: usize,
}

/// Folds full-width ASCII (U+FF01–U+FF5E) and the ideographic space to ASCII, trims.
pub fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

impl OptOut {
    /// Parses the list; every malformed line is an R001 diagnostic located at `file:line`.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<OptOut, Vec<Diagnostic>> {
        let mut out = OptOut::default();
        let mut diags = Vec::new();
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let line = bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1;
                return Err(vec![
                    Diagnostic::new(&codes::OPT_OUT_MALFORMED, "not UTF-8 text")
                        .at(Location::default().file(file).line(as_u32(line))),
                ]);
            }
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, raw) in text.lines().enumerate() {
            let at = || Location::default().file(file).line(as_u32(i + 1));
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() == 2 && fields[0] == "kind" && fields[1] == "value" {
                continue;
            }
            let bad = |why: &str| Diagnostic::new(&codes::OPT_OUT_MALFORMED, why).at(at());
            if fields.len() != 2 {
                diags.push(bad(
                    "expected two fields, KIND,VALUE (patient,<id> or insurance,<insurer:symbol:number[:branch]>)",
                ));
                continue;
            }
            let value = fold(fields[1]);
            if value.is_empty() {
                diags.push(bad("empty value"));
                continue;
            }
            match fields[0] {
                "patient" => {
                    if value.contains(':') {
                        diags.push(bad(
                            "a patient id holds no ':' (an insurance identifier is `insurance,…`)",
                        ));
                        continue;
                    }
                    out.patients.insert(value);
                }
                "insurance" => {
                    let parts: Vec<&str> = value.split(':').map(str::trim).collect();
                    let shaped = matches!(parts.len(), 3 | 4)
                        && !parts[0].is_empty()
                        && parts[..3].iter().all(|p| !p.contains(' '));
                    if !shaped || parts[1].is_empty() && parts[2].is_empty() {
                        diags.push(bad(
                            "an insurance identifier is insurer:symbol:number or insurer:symbol:number:branch, with the insurer and 記号 or 番号 given",
                        ));
                        continue;
                    }
                    if parts.len() == 4 {
                        out.insurance.insert(parts.join(":"));
                    } else {
                        out.insurance_any_branch.insert(parts.join(":"));
                    }
                }
                _ => {
                    diags.push(bad("unknown kind (expected `patient` or `insurance`)"));
                    continue;
                }
            }
            out.entries += 1;
        }
        if diags.is_empty() {
            Ok(out)
        } else {
            Err(diags)
        }
    }

    /// Whether a patient with these local ids and insurance identifiers (as they
    /// are in the resources) opted out.
    pub fn matches<'a>(
        &self,
        local_ids: impl IntoIterator<Item = &'a str>,
        insurance: impl IntoIterator<Item = &'a str>,
    ) -> bool {
        if local_ids
            .into_iter()
            .any(|l| self.patients.contains(&fold(l)))
        {
            return true;
        }
        insurance.into_iter().any(|i| {
            let f = fold(i);
            let parts: Vec<&str> = f.split(':').map(str::trim).collect();
            let full = parts.join(":");
            self.insurance.contains(&full)
                || (parts.len() >= 3 && self.insurance_any_branch.contains(&parts[..3].join(":")))
        })
    }

    /// Which entries matched none of the patients given (local ids, insurance ids):
    /// counted in the record, never listed.
    pub fn unmatched<'a>(
        &self,
        local_ids: impl IntoIterator<Item = &'a str>,
        insurance: impl IntoIterator<Item = &'a str>,
    ) -> usize {
        let locals: BTreeSet<String> = local_ids.into_iter().map(fold).collect();
        let mut full = BTreeSet::new();
        let mut three = BTreeSet::new();
        for i in insurance {
            let f = fold(i);
            let parts: Vec<&str> = f.split(':').map(str::trim).collect();
            full.insert(parts.join(":"));
            if parts.len() >= 3 {
                three.insert(parts[..3].join(":"));
            }
        }
        self.patients
            .iter()
            .filter(|p| !locals.contains(*p))
            .count()
            + self.insurance.iter().filter(|p| !full.contains(*p)).count()
            + self
                .insurance_any_branch
                .iter()
                .filter(|p| !three.contains(*p))
                .count()
    }
}

fn as_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
