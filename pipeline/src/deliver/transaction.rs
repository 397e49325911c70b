//! A unit's bundle as a FHIR `transaction` of `PUT Type/id` entries (pure: no I/O).
//!
//! A JP_Bundle_CLINS unit is a `collection` whose entries have `urn:uuid:` fullUrls
//! (UUID v5 derived from the input, so the same source always gives the same
//! uuid) and no `id`. The transaction gives each resource that uuid as its `id`,
//! rewrites references between entries from `urn:uuid:X` to `Type/X`, and
//! `PUT`s it to `Type/X`: sent twice, it leaves the server as sent once (an
//! update of a resource to the same content), on any server that allows
//! client-assigned ids. Conditional `DELETE Type?_id=id` entries remove what the
//! unit delivered before and no longer has (a no-match is a success).

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The resources of a unit's bundle as `Type/id` (id: the fullUrl's uuid),
/// sorted; entries without a resource type or a `urn:uuid:` fullUrl are left out.
pub fn resources(bundle: &Value) -> Vec<String> {
    let mut out: Vec<String> = ids(bundle).into_values().collect();
    out.sort();
    out.dedup();
    out
}

/// fullUrl → `Type/id` for every entry of the bundle.
fn ids(bundle: &Value) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for e in entries(bundle) {
        let (Some(url), Some(t)) = (
            e.get("fullUrl").and_then(Value::as_str),
            e.get("resource")
                .and_then(|r| r.get("resourceType"))
                .and_then(Value::as_str),
        ) else {
            continue;
        };
        if let Some(uuid) = url.strip_prefix("urn:uuid:") {
            map.insert(url.to_owned(), format!("{t}/{uuid}"));
        }
    }
    map
}

fn entries(bundle: &Value) -> impl Iterator<Item = &Value> {
    bundle
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Rewrites every `reference` naming an entry's fullUrl to `Type/id`.
fn rewrite(v: &mut Value, ids: &BTreeMap<String, String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if k == "reference"
                    && let Some(to) = x.as_str().and_then(|s| ids.get(s))
                {
                    *x = Value::String(to.clone());
                } else {
                    rewrite(x, ids);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite(x, ids)),
        _ => {}
    }
}

/// The transaction for a unit: every resource of `bundle` `PUT` to `Type/id`
/// (fullUrl `base/Type/id`), then `DELETE` of each of `delete` (`Type/id`, none
/// of them in the bundle). Entry order follows the bundle.
pub fn transaction(bundle: &Value, base: &str, delete: &[String]) -> Value {
    let ids = ids(bundle);
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for e in entries(bundle) {
        let (Some(url), Some(resource)) = (
            e.get("fullUrl").and_then(Value::as_str),
            e.get("resource").and_then(Value::as_object),
        ) else {
            continue;
        };
        let Some(target) = ids.get(url) else { continue };
        if !seen.insert(target.clone()) {
            continue;
        }
        let id = target.split_once('/').map_or("", |(_, id)| id);
        // resourceType, id, then the rest in the bundle's order.
        let mut r = Map::new();
        if let Some(t) = resource.get("resourceType") {
            r.insert("resourceType".into(), t.clone());
        }
        r.insert("id".into(), Value::String(id.to_owned()));
        for (k, v) in resource {
            if k != "resourceType" && k != "id" {
                r.insert(k.clone(), v.clone());
            }
        }
        let mut r = Value::Object(r);
        rewrite(&mut r, &ids);
        out.push(json!({
            "fullUrl": format!("{}/{target}", base.trim_end_matches('/')),
            "resource": r,
            "request": {"method": "PUT", "url": target},
        }));
    }
    for d in delete {
        out.push(json!({"request": {"method": "DELETE", "url": conditional_delete(d)}}));
    }
    json!({"resourceType": "Bundle", "type": "transaction", "entry": out})
}

/// `Type/id` → `Type?_id=id`: a conditional delete, which succeeds when nothing
/// matches (R4 RESTful API, conditional delete), so deleting what an earlier,
/// unacknowledged request already deleted is no error on any server (a plain
/// `DELETE Type/id` of an absent resource may be 404, and fail the whole
/// transaction).
fn conditional_delete(d: &str) -> String {
    match d.split_once('/') {
        Some((t, id)) => format!("{t}?_id={id}"),
        None => d.to_owned(),
    }
}

/// What a transaction-response says per entry: `[status, location, etag,
/// lastModified]` (absent ones empty), as compact JSON for the ledger; and
/// whether every entry's status is 2xx (a response without entries counts as
/// acknowledged: the HTTP status said so).
pub fn acknowledged(response: &[u8]) -> (String, bool) {
    let Ok(v) = serde_json::from_slice::<Value>(response) else {
        return (String::new(), true);
    };
    let mut all_ok = true;
    let rows: Vec<Value> = entries(&v)
        .map(|e| {
            let r = e.get("response").cloned().unwrap_or(Value::Null);
            let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let status = s("status");
            if !status.trim_start().starts_with('2') {
                all_ok = false;
            }
            json!([status, s("location"), s("etag"), s("lastModified")])
        })
        .collect();
    (
        serde_json::to_string(&rows).unwrap_or_default(),
        all_ok || rows.is_empty(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit() -> Value {
        json!({
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "name": [{"text": "x"}]}},
                {"fullUrl": "urn:uuid:c1", "resource": {"resourceType": "Condition",
                    "subject": {"reference": "urn:uuid:p1"},
                    "note": [{"text": "urn:uuid:p1"}]}},
            ]
        })
    }

    #[test]
    fn entries_are_put_to_their_uuid_with_references_rewritten() {
        let t = transaction(&unit(), "http://h/fhir/", &["Observation/o9".to_owned()]);
        let e = t["entry"].as_array().unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(
            e[0]["request"],
            json!({"method": "PUT", "url": "Patient/p1"})
        );
        assert_eq!(e[0]["fullUrl"], "http://h/fhir/Patient/p1");
        assert_eq!(e[0]["resource"]["id"], "p1");
        assert_eq!(e[1]["resource"]["subject"]["reference"], "Patient/p1");
        // Only references are rewritten, never text.
        assert_eq!(e[1]["resource"]["note"][0]["text"], "urn:uuid:p1");
        assert_eq!(
            e[2],
            json!({"request": {"method": "DELETE", "url": "Observation?_id=o9"}})
        );
        assert_eq!(resources(&unit()), ["Condition/c1", "Patient/p1"]);
        // Same input, same bytes: a re-sent unit is the same request.
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            serde_json::to_string(&transaction(
                &unit(),
                "http://h/fhir/",
                &["Observation/o9".to_owned()]
            ))
            .unwrap()
        );
    }

    #[test]
    fn acknowledgements_are_read_per_entry() {
        let r = br#"{"resourceType":"Bundle","type":"transaction-response","entry":[
            {"response":{"status":"201 Created","location":"Patient/p1/_history/1","etag":"W/\"1\""}},
            {"response":{"status":"200 OK","location":"Condition/c1/_history/2"}}]}"#;
        let (ack, ok) = acknowledged(r);
        assert!(ok);
        assert!(ack.contains("Patient/p1/_history/1"), "{ack}");
        let bad = br#"{"entry":[{"response":{"status":"400"}}]}"#;
        assert!(!acknowledged(bad).1);
    }
}
