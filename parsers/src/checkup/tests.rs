use super::*;
use proptest::prelude::*;

const SAMPLE: &[u8] = include_bytes!("../../../golden/checkup/data/h1311234567_20240405_0001.xml");

fn ids(d: &Diagnostics) -> Vec<&'static str> {
    d.iter().map(|x| x.code.id).collect()
}

/// A minimal document around `body` (the contents of one 01010 section).
fn doc_with(body: &str) -> String {
    let s = std::str::from_utf8(SAMPLE).unwrap_or_default();
    let start = s.find("<entry>").unwrap_or(0);
    let end = s.find("</section>").unwrap_or(0);
    format!(
        "{}{}{}",
        s.get(..start).unwrap_or_default(),
        body,
        s.get(end..).unwrap_or_default()
    )
}

#[test]
fn sample_reads_header_and_every_observation() {
    let (doc, d) = read(SAMPLE);
    assert!(d.is_empty(), "{d:?}");
    let doc = doc.unwrap_or_default();
    assert_eq!(doc.document_date.as_deref(), Some("20240405"));
    assert_eq!(doc.performed.as_deref(), Some("20240404"));
    assert_eq!(doc.program.as_ref().map(|p| p.code.as_str()), Some("010"));
    assert_eq!(doc.person.insurer_number.as_deref(), Some("06139999"));
    assert_eq!(doc.person.insured_symbol.as_deref(), Some("１２３"));
    assert_eq!(doc.person.insured_number.as_deref(), Some("４５６"));
    assert_eq!(doc.person.insured_branch.as_deref(), Some("01"));
    assert_eq!(doc.person.postal_code.as_deref(), Some("100-0000"));
    assert_eq!(
        doc.person.address.as_deref(),
        Some("東京都架空区見本町１－２－３")
    );
    let v = doc.voucher.clone().unwrap_or_default();
    assert_eq!(v.number.as_deref(), Some("24100000123"));
    assert_eq!(v.expiry.as_deref(), Some("20250331"));
    assert_eq!(v.insurer.as_deref(), Some("06139999"));
    assert_eq!(doc.sections.len(), 2);
    assert_eq!(doc.sections[0].observations.len(), 18);
    // 18 + 3 group members + 1 in 01990
    assert_eq!(doc.observation_count(), 22);
    let obs = &doc.sections[0].observations;
    assert_eq!(
        obs[0].code.as_ref().and_then(|c| c.system.as_deref()),
        Some(ITEM_CODE_SYSTEM)
    );
    assert_eq!(
        obs[0].values,
        vec![Value::Pq(Pq {
            value: "158.2".into(),
            unit: Some("cm".into())
        })]
    );
    assert_eq!(
        obs[3].method.as_ref().and_then(|m| m.system.as_deref()),
        Some(METHOD_CODE_SYSTEM)
    );
    assert!(obs[7].not_performed && obs[7].values.is_empty());
    assert_eq!(obs[8].interpretation.as_deref(), Some("H"));
    assert_eq!(
        obs[8]
            .range
            .as_ref()
            .and_then(|r| r.high.as_ref())
            .map(|h| h.value.as_str()),
        Some("119")
    );
    assert!(
        matches!(&obs[9].values[0], Value::Absent { null_flavor, xsi_type } if null_flavor == "NI" && xsi_type == "PQ")
    );
    assert!(matches!(
        &obs[10].values[0],
        Value::Coded { kind: "CO", .. }
    ));
    assert!(obs[11].is_group());
    assert_eq!(obs[11].members.len(), 3);
    assert_eq!(obs[11].members[1].0, "RSON");
    assert_eq!(obs[14].author_name.as_deref(), Some("見本　一郎"));
    assert_eq!(
        obs[11].members[2].1.path,
        "/ClinicalDocument/component/structuredBody/component[1]/section/entry[12]/observation/entryRelationship[3]/observation"
    );
}

