//! FHIR R4 ConceptMap I/O, as `serde_json` values.
//!
//! Export: one group per target system (rows without a target go to a group with
//! no `target`), one element per row; key parts (specimen, unit, free text) are
//! `target.dependsOn` with properties `specimen`, `unit`, `text`; what ConceptMap
//! has no element for (row id, status, author, reviewer, dates, confidence,
//! justification, frequency, kana) travels in extensions under
//! `urn:kakehashi:sssom:`, so table → ConceptMap → table loses nothing.
//!
//! Import: a ConceptMap whose source is not an absolute URI (e.g. the JAMI
//! SS-MIX2 field maps, `PID` → `JP_Patient`) is a structural map, not a code map:
//! it is reported ([`codes::NOT_A_CODE_MAP`]) and not imported. Anything a table
//! cannot carry is reported ([`codes::CONCEPTMAP_DROPPED`]), never silently lost.

use crate::codes;
use crate::table::{EXT_PREFIX, Equivalence, Metadata, Row, SourceKey, Status, Table};
use diagnostics::{Diagnostic, Diagnostics, Excerpt};
use serde_json::{Map, Value, json};

fn ext(name: &str, v: &str) -> Value {
    json!({"url": format!("{EXT_PREFIX}{name}"), "valueString": v})
}

fn row_extensions(r: &Row) -> Vec<Value> {
    let mut e = Vec::new();
    let mut add = |n: &str, v: &str| {
        if !v.is_empty() {
            e.push(ext(n, v));
        }
    };
    add("row_id", &r.id);
    add("status", r.status.as_str());
    add("subject_kana", &r.source_kana);
    add("mapping_justification", &r.method);
    add("justification", &r.justification);
    add("author_label", &r.author);
    add("mapping_date", &r.author_date);
    add("reviewer_label", &r.reviewer);
    add("review_date", &r.review_date);
    add("confidence", &r.confidence);
    add(
        "observed_frequency",
        &r.frequency.map(|f| f.to_string()).unwrap_or_default(),
    );
    if r.equivalence.is_none() {
        add("comment", &r.comment);
    }
    e
}

fn is_absolute_uri(s: &str) -> bool {
    match s.split_once(':') {
        Some((scheme, rest)) => {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && !rest.is_empty()
        }
        None => false,
    }
}

/// A FHIR id from a table id (`[A-Za-z0-9\-\.]{1,64}`).
fn fhir_id(s: &str) -> String {
    let mut id: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if id.is_empty() {
        id.push_str("table");
    }
    id
}

