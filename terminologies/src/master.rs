//! Loading code-system content to check targets against: FHIR CodeSystem JSON
//! (e.g. the JP-CLINS CoreLabo / InfectionLabo JLAC10 sets, taken from the shipped
//! package by the CLI) and the J-FAGY allergen CSV.

use crate::check::Master;
use crate::codes;
use crate::delimited;
use diagnostics::{Diagnostic, Diagnostics, Excerpt, FieldPath, Location};
use serde_json::Value;

/// The value of a concept property (`valueCode`, `valueString`, `valueBoolean`).
fn property<'a>(c: &'a Value, name: &str) -> Option<&'a Value> {
    c.get("property")?
        .as_array()?
        .iter()
        .find(|p| p.get("code").and_then(Value::as_str) == Some(name))
        .and_then(|p| {
            ["valueCode", "valueString", "valueBoolean"]
                .iter()
                .find_map(|k| p.get(*k))
        })
}

fn walk(concepts: &[Value], m: &mut Master) {
    for c in concepts {
        if let Some(code) = c.get("code").and_then(Value::as_str) {
            let display = c.get("display").and_then(Value::as_str).unwrap_or("");
            let retired = matches!(
                property(c, "status").and_then(Value::as_str),
                Some("retired" | "deprecated")
            ) || property(c, "inactive").and_then(Value::as_bool) == Some(true);
            if retired {
                let by = property(c, "replacedBy")
                    .or_else(|| property(c, "replaced-by"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                m.retired.insert(code.to_owned(), by.to_owned());
            } else {
                m.codes.insert(code.to_owned(), display.to_owned());
            }
            let alt: Vec<String> = c
                .get("designation")
                .and_then(Value::as_array)
                .map(|ds| {
                    ds.iter()
                        .filter_map(|d| d.get("value").and_then(Value::as_str))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            if !alt.is_empty() {
                m.names.insert(code.to_owned(), alt);
            }
        }
        if let Some(children) = c.get("concept").and_then(Value::as_array) {
            walk(children, m);
        }
    }
}

/// Reads a FHIR CodeSystem resource (nested concepts flattened). `None` if the
/// bytes are not a CodeSystem (reported).
pub fn from_codesystem_json(bytes: &[u8]) -> (Option<Master>, Diagnostics) {
    let mut d = Diagnostics::default();
    let v: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            d.push(
                Diagnostic::new(&codes::BAD_MASTER, format!("not JSON: {e}"))
                    .at(Location::default().line(e.line() as u32)),
            );
            return (None, d);
        }
    };
    if v.get("resourceType").and_then(Value::as_str) != Some("CodeSystem") {
        d.push(Diagnostic::new(
            &codes::BAD_MASTER,
            "not a CodeSystem resource",
        ));
        return (None, d);
    }
    let mut m = Master {
        system: v
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        version: v
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        ..Master::default()
    };
    if m.system.is_empty() {
        d.push(Diagnostic::new(&codes::BAD_MASTER, "CodeSystem has no url"));
    }
    walk(
        v.get("concept")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]),
        &mut m,
    );
    (Some(m), d)
}

/// The J-FAGY systems, by the domain character of the meta code.
pub const JFAGY_FOOD: &str = "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyFoodAllergen_CS";
/// Non-food, non-medication allergens.
pub const JFAGY_NONFOOD: &str =
    "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyNonFoodNonMedicationAllergen_CS";

/// Reads the J-FAGY CSV (UTF-8, header `DISPLAYSEQ,JFAGYCODE,JPTERM,…`) into the
/// food and non-food masters. Codes whose domain character is neither `F` nor `N`
/// (the medication dummy, the all-domain roots) are kept in neither and counted
/// in an info diagnostic; deleted codes (CXGCATEGORY 3) are left out and counted.
pub fn from_jfagy_csv(bytes: &[u8], version: &str) -> (Vec<Master>, Diagnostics) {
    let mut d = Diagnostics::default();
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.strip_prefix('\u{feff}').unwrap_or(t),
        Err(e) => {
            let at = e.valid_up_to();
            d.push(
                Diagnostic::new(
                    &codes::UNDECODABLE,
                    "J-FAGY CSV is not UTF-8 (use the utf8/ file)",
                )
                .at(Location::default().byte(at as u64))
                .excerpt(Excerpt::bytes(&bytes[at..(at + 2).min(bytes.len())])),
            );
            return (Vec::new(), d);
        }
    };
    let (recs, bad) = delimited::records(text, ',', Some('"'));
    for b in bad {
        d.push(
            Diagnostic::new(&codes::BAD_RECORD, b.message)
                .at(Location::default().line(b.line).byte(b.offset as u64)),
        );
    }
    let mut food = Master {
        system: JFAGY_FOOD.into(),
        version: version.into(),
        ..Master::default()
    };
    let mut nonfood = Master {
        system: JFAGY_NONFOOD.into(),
        version: version.into(),
        ..Master::default()
    };
    let mut it = recs.into_iter();
    let Some(header) = it.next() else {
        d.push(Diagnostic::new(&codes::BAD_MASTER, "J-FAGY CSV is empty"));
        return (Vec::new(), d);
    };
    let col = |n: &str| header.fields.iter().position(|f| f == n);
    let (kana_i, en_i) = (col("JPKANA"), col("ENTERM"));
    let (Some(ci), Some(ni), Some(xi)) = (col("JFAGYCODE"), col("JPTERM"), col("CXGCATEGORY"))
    else {
        d.push(
            Diagnostic::new(
                &codes::BAD_MASTER,
                "J-FAGY header lacks JFAGYCODE, JPTERM or CXGCATEGORY",
            )
            .at(Location::default().line(header.line)),
        );
        return (Vec::new(), d);
    };
    let (mut other, mut deleted) = (0, 0);
    for r in it {
        if r.fields.len() != header.fields.len() {
            d.push(
                Diagnostic::new(
                    &codes::BAD_RECORD,
                    format!(
                        "record has {} fields, header has {}",
                        r.fields.len(),
                        header.fields.len()
                    ),
                )
                .at(Location::default().line(r.line).byte(r.offset as u64)),
            );
            continue;
        }
        let code = &r.fields[ci];
        if r.fields[xi] == "3" {
            deleted += 1;
            let m = match code.as_bytes().get(2) {
                Some(b'F') => &mut food,
                _ => &mut nonfood,
            };
            m.retired.insert(code.clone(), String::new());
            continue;
        }
        if let Err(why) = crate::system::Shape::Jfagy.check(code) {
            d.push(
                Diagnostic::new(&codes::BAD_SHAPE, format!("not a J-FAGY code: {why}"))
                    .at(Location::default()
                        .line(r.line)
                        .field(FieldPath::new("CSV", ci as u32 + 1).named("JFAGYCODE")))
                    .excerpt(Excerpt::text(code)),
            );
            continue;
        }
        let m = match code.as_bytes().get(2) {
            Some(b'F') => &mut food,
            Some(b'N') => &mut nonfood,
            _ => {
                other += 1;
                continue;
            }
        };
        m.codes.insert(code.clone(), r.fields[ni].clone());
        let alt: Vec<String> = [kana_i, en_i]
            .into_iter()
            .flatten()
            .map(|i| r.fields[i].trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        if !alt.is_empty() {
            m.names.insert(code.clone(), alt);
        }
    }
    d.push(Diagnostic::new(
        &codes::MASTER_SKIPPED,
        format!("{other} codes outside the food / non-food domains and {deleted} deleted codes not loaded"),
    ));
    (vec![food, nonfood], d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_the_jfagy_table() {
        let bytes = std::fs::read(crate::shared(crate::JFAGY_CSV)).unwrap();
        let (ms, d) = from_jfagy_csv(&bytes, "20250401");
        assert!(!d.has_errors(), "{d:?}");
        assert_eq!(ms.len(), 2);
        // 1 126 food and 607 non-food codes, minus the 2 deleted food codes, plus the group roots.
        assert!(ms[0].contains("J9FA32113200"));
        assert!(!ms[0].contains("J9FA32111600"), "deleted code loaded");
        // Every one of the 1 738 rows is loaded or counted: 2 deleted, the medication dummy.
        assert_eq!(ms[0].codes.len() + ms[1].codes.len(), 1738 - 2 - 1);
        assert_eq!(d.iter().next().unwrap().code.id, "T061");
    }

    #[test]
    fn reads_nested_codesystem_concepts() {
        let cs = br#"{"resourceType":"CodeSystem","url":"http://x","version":"1","concept":[{"code":"ALB","concept":[{"code":"3A015000002327101","display":"a"}]}]}"#;
        let (m, d) = from_codesystem_json(cs);
        assert!(d.is_empty());
        let m = m.unwrap();
        assert!(m.contains("ALB") && m.contains("3A015000002327101"));
        let (m, d) = from_codesystem_json(b"{\"resourceType\":\"ValueSet\"}");
        assert!(m.is_none() && d.has_errors());
    }
}
