use super::build::*;
use super::json::{read, read_as, to_vec};
use super::types::{Code, ExtensionValue};
use super::*;
use proptest::prelude::*;
use serde_json::Value;

fn examples() -> Vec<(String, Vec<u8>)> {
    let dir = crate::shared(crate::CLINS_EXAMPLES);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

#[test]
fn every_jp_clins_example_round_trips() {
    let all = examples();
    assert_eq!(all.len(), 61, "JP-CLINS 1.5.2 ships 61 examples");
    for (name, bytes) in all {
        let model = read(&bytes).unwrap_or_else(|d| panic!("{name}: {d:?}"));
        let written = to_vec(&model).unwrap();
        let again = read(&written).unwrap_or_else(|d| panic!("{name} (written): {d:?}"));
        assert_eq!(again, model, "{name}: read → write → read");
        assert_eq!(
            to_vec(&again).unwrap(),
            written,
            "{name}: write → read → write"
        );
        // Same content as the package's own JSON, whatever its key order.
        let ours: Value = serde_json::from_slice(&written).unwrap();
        let theirs: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(
            same_json(&ours, &theirs),
            "{name}: content changed on the way"
        );
    }
}

/// JSON equality ignoring object key order (preserve_order makes `==` order-aware
/// for nothing, but be explicit) and comparing numbers by their text.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_json(v, w))
        }
        (Value::Number(x), Value::Number(y)) => x.to_string() == y.to_string(),
        _ => a == b,
    }
}