/// Exports a table as a FHIR R4 ConceptMap.
pub fn export(t: &Table) -> Value {
    let m = &t.meta;
    let mut cm = Map::new();
    cm.insert("resourceType".into(), json!("ConceptMap"));
    cm.insert("id".into(), json!(fhir_id(&m.id)));
    let mut top_ext = vec![ext("table_id", &m.id)];
    if !m.site.is_empty() {
        top_ext.push(ext("site", &m.site));
    }
    for v in &m.master_versions {
        top_ext.push(ext("master_version", v));
    }
    cm.insert("extension".into(), Value::Array(top_ext));
    let mut put = |k: &str, v: &str| {
        if !v.is_empty() {
            cm.insert(k.into(), json!(v));
        }
    };
    put("url", &m.uri);
    put("version", &m.version);
    put("name", &m.name);
    put("title", &m.title);
    put(
        "status",
        if m.status.is_empty() {
            "draft"
        } else {
            &m.status
        },
    );
    put("date", &m.date);
    put("publisher", &m.publisher);
    put("description", &m.description);
    put("copyright", &m.license);
    put("sourceUri", &m.source_system);
    let targets = t.all_target_systems();
    if let Some(first) = targets.first() {
        cm.insert("targetUri".into(), json!(first));
    }
    let mut groups = Vec::new();
    let mut systems: Vec<Option<&String>> = targets.iter().map(Some).collect();
    if t.rows.iter().any(|r| !r.has_target()) {
        systems.push(None);
    }
    for sys in systems {
        let mut elements = Vec::new();
        for r in t.rows.iter().filter(|r| match sys {
            Some(s) => r.has_target() && &r.target_system == s,
            None => !r.has_target(),
        }) {
            let mut el = Map::new();
            if !r.source.code.is_empty() {
                el.insert("code".into(), json!(r.source.code));
            }
            if !r.source_display.is_empty() {
                el.insert("display".into(), json!(r.source_display));
            }
            let exts = row_extensions(r);
            if let Some(eq) = r.equivalence {
                let mut tg = Map::new();
                tg.insert("extension".into(), Value::Array(exts));
                if r.has_target() {
                    tg.insert("code".into(), json!(r.target_code));
                }
                if !r.target_display.is_empty() {
                    tg.insert("display".into(), json!(r.target_display));
                }
                tg.insert("equivalence".into(), json!(eq.as_str()));
                if !r.comment.is_empty() {
                    tg.insert("comment".into(), json!(r.comment));
                }
                let deps: Vec<Value> = [
                    ("specimen", &r.source.specimen),
                    ("unit", &r.source.unit),
                    ("text", &r.source.text),
                ]
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(p, v)| json!({"property": p, "value": v}))
                .collect();
                if !deps.is_empty() {
                    tg.insert("dependsOn".into(), Value::Array(deps));
                }
                el.insert("target".into(), Value::Array(vec![Value::Object(tg)]));
            } else {
                // Not mapped yet: an element without target; key parts as extensions.
                let mut exts = exts;
                for (p, v) in [
                    ("specimen", &r.source.specimen),
                    ("unit", &r.source.unit),
                    ("source_text", &r.source.text),
                ] {
                    if !v.is_empty() {
                        exts.push(ext(p, v));
                    }
                }
                el.insert("extension".into(), Value::Array(exts));
            }
            elements.push(Value::Object(el));
        }
        let mut g = Map::new();
        g.insert("source".into(), json!(m.source_system));
        if let Some(s) = sys {
            g.insert("target".into(), json!(s));
        }
        g.insert("element".into(), Value::Array(elements));
        if !m.unmapped_mode.is_empty() {
            g.insert("unmapped".into(), json!({"mode": m.unmapped_mode}));
        }
        groups.push(Value::Object(g));
    }
    cm.insert("group".into(), Value::Array(groups));
    Value::Object(cm)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Reads kakehashi extensions into a row; returns the other extensions.
fn read_row_ext(exts: Option<&Value>, r: &mut Row, d: &mut Diagnostics, what: &str) {
    let Some(list) = exts.and_then(Value::as_array) else {
        return;
    };
    for e in list {
        let url = s(e, "url");
        let v = s(e, "valueString").to_owned();
        match url.strip_prefix(EXT_PREFIX) {
            Some("row_id") => r.id = v,
            Some("status") => match Status::parse(&v) {
                Some(st) => r.status = st,
                None => d.push(
                    Diagnostic::new(
                        &codes::BAD_CONCEPTMAP,
                        format!("{what}: unknown status extension"),
                    )
                    .excerpt(Excerpt::text(v)),
                ),
            },
            Some("subject_kana") => r.source_kana = v,
            Some("mapping_justification") => r.method = v,
            Some("justification") => r.justification = v,
            Some("author_label") => r.author = v,
            Some("mapping_date") => r.author_date = v,
            Some("reviewer_label") => r.reviewer = v,
            Some("review_date") => r.review_date = v,
            Some("confidence") => r.confidence = v,
            Some("comment") => r.comment = v,
            Some("specimen") => r.source.specimen = v,
            Some("unit") => r.source.unit = v,
            Some("source_text") => r.source.text = v,
            Some("observed_frequency") => r.frequency = v.parse().ok(),
            _ => d.push(
                Diagnostic::new(
                    &codes::CONCEPTMAP_DROPPED,
                    format!("{what}: extension not carried into the table"),
                )
                .excerpt(Excerpt::text(url)),
            ),
        }
    }
}

/// What [`import`] produced.
#[derive(Debug)]
pub enum Imported {
    /// A code map, as a table.
    Table(Box<Table>),
    /// A structural map (or not a ConceptMap): nothing to import.
    NotACodeMap,
}