#[test]
fn locations_name_byte_line_and_element_path() {
    let xml = doc_with(
        r#"<entry><observation classCode="OBS" moodCode="EVN">
            <code code="9N001000000000001"/>
            <value xsi:type="PQ" value="abc" unit="cm"/>
          </observation></entry>"#,
    );
    let (doc, d) = read(xml.as_bytes());
    assert!(doc.is_some());
    let x = d.iter().find(|x| x.code.id == "K010").cloned();
    let x = x.unwrap_or_else(|| panic!("no K010 in {d:?}"));
    assert_eq!(
        x.location.element.as_deref(),
        Some(
            "/ClinicalDocument/component/structuredBody/component[1]/section/entry/observation/value/@value"
        )
    );
    let byte = x.location.byte.unwrap_or(0) as usize;
    assert!(xml.get(byte..).unwrap_or_default().starts_with("<value"));
    let line = xml.get(..byte).unwrap_or_default().matches('\n').count() as u32 + 1;
    assert_eq!(x.location.line, Some(line));
}

#[test]
fn wrong_namespace_and_wrong_root_are_not_read() {
    let s = std::str::from_utf8(SAMPLE).unwrap_or_default();
    let other = s.replace("xmlns=\"urn:hl7-org:v3\"", "xmlns=\"urn:example:other\"");
    let (doc, d) = read(other.as_bytes());
    assert!(doc.is_none());
    assert_eq!(ids(&d), vec!["K003"]);
    let (doc, d) = read(b"<?xml version=\"1.0\"?><index xmlns=\"urn:hl7-org:v3\"/>");
    assert!(doc.is_none());
    assert_eq!(ids(&d), vec!["K003"]);
}

#[test]
fn not_utf8_and_declared_sjis_are_reported() {
    let mut bytes = SAMPLE.to_vec();
    let at = bytes.windows(4).position(|w| w == b"<tex").unwrap_or(0);
    bytes.insert(at, 0x82);
    let (doc, d) = read(&bytes);
    assert!(doc.is_none());
    assert_eq!(ids(&d), vec!["K001"]);
    assert_eq!(
        d.iter().next().and_then(|x| x.location.byte),
        Some(at as u64)
    );
    assert!(matches!(
        d.iter().next().and_then(|x| x.excerpt.clone()),
        Some(Excerpt::Bytes { .. })
    ));
    let sjis = std::str::from_utf8(SAMPLE)
        .unwrap_or_default()
        .replace("UTF-8", "Shift_JIS");
    let (doc, d) = read(sjis.as_bytes());
    assert!(doc.is_none());
    assert_eq!(ids(&d), vec!["K004"]);
}

#[test]
fn missing_parts_and_bad_dates_are_errors_with_paths() {
    let s = std::str::from_utf8(SAMPLE).unwrap_or_default();
    let bad = s
        .replace("<birthTime value=\"19700504\"/>", "<birthTime value=\"19700231\"/>")
        .replace("<id extension=\"06139999\" root=\"1.2.392.200119.6.101\"/>\n      <id extension=\"１２３\"", "<id extension=\"１２３\"");
    let (doc, d) = read(bad.as_bytes());
    let doc = doc.unwrap_or_default();
    assert_eq!(doc.person.birth_date, None);
    assert_eq!(doc.person.insurer_number, None);
    let k007 = d.iter().find(|x| x.code.id == "K007").cloned();
    let k007 = k007.unwrap_or_else(|| panic!("{d:?}"));
    assert!(matches!(
        k007.excerpt,
        Some(Excerpt::Text {
            phi: Some(Phi::BirthDate),
            ..
        })
    ));
    assert!(ids(&d).contains(&"K005"));
}

#[test]
fn negated_with_value_and_unknown_type_are_reported() {
    let xml = doc_with(
        r#"<entry><observation classCode="OBS" moodCode="EVN" negationInd="true">
            <code code="9N001000000000001"/>
            <value xsi:type="PQ" value="1" unit="cm"/>
          </observation></entry>
          <entry><observation classCode="OBS" moodCode="EVN">
            <code code="9N006000000000001"/>
            <value xsi:type="REAL" value="1"/>
          </observation></entry>
          <entry><observation classCode="OBS" moodCode="EVN"><code nullFlavor="NA"/></observation></entry>"#,
    );
    let (doc, d) = read(xml.as_bytes());
    assert!(doc.is_some());
    assert_eq!(ids(&d), vec!["K012", "K009", "K015"]);
}