/// Rebuilds every object with its keys in a scrambled order that depends on
/// `seed` (a fixed permutation: sort by a hash of key and seed).
fn shuffle(v: &Value, seed: u64) -> Value {
    match v {
        Value::Object(m) => {
            let mut items: Vec<_> = m.iter().collect();
            items.sort_by_key(|(k, _)| {
                let mut h = seed ^ 0xcbf2_9ce4_8422_2325;
                for b in k.bytes() {
                    h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
                }
                h
            });
            Value::Object(
                items
                    .into_iter()
                    .map(|(k, v)| (k.clone(), shuffle(v, seed)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| shuffle(v, seed)).collect()),
        other => other.clone(),
    }
}

#[test]
fn shuffled_key_order_reads_to_the_same_model() {
    for (name, bytes) in examples() {
        let model = read(&bytes).unwrap();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        for seed in [1, 2] {
            let shuffled = serde_json::to_vec(&shuffle(&value, seed)).unwrap();
            assert_ne!(shuffled, bytes);
            let m2 = read(&shuffled).unwrap_or_else(|d| panic!("{name}: {d:?}"));
            assert_eq!(m2, model, "{name} seed {seed}");
            assert_eq!(to_vec(&m2).unwrap(), to_vec(&model).unwrap(), "{name}");
        }
    }
}

#[test]
fn the_writer_is_deterministic_and_tidy() {
    for (name, bytes) in examples() {
        let model = read(&bytes).unwrap();
        let a = to_vec(&model).unwrap();
        let b = to_vec(&model.clone()).unwrap();
        assert_eq!(a, b, "{name}");
        let text = std::str::from_utf8(&a).unwrap();
        assert!(text.ends_with("}\n") && !text.ends_with("\n\n"), "{name}");
        for line in text.lines() {
            assert_eq!(line, line.trim_end(), "{name}: trailing whitespace");
            let indent = line.len() - line.trim_start_matches(' ').len();
            assert_eq!(indent % 2, 0, "{name}: two-space indentation");
            assert!(!line.starts_with('\t'), "{name}");
        }
        assert!(!text.contains("\\u"), "{name}: escaped non-ASCII");
    }
    // The examples do hold Japanese text, written as UTF-8.
    let mk = examples()
        .into_iter()
        .find(|(n, _)| n == "Patient-Example-JP-Patient-eCS-MAKINO.json")
        .unwrap();
    let out = to_vec(&read(&mk.1).unwrap()).unwrap();
    assert!(String::from_utf8(out).unwrap().contains("牧野"));
}

#[test]
fn element_order_is_the_specifications_not_the_builders() {
    // Fields set in any order, an extension built last: the output follows R4 order
    // (resourceType, id, meta, …, extension, identifier, status, category, code,
    // subject, effective, value).
    let obs = Observation {
        value: Some(resources::ObservationValue::Quantity(Box::new(quantity(
            "5.40",
            "%",
            Some("http://unitsofmeasure.org"),
            Some("%"),
        )))),
        subject: Some(Box::new(reference_to(
            "urn:uuid:d3ebb9c2-47aa-539a-8e84-0543f761bc38",
        ))),
        code: Box::new(concept(
            "urn:oid:1.2.392.200119.4.504",
            "3D046000001920402",
            Some("HbA1c"),
        )),
        status: Code::from("final"),
        meta: Some(Box::new(meta_with_profile(&[
            "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Observation_LabResult_eCS",
        ]))),
        id: Some("obs1".into()),
        ..Default::default()
    };
    let text = String::from_utf8(to_vec(&obs.into_resource()).unwrap()).unwrap();
    let expected = r#"{
  "resourceType": "Observation",
  "id": "obs1",
  "meta": {
    "profile": [
      "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Observation_LabResult_eCS"
    ]
  },
  "status": "final",
  "code": {
    "coding": [
      {
        "system": "urn:oid:1.2.392.200119.4.504",
        "code": "3D046000001920402",
        "display": "HbA1c"
      }
    ]
  },
  "subject": {
    "reference": "urn:uuid:d3ebb9c2-47aa-539a-8e84-0543f761bc38"
  },
  "valueQuantity": {
    "value": 5.40,
    "unit": "%",
    "system": "http://unitsofmeasure.org",
    "code": "%"
  }
}
"#;
    assert_eq!(text, expected);
}

#[test]
fn decimals_keep_their_text() {
    for d in [
        "5.40",
        "0.000",
        "-0.5",
        "100",
        "12345678901234567890.1234567890123456789",
        "1.0e+2",
    ] {
        let json = format!(
            r#"{{"resourceType":"Observation","status":"final","code":{{"text":"x"}},"valueQuantity":{{"value":{d}}}}}"#
        );
        let model = read(json.as_bytes()).unwrap();
        let out = String::from_utf8(to_vec(&model).unwrap()).unwrap();
        assert!(out.contains(&format!("\"value\": {d}\n")), "{d}: {out}");
        let Resource::Observation(o) = model else {
            panic!()
        };
        let Some(resources::ObservationValue::Quantity(q)) = &o.value else {
            panic!()
        };
        assert_eq!(q.value.as_ref().unwrap().value.as_deref(), Some(d));
    }
}

#[test]
fn exponents_are_written_with_a_sign() {
    // serde_json's arbitrary_precision rewrites the exponent (same value); the
    // rewrite is stable, so write → read → write is still byte-identical.
    let json = r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.0e2}}"#;
    let out = to_vec(&read(json.as_bytes()).unwrap()).unwrap();
    assert!(
        String::from_utf8(out.clone())
            .unwrap()
            .contains("\"value\": 1.0e+2\n")
    );
    assert_eq!(to_vec(&read(&out).unwrap()).unwrap(), out);
}

fn err(json: &str) -> diagnostics::Diagnostic {
    *read(json.as_bytes()).unwrap_err()
}

