//! The re-identification risk report: k-anonymity of the released patients over
//! named quasi-identifiers. An aid for the person deciding on a release, not a
//! compliance claim: it sees only the quasi-identifiers it is given.

use crate::transform::Released;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// How a quasi-identifier is coarsened for the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generalisation {
    /// The value as released.
    None,
    /// A date cut to its year.
    Year,
    /// A date cut to year-month.
    YearMonth,
    /// A date cut to its decade (`1940s`).
    Decade,
    /// Left out of the classes.
    Suppress,
}

impl Generalisation {
    /// From its option name.
    pub fn parse(s: &str) -> Option<Generalisation> {
        Some(match s {
            "none" => Generalisation::None,
            "year" => Generalisation::Year,
            "year-month" => Generalisation::YearMonth,
            "decade" => Generalisation::Decade,
            "suppress" => Generalisation::Suppress,
            _ => return None,
        })
    }

    /// Its option name.
    pub fn as_str(self) -> &'static str {
        match self {
            Generalisation::None => "none",
            Generalisation::Year => "year",
            Generalisation::YearMonth => "year-month",
            Generalisation::Decade => "decade",
            Generalisation::Suppress => "suppress",
        }
    }

    fn apply(self, v: &Option<String>) -> Option<Option<String>> {
        let cut = |n: usize| v.as_ref().map(|s| s.get(..n).unwrap_or(s).to_owned());
        Some(match self {
            Generalisation::None => v.clone(),
            Generalisation::Year => cut(4),
            Generalisation::YearMonth => cut(7),
            Generalisation::Decade => v.as_ref().map(|s| format!("{}0s", s.get(..3).unwrap_or(s))),
            Generalisation::Suppress => return None,
        })
    }
}

/// The headline numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// The k asked for.
    pub k: usize,
    /// Released patients.
    pub patients: u64,
    /// Equivalence classes.
    pub classes: u64,
    /// Classes smaller than k.
    pub classes_below_k: u64,
    /// Patients in classes smaller than k.
    pub patients_below_k: u64,
    /// Their released resources.
    pub records_below_k: u64,
    /// All released resources of patients.
    pub records: u64,
}

/// A quasi-identifier as the report names it.
pub struct Named<'a> {
    /// Name.
    pub name: &'a str,
    /// FHIRPath on the released Patient.
    pub path: &'a str,
    /// Coarsening for the report.
    pub generalisation: Generalisation,
}

fn per_mille(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.0%".into();
    }
    let t = (part * 1000 + whole / 2) / whole;
    format!("{}.{}%", t / 10, t % 10)
}

/// The report (JSON) and its summary.
pub fn report(quasi: &[Named<'_>], released: &[&Released], k: usize) -> (Value, Summary) {
    let mut classes: BTreeMap<Vec<Option<String>>, (u64, u64)> = BTreeMap::new();
    let mut distinct: Vec<BTreeSet<Option<String>>> = vec![BTreeSet::new(); quasi.len()];
    let mut records = 0;
    for r in released {
        let vals = r.qi.clone().unwrap_or_else(|| vec![None; quasi.len()]);
        let mut key = Vec::new();
        for (i, q) in quasi.iter().enumerate() {
            if let Some(v) = q.generalisation.apply(vals.get(i).unwrap_or(&None)) {
                distinct[i].insert(v.clone());
                key.push(v);
            }
        }
        let e = classes.entry(key).or_default();
        e.0 += 1;
        e.1 += r.records;
        records += r.records;
    }
    let mut s = Summary {
        k,
        patients: released.len() as u64,
        classes: classes.len() as u64,
        records,
        ..Summary::default()
    };
    let mut sizes: BTreeMap<u64, u64> = BTreeMap::new();
    for (n, recs) in classes.values() {
        *sizes.entry(*n).or_default() += 1;
        if (*n as usize) < k {
            s.classes_below_k += 1;
            s.patients_below_k += n;
            s.records_below_k += recs;
        }
    }
    let json = json!({
        "about": "A re-identification risk aid: k-anonymity of the released patients over the quasi-identifiers named here, computed on the released values. It is not a compliance claim or legal advice: other columns, outside knowledge and linkage with other data are not assessed, and a release with no class below k can still identify a person. Whether a release is 仮名加工医療情報 under the law is for the person responsible for it to decide.",
        "k": k,
        "quasi_identifiers": quasi.iter().zip(&distinct).map(|(q, d)| json!({
            "name": q.name,
            "path": q.path,
            "generalisation": q.generalisation.as_str(),
            "distinct_values": if q.generalisation == Generalisation::Suppress { Value::Null } else { json!(d.len()) },
        })).collect::<Vec<_>>(),
        "patients": s.patients,
        "records": s.records,
        "equivalence_classes": s.classes,
        "smallest_class": classes.values().map(|c| c.0).min().unwrap_or(0),
        "classes_below_k": s.classes_below_k,
        "patients_below_k": s.patients_below_k,
        "patients_below_k_share": per_mille(s.patients_below_k, s.patients),
        "records_below_k": s.records_below_k,
        "records_below_k_share": per_mille(s.records_below_k, s.records),
        "class_sizes": sizes.iter().map(|(size, n)| json!({"size": size, "classes": n})).collect::<Vec<_>>(),
    });
    (json, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(qi: &[&str], records: u64) -> Released {
        Released {
            qi: Some(qi.iter().map(|s| Some((*s).to_owned())).collect()),
            records,
        }
    }

    #[test]
    fn classes_below_k_and_generalisation() {
        let people = [
            person(&["1950-01", "male"], 3),
            person(&["1950-02", "male"], 4),
            person(&["1950-01", "male"], 5),
            person(&["1960-01", "female"], 1),
        ];
        let refs: Vec<&Released> = people.iter().collect();
        let q = |g| {
            vec![
                Named {
                    name: "birth",
                    path: "birthDate",
                    generalisation: g,
                },
                Named {
                    name: "sex",
                    path: "gender",
                    generalisation: Generalisation::None,
                },
            ]
        };
        let (_, s) = report(&q(Generalisation::None), &refs, 2);
        assert_eq!(
            (
                s.classes,
                s.classes_below_k,
                s.patients_below_k,
                s.records_below_k
            ),
            (3, 2, 2, 5)
        );
        let (j, s) = report(&q(Generalisation::Year), &refs, 2);
        assert_eq!(
            (s.classes, s.patients_below_k, s.records_below_k),
            (2, 1, 1)
        );
        assert_eq!(j["patients_below_k_share"], "25.0%");
        let (_, s) = report(&q(Generalisation::Suppress), &refs, 2);
        assert_eq!((s.classes, s.patients_below_k), (2, 1));
    }
}