#[test]
fn group_member_without_type_code_is_reported_and_read_as_comp() {
    let xml = doc_with(
        r#"<entry><observation classCode="OBS" moodCode="EVN"><code nullFlavor="NA"/>
            <entryRelationship><observation classCode="OBS" moodCode="EVN">
              <code code="9A110160700000011"/><value xsi:type="CD" code="1" codeSystem="1.2.392.200119.6.2002"/>
            </observation></entryRelationship>
          </observation></entry>"#,
    );
    let (doc, d) = read(xml.as_bytes());
    assert_eq!(ids(&d), vec!["K006"]);
    let doc = doc.unwrap_or_default();
    assert_eq!(doc.sections[0].observations[0].members[0].0, "COMP");
}

#[test]
fn entity_references_are_resolved_and_unknown_ones_refused() {
    // quick-xml (since 0.41) reports references as their own events.
    let xml = doc_with(
        r#"<entry><observation classCode="OBS" moodCode="EVN">
            <code code="9N511000000000049"/><value xsi:type="ST">A&amp;B &#x3042;&lt;</value>
          </observation></entry>"#,
    );
    let (doc, d) = read(xml.as_bytes());
    assert!(d.is_empty(), "{d:?}");
    let doc = doc.unwrap_or_default();
    assert_eq!(
        doc.sections[0].observations[0].values,
        vec![Value::Text("A&B あ<".into())]
    );
    let bad = xml.replace("&amp;", "&nbsp;");
    let (doc, d) = read(bad.as_bytes());
    assert!(doc.is_none());
    assert_eq!(ids(&d), vec!["K002"]);
}

#[test]
fn hostile_nesting_is_refused_not_a_stack_overflow() {
    let depth = 100_000;
    let mut xml = String::from("<ClinicalDocument xmlns=\"urn:hl7-org:v3\">");
    xml.push_str(&"<a>".repeat(depth));
    xml.push_str(&"</a>".repeat(depth));
    xml.push_str("</ClinicalDocument>");
    let (doc, d) = read(xml.as_bytes());
    assert!(doc.is_none());
    assert_eq!(ids(&d), vec!["K002"]);
}

#[test]
fn every_truncation_of_the_sample_is_an_error_not_a_panic() {
    // Cut inside the root element: always unreadable with K002 (or K001 when the cut
    // splits a UTF-8 sequence).
    let root_at = SAMPLE
        .windows(17)
        .position(|w| w == b"<ClinicalDocument")
        .unwrap_or(0);
    for cut in (root_at + 1..SAMPLE.len() - 2).step_by(37) {
        let (doc, d) = read(&SAMPLE[..cut]);
        assert!(doc.is_none(), "cut {cut} was read");
        let id = d.iter().next().map(|x| x.code.id);
        assert!(
            matches!(id, Some("K002") | Some("K001")),
            "cut {cut}: {d:?}"
        );
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let (doc, d) = read(&bytes);
        // Unreadable input always says why.
        if doc.is_none() {
            prop_assert!(d.has_errors());
        }
    }

    #[test]
    fn byte_flips_in_the_sample_never_panic(at in 0usize..SAMPLE.len(), b in any::<u8>()) {
        let mut bytes = SAMPLE.to_vec();
        bytes[at] = b;
        let (doc, d) = read(&bytes);
        if doc.is_none() {
            prop_assert!(d.has_errors());
        }
    }

    /// Any cut before the root's end tag is complete (the trailing newline may go).
    #[test]
    fn truncations_give_diagnostics(cut in 0usize..SAMPLE.len() - "</ClinicalDocument>\n".len() + 1) {
        let (doc, d) = read(&SAMPLE[..cut]);
        prop_assert!(doc.is_none());
        prop_assert!(d.has_errors());
    }
}