/// Imports a ConceptMap. `defaults` fills row fields the ConceptMap does not carry
/// (status, author, justification) for rows without kakehashi extensions.
pub fn import(cm: &Value, defaults: &Row) -> (Imported, Diagnostics) {
    let mut d = Diagnostics::default();
    if s(cm, "resourceType") != "ConceptMap" {
        d.push(
            Diagnostic::new(&codes::BAD_CONCEPTMAP, "not a ConceptMap resource")
                .excerpt(Excerpt::text(s(cm, "resourceType"))),
        );
        return (Imported::NotACodeMap, d);
    }
    let id = s(cm, "id");
    let groups = cm
        .get("group")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let source = [s(cm, "sourceUri"), s(cm, "sourceCanonical")]
        .into_iter()
        .find(|x| !x.is_empty())
        .or_else(|| groups.first().map(|g| s(g, "source")))
        .unwrap_or("");
    let structural =
        !is_absolute_uri(source) || groups.iter().any(|g| !is_absolute_uri(s(g, "source")));
    if structural {
        d.push(
            Diagnostic::new(&codes::NOT_A_CODE_MAP, format!("ConceptMap {id} maps structures (source is not a code system URI); not imported"))
                .excerpt(Excerpt::text(source)),
        );
        return (Imported::NotACodeMap, d);
    }
    let mut m = Metadata {
        id: id.to_owned(),
        uri: s(cm, "url").to_owned(),
        version: s(cm, "version").to_owned(),
        name: s(cm, "name").to_owned(),
        title: s(cm, "title").to_owned(),
        status: s(cm, "status").to_owned(),
        date: s(cm, "date").to_owned(),
        publisher: s(cm, "publisher").to_owned(),
        description: s(cm, "description").to_owned(),
        license: s(cm, "copyright").to_owned(),
        source_system: source.to_owned(),
        ..Metadata::default()
    };
    if let Some(t) = cm
        .get("targetUri")
        .or_else(|| cm.get("targetCanonical"))
        .and_then(Value::as_str)
    {
        m.target_systems.push(t.to_owned());
    }
    if m.uri.is_empty() {
        m.uri = format!("urn:kakehashi:conceptmap:{id}");
        d.push(
            Diagnostic::new(
                &codes::CONCEPTMAP_DROPPED,
                "ConceptMap has no url; urn:kakehashi:conceptmap:<id> used",
            )
            .excerpt(Excerpt::text(id)),
        );
    }
    if let Some(obj) = cm.as_object() {
        for (k, v) in obj {
            match k.as_str() {
                "resourceType" | "id" | "url" | "version" | "name" | "title" | "status"
                | "date" | "publisher" | "description" | "copyright" | "sourceUri"
                | "sourceCanonical" | "targetUri" | "targetCanonical" | "group" => {}
                "extension" => {
                    for e in v.as_array().into_iter().flatten() {
                        let url = s(e, "url");
                        let val = s(e, "valueString").to_owned();
                        match url.strip_prefix(EXT_PREFIX) {
                            Some("table_id") => m.id = val,
                            Some("site") => m.site = val,
                            Some("master_version") => m.master_versions.push(val),
                            _ => d.push(
                                Diagnostic::new(
                                    &codes::CONCEPTMAP_DROPPED,
                                    format!(
                                        "ConceptMap {id}: extension not carried into the table"
                                    ),
                                )
                                .excerpt(Excerpt::text(url)),
                            ),
                        }
                    }
                }
                other => d.push(
                    Diagnostic::new(
                        &codes::CONCEPTMAP_DROPPED,
                        format!("ConceptMap {id}: element {other} not carried into the table"),
                    )
                    .excerpt(Excerpt::text(v.to_string())),
                ),
            }
        }
    }
    let mut rows = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        let what = format!("group[{gi}]");
        if s(g, "source") != source {
            d.push(
                Diagnostic::new(&codes::BAD_CONCEPTMAP, format!("{what}: group source differs from the map's source; group skipped (a table has one source system)"))
                    .excerpt(Excerpt::text(s(g, "source"))),
            );
            continue;
        }
        let target = s(g, "target");
        if !target.is_empty() && !is_absolute_uri(target) {
            d.push(
                Diagnostic::new(
                    &codes::BAD_CONCEPTMAP,
                    format!("{what}: target system is not an absolute URI; kept as written"),
                )
                .severity(diagnostics::Severity::Warning)
                .excerpt(Excerpt::text(target)),
            );
        }
        if !target.is_empty() && !m.target_systems.iter().any(|t| t == target) {
            m.target_systems.push(target.to_owned());
        }
        if let Some(u) = g.get("unmapped") {
            m.unmapped_mode = s(u, "mode").to_owned();
            for k in ["code", "display", "url"] {
                if u.get(k).is_some() {
                    d.push(Diagnostic::new(
                        &codes::CONCEPTMAP_DROPPED,
                        format!("{what}: unmapped.{k} not carried into the table"),
                    ));
                }
            }
        }
        for (ei, el) in g
            .get("element")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let what = format!("{what}.element[{ei}]");
            let base = Row {
                source: SourceKey::code(s(el, "code")),
                source_display: s(el, "display").to_owned(),
                ..defaults.clone()
            };
            let targets = el
                .get("target")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if targets.is_empty() {
                let mut r = base;
                r.equivalence = None;
                read_row_ext(el.get("extension"), &mut r, &mut d, &what);
                rows.push(r);
                continue;
            }
            for (ti, tg) in targets.iter().enumerate() {
                let what = format!("{what}.target[{ti}]");
                let mut r = base.clone();
                let eq = s(tg, "equivalence");
                match Equivalence::parse(eq) {
                    Some(e) => r.equivalence = Some(e),
                    None => {
                        d.push(
                            Diagnostic::new(
                                &codes::BAD_CONCEPTMAP,
                                format!("{what}: missing or unknown equivalence; target skipped"),
                            )
                            .excerpt(Excerpt::text(eq)),
                        );
                        continue;
                    }
                }
                let code = s(tg, "code");
                if !code.is_empty() {
                    if target.is_empty() {
                        d.push(Diagnostic::new(&codes::BAD_CONCEPTMAP, format!("{what}: target code in a group without a target system; skipped")).excerpt(Excerpt::text(code)));
                        continue;
                    }
                    r.target_system = target.to_owned();
                    r.target_code = code.to_owned();
                }
                r.target_display = s(tg, "display").to_owned();
                r.comment = s(tg, "comment").to_owned();
                for dep in tg
                    .get("dependsOn")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let v = s(dep, "value").to_owned();
                    match s(dep, "property") {
                        "specimen" => r.source.specimen = v,
                        "unit" => r.source.unit = v,
                        "text" => r.source.text = v,
                        p => d.push(
                            Diagnostic::new(
                                &codes::CONCEPTMAP_DROPPED,
                                format!("{what}: dependsOn not carried into the table"),
                            )
                            .excerpt(Excerpt::text(p)),
                        ),
                    }
                }
                if tg.get("product").is_some() {
                    d.push(Diagnostic::new(
                        &codes::CONCEPTMAP_DROPPED,
                        format!("{what}: product not carried into the table"),
                    ));
                }
                read_row_ext(tg.get("extension"), &mut r, &mut d, &what);
                rows.push(r);
            }
        }
    }
    // TSV cannot carry tabs or line breaks: flatten them, and say so.
    for r in &mut rows {
        let id = r.source.code.clone();
        for f in [
            &mut r.source_display,
            &mut r.target_display,
            &mut r.comment,
            &mut r.justification,
        ] {
            if f.contains(['\t', '\r', '\n']) {
                *f = f.replace("\r\n", " ").replace(['\t', '\r', '\n'], " ");
                d.push(
                    Diagnostic::new(
                        &codes::TEXT_FLATTENED,
                        "tab or line break in a display or comment replaced by a space",
                    )
                    .excerpt(Excerpt::text(id.clone())),
                );
            }
        }
    }
    for f in [&mut m.title, &mut m.description, &mut m.publisher] {
        if f.contains(['\t', '\r', '\n']) {
            *f = f.replace("\r\n", " ").replace(['\t', '\r', '\n'], " ");
        }
    }
    // Rows without ids get sequential ones, in map order.
    let mut table = Table {
        meta: m,
        rows: Vec::new(),
        extra_columns: Vec::new(),
    };
    for mut r in rows {
        if r.id.is_empty() {
            r.id = table.next_row_id();
        }
        table.rows.push(r);
    }
    (Imported::Table(Box::new(table)), d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Row {
        Row {
            method: "semapv:UnspecifiedMatching".into(),
            ..Row::default()
        }
    }

    #[test]
    fn table_round_trips_through_conceptmap() {
        let (text, pd) = crate::table::parse_sssom(SAMPLE.as_bytes());
        assert!(pd.is_empty(), "{pd:?}");
        assert_eq!(text.rows.len(), 5);
        let mut t = text;
        t.meta.curie_map.clear();
        for r in &mut t.rows {
            r.line = 0;
        }
        let cm = export(&t);
        let (back, d) = import(&cm, &defaults());
        assert!(d.is_empty(), "{d:?}");
        let Imported::Table(back) = back else {
            panic!("not a table")
        };
        let mut a = t.rows.clone();
        let mut b = back.rows.clone();
        a.sort_by(|x, y| x.id.cmp(&y.id));
        b.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(a, b);
        assert_eq!(back.meta, t.meta);
    }

    #[test]
    fn structural_maps_are_reported_not_imported() {
        let cm = json!({"resourceType": "ConceptMap", "id": "segment-pid-to-patient", "sourceUri": "PID", "targetUri": "JP_Patient",
            "group": [{"source": "PID", "target": "JP_Patient", "element": [{"code": "PID-3", "target": [{"code": "Patient.identifier", "equivalence": "equivalent"}]}]}]});
        let (r, d) = import(&cm, &defaults());
        assert!(matches!(r, Imported::NotACodeMap));
        assert_eq!(d.iter().next().unwrap().code.id, "T040");
    }

    #[test]
    fn foreign_elements_are_reported() {
        let cm = json!({"resourceType": "ConceptMap", "id": "x", "experimental": true, "sourceUri": "http://terminology.hl7.org/CodeSystem/v2-0004",
            "extension": [{"url": "label", "valueString": "x.fsh"}],
            "group": [{"source": "http://terminology.hl7.org/CodeSystem/v2-0004", "target": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
              "element": [{"code": "O", "target": [{"code": "AMB", "equivalence": "equivalent"}]}, {"code": "Q", "target": [{"code": "X"}]}]}]});
        let (r, d) = import(&cm, &defaults());
        let Imported::Table(t) = r else { panic!() };
        assert_eq!(t.rows.len(), 1);
        let ids: Vec<_> = d.iter().map(|d| d.code.id).collect();
        assert_eq!(ids.iter().filter(|i| **i == "T042").count(), 3, "{ids:?}"); // no url, experimental, extension
        assert!(ids.contains(&"T041"));
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        fn row() -> impl Strategy<Value = Row> {
            (
                "[A-Z0-9]{1,6}",
                "[^\t\r\n]{0,6}",
                "[0-9]{0,3}",
                "[A-Z0-9]{1,8}",
                0usize..11,
                0usize..7,
                "[^\t\r\n]{0,6}",
                proptest::option::of(0u64..1000),
            )
                .prop_map(|(code, disp, spec, tcode, eq, st, comment, freq)| {
                    let equivalence = Equivalence::ALL.get(eq).copied();
                    let has_target = !matches!(equivalence, None | Some(Equivalence::Unmatched));
                    Row {
                        source: SourceKey {
                            code,
                            specimen: spec,
                            ..SourceKey::default()
                        },
                        source_display: disp,
                        target_system: if has_target {
                            "http://medis.or.jp/CodeSystem/master-HOT9".into()
                        } else {
                            String::new()
                        },
                        target_code: if has_target { tcode } else { String::new() },
                        equivalence,
                        status: Status::ALL[st],
                        method: "semapv:ManualMappingCuration".into(),
                        comment,
                        frequency: freq,
                        ..Row::default()
                    }
                })
        }

        proptest! {
            #[test]
            fn any_table_round_trips(rows in proptest::collection::vec(row(), 0..8)) {
                let mut t = Table::default();
                t.meta.id = "p".into();
                t.meta.uri = "urn:kakehashi:table:p".into();
                t.meta.source_system = "urn:kakehashi:local:s:99X".into();
                for (i, mut r) in rows.into_iter().enumerate() {
                    r.id = format!("r{:05}", i + 1);
                    t.rows.push(r);
                }
                let (back, d) = import(&export(&t), &Row::default());
                prop_assert!(d.is_empty(), "{:?}", d);
                let Imported::Table(back) = back else { panic!("not a table") };
                let mut a = t.rows.clone();
                let mut b = back.rows.clone();
                a.sort_by(|x, y| x.id.cmp(&y.id));
                b.sort_by(|x, y| x.id.cmp(&y.id));
                prop_assert_eq!(a, b);
            }
        }
    }

    pub(crate) const SAMPLE: &str = include_str!("../testdata/sample.sssom.tsv");
}