#[test]
fn unknown_elements_are_v103_with_their_path() {
    let d = err(r#"{"resourceType":"Patient","gender":"male","nickname":"x"}"#);
    assert_eq!(d.code.id, "V103");
    assert_eq!(d.location.element.as_deref(), Some("Patient.nickname"));
    assert!(d.message.contains("nickname"));

    let d = err(r#"{"resourceType":"Patient","name":[{"family":"a"},{"family":"b","nick":"c"}]}"#);
    assert_eq!(d.location.element.as_deref(), Some("Patient.name[1].nick"));

    // Inside a Bundle: narrowed to the failing entry.
    let d = err(r#"{"resourceType":"Bundle","type":"collection","entry":[
        {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","gender":"male"}},
        {"fullUrl":"urn:uuid:2","resource":{"resourceType":"Observation","status":"final",
          "code":{"text":"x"},"colour":"red"}}]}"#);
    assert_eq!(d.code.id, "V103");
    assert_eq!(
        d.location.element.as_deref(),
        Some("Bundle.entry[1].resource.colour")
    );
}

#[test]
fn other_model_errors_have_their_codes() {
    let json = r#"{"resourceType":"Patient","name":[{"given":["a"],"given":["b"]}]}"#;
    let d = err(json);
    assert_eq!(d.code.id, "V105");
    assert_eq!(d.location.element.as_deref(), Some("Patient.name[0].given"));
    let at = usize::try_from(d.location.byte.unwrap()).unwrap();
    assert!(
        json.as_bytes()[at..].starts_with(br#""given":["b"]"#),
        "{at}"
    );

    let d = err(r#"{"resourceType":"Patien"}"#);
    assert_eq!(d.code.id, "V106");
    assert_eq!(d.location.element.as_deref(), Some("Patien.resourceType"));
    let d = err(r#"{"gender":"male"}"#);
    assert_eq!(d.code.id, "V106");

    for json in [
        r#"{"resourceType":"Patient","active":5}"#,
        r#"{"resourceType":"Patient","name":"x"}"#,
    ] {
        assert_eq!(err(json).code.id, "V104", "{json}");
    }
    // An object where a primitive belongs: its keys are unknown elements.
    let d = err(r#"{"resourceType":"Patient","birthDate":{"year":1}}"#);
    assert_eq!(d.code.id, "V103");
    assert_eq!(
        d.location.element.as_deref(),
        Some("Patient.birthDate.year")
    );
    let d = err(r#"{"resourceType":"Patient","active":"山田"}"#);
    assert_eq!(d.code.id, "V104");
    // The offending value is only in the PHI-masked excerpt.
    assert!(!d.message.contains("山田"));
    assert!(matches!(
        &d.excerpt,
        Some(diagnostics::Excerpt::Text {
            phi: Some(diagnostics::Phi::Other),
            ..
        })
    ));

    let d = err(r#"{"resourceType":"Patient","extension":[{"valueString":"x"}]}"#);
    assert_eq!(d.code.id, "V107", "{d:?}");
}

#[test]
fn syntax_errors_carry_byte_and_line() {
    let json = "{\"resourceType\":\"Patient\",\n \"gender\": \"male\",,\n}";
    let d = err(json);
    assert_eq!(d.code.id, "V102");
    assert_eq!(d.location.line, Some(2));
    let at = usize::try_from(d.location.byte.unwrap()).unwrap();
    assert_eq!(json.as_bytes()[at], b',', "{d:?}");

    let d = err("{\"resourceType\":\"Patient\"");
    assert_eq!(d.code.id, "V102");
}

#[test]
fn non_utf8_is_v101_with_the_bytes() {
    let mut bytes = br#"{"resourceType":"Patient","gender":""#.to_vec();
    let at = bytes.len();
    bytes.extend_from_slice(&[0x82, 0xa0]);
    bytes.extend_from_slice(br#""}"#);
    let d = *read(&bytes).unwrap_err();
    assert_eq!(d.code.id, "V101");
    assert_eq!(d.location.byte, Some(at as u64));
    assert!(
        matches!(&d.excerpt, Some(diagnostics::Excerpt::Bytes { bytes, .. }) if bytes[0] == 0x82)
    );
}

#[test]
fn read_as_unwraps_the_expected_type() {
    let json = r#"{"resourceType":"Patient","gender":"male","nickname":"x"}"#;
    let d = read_as::<Patient>(json.as_bytes()).unwrap_err();
    assert_eq!(d.code.id, "V103");
    let p: Patient = read_as(br#"{"resourceType":"Patient","gender":"male"}"#).unwrap();
    assert_eq!(p.gender.unwrap().value.as_deref(), Some("male"));
    let d = read_as::<Observation>(br#"{"resourceType":"Patient"}"#).unwrap_err();
    assert_eq!(d.code.id, "V106");
}

#[test]
fn unwritable_values_are_v109_not_a_panic() {
    let ext = extension("http://example.org/x", ExtensionValue::Invalid);
    let p = Patient {
        extension: vec![ext],
        ..Default::default()
    };
    let d = to_vec(&p.into_resource()).unwrap_err();
    assert_eq!(d.code.id, "V109");
    // A decimal text that is no JSON number is refused, never written as is.
    for bad in ["1.", "+1", ".5", "abc", ""] {
        let p = Patient {
            extension: vec![extension_value_decimal("http://example.org/x", bad)],
            ..Default::default()
        };
        assert_eq!(
            to_vec(&p.into_resource()).unwrap_err().code.id,
            "V109",
            "{bad:?}"
        );
    }
}

#[test]
fn builders_make_what_the_spec_says() {
    let c = coding("http://loinc.org", "1234-5", None);
    assert_eq!(
        c.system.as_ref().unwrap().value.as_deref(),
        Some("http://loinc.org")
    );
    assert!(c.display.is_none());
    let cc = codeable_concept(vec![c.clone(), c.clone()], Some("t"));
    assert_eq!(cc.coding.len(), 2);
    assert_eq!(cc.text.unwrap().value.as_deref(), Some("t"));
    assert!(text_concept("only").coding.is_empty());
    let i = identifier("urn:oid:1.2.392.100495.20.3.51.1", "42");
    assert_eq!(i.value.unwrap().value.as_deref(), Some("42"));
    let r = reference_with_display("urn:uuid:x", "d");
    assert_eq!(r.reference.unwrap().value.as_deref(), Some("urn:uuid:x"));
    let m = meta_with_profile_and_tags(&["p1", "p2"], vec![coding("s", "c", None)]);
    assert_eq!(m.profile.len(), 2);
    assert_eq!(m.profile[1].value.as_deref(), Some("p2"));
    assert_eq!(m.tag.len(), 1);
    let p = period(Some("2024-01-01"), None);
    assert!(p.end.is_none());

    // Every extension helper writes its value[x] name and reads back.
    let exts = vec![
        extension_value_string("u", "s"),
        extension_value_code("u", "c"),
        extension_value_boolean("u", true),
        extension_value_integer("u", -3),
        extension_value_decimal("u", "2.50"),
        extension_value_date_time("u", "2024-02-29T10:00:00+09:00"),
        extension_value_coding("u", coding("s", "c", Some("d"))),
        extension_value_codeable_concept("u", concept("s", "c", None)),
        extension_value_identifier("u", identifier("s", "v")),
        extension_value_reference("u", reference_to("urn:uuid:y")),
        extension_value_quantity("u", quantity("1", "mg", None, None)),
        extension_value_period("u", period(None, Some("2024"))),
        extension_complex("u", vec![extension_value_string("v", "w")]),
    ];
    let p = Patient {
        extension: exts,
        ..Default::default()
    };
    let bytes = to_vec(&p.clone().into_resource()).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    for key in [
        "valueString",
        "valueCode",
        "valueBoolean\": true",
        "valueInteger\": -3",
        "valueDecimal\": 2.50",
        "valueDateTime",
        "valueCoding",
        "valueCodeableConcept",
        "valueIdentifier",
        "valueReference",
        "valueQuantity",
        "valuePeriod",
    ] {
        assert!(text.contains(key), "{key}");
    }
    let back = read_as::<Patient>(&bytes).unwrap();
    assert_eq!(back, p);

    let entry = bundle_entry("urn:uuid:z", back);
    assert!(matches!(entry.resource, Some(Resource::Patient(_))));
}

#[test]
fn uuid_v5_matches_the_rfc_and_python() {
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
    let dns = [
        0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30,
        0xc8,
    ];
    assert_eq!(
        id::format(&id::uuid_v5(&dns, b"python.org")),
        "886313e1-3b8a-5372-9b90-0c9aee199e5d"
    );
    assert_eq!(id::uuid_v5(&id::NAMESPACE_URL, b"kakehashi"), id::NAMESPACE);
    // Python: uuid.UUID(bytes=sha1(NS + name).digest()[:16], version=5) with the
    // length-prefixed name of the three parts.
    assert_eq!(
        id::urn_uuid(&[b"Patient", b"1234567890", b"00012345"]),
        "urn:uuid:d3ebb9c2-47aa-539a-8e84-0543f761bc38"
    );
    assert_ne!(id::uuid(&[b"ab", b"c"]), id::uuid(&[b"a", b"bc"]));
    assert_ne!(id::uuid(&[b"a"]), id::uuid(&[b"a", b""]));
}

#[test]
fn sha1_hex_matches_the_fips_vectors() {
    // FIPS 180-2 appendix A: "abc" and the 448-bit two-block message.
    assert_eq!(
        id::sha1_hex(b"abc"),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        id::sha1_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
    );
    assert_eq!(
        id::sha1_hex(b""),
        "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    );
}

#[test]
fn the_value_writer_gives_the_bytes_of_the_resource_writer() {
    // convert validates the value and writes the file from it: the file must be
    // what `to_vec` would have written, for every example (decimals, extensions,
    // contained resources, primitives with `_element` parts).
    for (name, bytes) in examples_cached() {
        let r = read(bytes).unwrap_or_else(|d| panic!("{name}: {}", d.message));
        let direct = to_vec(&r).unwrap();
        let v = super::json::to_value(r).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&super::json::value_bytes(&v)),
            String::from_utf8_lossy(&direct),
            "{name}"
        );
    }
}

proptest! {
    #[test]
    fn reading_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = read(&bytes);
    }

    #[test]
    fn damaged_examples_never_panic_and_are_diagnosed(cut in 0usize..4000, flip in any::<u8>(), idx in 0usize..61) {
        let all = examples_cached();
        let (_, bytes) = &all[idx % all.len()];
        let mut b = bytes.clone();
        let at = cut % b.len();
        b[at] ^= flip | 1;
        match read(&b) {
            Ok(m) => { to_vec(&m).unwrap(); }
            Err(d) => prop_assert!(d.code.id.starts_with("V1")),
        }
        let _ = read(&bytes[..at]);
    }
}

fn examples_cached() -> &'static [(String, Vec<u8>)] {
    static E: std::sync::OnceLock<Vec<(String, Vec<u8>)>> = std::sync::OnceLock::new();
    E.get_or_init(examples)
}

/// The status displays are the FHIR R4 code systems' own (read from the R4
/// package built into kakehashi), for every code of the four systems.
#[test]
fn status_displays_are_the_code_systems_own() {
    let pkg = crate::package::Package::from_tgz(crate::conformance::BUILT_IN_R4).unwrap();
    let mut checked = 0;
    for name in [
        "condition-clinical",
        "condition-ver-status",
        "allergyintolerance-clinical",
        "allergyintolerance-verification",
    ] {
        let bytes = &pkg.files[&format!("package/CodeSystem-{name}.json")];
        let cs: Value = serde_json::from_slice(bytes).unwrap();
        let url = cs["url"].as_str().unwrap();
        fn walk(concepts: &Value, out: &mut Vec<(String, String)>) {
            for c in concepts.as_array().into_iter().flatten() {
                out.push((
                    c["code"].as_str().unwrap().to_owned(),
                    c["display"].as_str().unwrap().to_owned(),
                ));
                walk(&c["concept"], out);
            }
        }
        let mut codes = Vec::new();
        walk(&cs["concept"], &mut codes);
        for (code, display) in codes {
            assert_eq!(
                crate::model::build::status_display(url, &code),
                Some(display.as_str()),
                "{url} {code}"
            );
            checked += 1;
        }
        assert_eq!(
            crate::model::build::status_display(url, "no-such-code"),
            None
        );
    }
    assert_eq!(checked, 19);
    assert_eq!(
        crate::model::build::status_display("http://example.org/cs", "active"),
        None
    );
}
