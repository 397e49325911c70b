//! Submission units and their JP_Bundle_CLINS identifier `機関番号10^西暦年4^施設内ID`
//! (R2152: the id is 1–36 characters of `[A-Za-z0-9-]`). Identity comes from the
//! unit — patient + kind, or the lab order number — never from the file, so a
//! corrected message (`_2` then a new `_1`) keeps the identifier and replaces the
//! earlier submission.

/// One submission unit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnitKey {
    /// All current (and ended within 5 years) Conditions of a patient.
    Conditions {
        /// Local patient id.
        patient: String,
    },
    /// All AllergyIntolerances of a patient (drug and other together).
    Allergies {
        /// Local patient id.
        patient: String,
    },
    /// One lab report.
    LabReport {
        /// Local patient id.
        patient: String,
        /// Placer order number (OBR-2 / ORC-2).
        order_no: String,
    },
}

/// FNV-1a 64: a fixed, documented hash (ids must not change between releases).
fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn safe(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl UnitKey {
    /// The resource type the unit's bundle carries (the bundle's tag).
    pub fn resource_type(&self) -> &'static str {
        match self {
            UnitKey::Conditions { .. } => "Condition",
            UnitKey::Allergies { .. } => "AllergyIntolerance",
            UnitKey::LabReport { .. } => "Observation",
        }
    }

    /// The 施設内ID: `C-<patient>`, `A-<patient>`, `L-<patient>-<order>` when
    /// those fit R2152; otherwise the prefix and a 16-hex-digit FNV-1a hash of the key
    /// (stable across runs and releases).
    pub fn id(&self) -> String {
        let (prefix, parts): (&str, Vec<&str>) = match self {
            UnitKey::Conditions { patient } => ("C", vec![patient]),
            UnitKey::Allergies { patient } => ("A", vec![patient]),
            UnitKey::LabReport { patient, order_no } => ("L", vec![patient, order_no]),
        };
        let plain = format!("{prefix}-{}", parts.join("-"));
        if parts.iter().all(|p| safe(p)) && plain.len() <= 36 {
            plain
        } else {
            format!("{prefix}-{:016x}", fnv1a(&parts.join("\u{0}")))
        }
    }

    /// `機関番号10^年^id`.
    pub fn bundle_identifier(&self, institution_number: &str, year: u16) -> String {
        format!("{institution_number}^{year:04}^{}", self.id())
    }
}

/// R2152's pattern `^[0-4][0-9][1-3][0-9]{7}\^20[2-3][0-9]\^[A-Za-z0-9\-]{1,36}$`.
pub fn is_valid_bundle_identifier(v: &str) -> bool {
    let mut parts = v.split('^');
    let (Some(inst), Some(year), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    crate::config::check_institution_number(inst).is_ok()
        && year.len() == 4
        && year.starts_with("20")
        && year
            .as_bytes()
            .get(2)
            .is_some_and(|b| (b'2'..=b'3').contains(b))
        && year.as_bytes().get(3).is_some_and(u8::is_ascii_digit)
        && id.len() <= 36
        && safe(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_follow_r2152() {
        let c = UnitKey::Conditions {
            patient: "9999013".into(),
        };
        assert_eq!(
            c.bundle_identifier("2213456789", 2026),
            "2213456789^2026^C-9999013"
        );
        let l = UnitKey::LabReport {
            patient: "9999013".into(),
            order_no: "000000011000354".into(),
        };
        assert_eq!(l.id(), "L-9999013-000000011000354");
        assert_eq!(l.resource_type(), "Observation");
        // Unsafe characters or too long: hashed, stable.
        let odd = UnitKey::Allergies {
            patient: "患者_01".into(),
        };
        assert_eq!(odd.id(), odd.clone().id());
        assert!(odd.id().starts_with("A-") && odd.id().len() == 18);
        let long = UnitKey::LabReport {
            patient: "1".repeat(20),
            order_no: "2".repeat(20),
        };
        assert!(is_valid_bundle_identifier(
            &long.bundle_identifier("2213456789", 2026)
        ));
        // Different keys, different ids.
        assert_ne!(
            UnitKey::Allergies {
                patient: "a_b".into()
            }
            .id(),
            UnitKey::Allergies {
                patient: "a_c".into()
            }
            .id()
        );
        assert!(!is_valid_bundle_identifier("2213456789^2019^C-1"));
        assert!(!is_valid_bundle_identifier("2203456789^2026^C-1"));
        assert!(!is_valid_bundle_identifier("2213456789^2026^C_1"));
        assert!(!is_valid_bundle_identifier("2213456789^2026"));
    }

    proptest::proptest! {
        #[test]
        fn every_unit_gets_a_valid_identifier(p in "\\PC{1,40}", o in "\\PC{1,40}", year in 2020u16..2040) {
            for u in [
                UnitKey::Conditions { patient: p.clone() },
                UnitKey::Allergies { patient: p.clone() },
                UnitKey::LabReport { patient: p.clone(), order_no: o.clone() },
            ] {
                let v = u.bundle_identifier("2213456789", year);
                proptest::prop_assert!(is_valid_bundle_identifier(&v), "{}", v);
            }
        }
    }
}
