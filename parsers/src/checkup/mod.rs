//! 特定健診 CDA XML (MHLW `hc08_V08.xsd`, HL7 CDA R2 restricted): bytes → one
//! [`CheckupDocument`] plus diagnostics. No FHIR here.
//!
//! The reader builds a small element tree (quick-xml events, namespaces resolved)
//! and reads what the mapping needs: header (報告区分, 文書発行日, 受診者 with the
//! insurer/insured identifiers 6.101/6.204/6.205/6.211, 作成機関, 受診券 participant
//! `HLD`, 健診プログラム and 実施日 from `documentationOf/serviceEvent`, 実施機関) and
//! every `entry/observation` of every section, with value types PQ / CD / CO / ST,
//! 未実施 (`negationInd="true"`), 測定不能 (`nullFlavor` on the value), 基準値
//! (`referenceRange`), H/L/N (`interpretationCode`), 検査方法 (`methodCode`), the
//! 医師 named in `observation/author`, and 一連検査グループ (`code nullFlavor="NA"` with
//! `entryRelationship` COMP/RSON members).
//!
//! XSD defaults are applied: `observation/code/@codeSystem` is
//! `1.2.392.200119.6.1005`, `methodCode/@codeSystem` `1.2.392.200119.6.1007`.
//! Every diagnostic carries the byte offset, line and element path
//! (`/ClinicalDocument/component/structuredBody/component[2]/section/entry[3]/observation/value`);
//! the CLI adds the file. Names, addresses, birth dates and insurance numbers only
//! ever appear in PHI-tagged excerpts.

pub mod codes;
mod dom;
#[cfg(test)]
mod tests;

use diagnostics::{Diagnostic, Diagnostics, Excerpt, Location, Phi};
use dom::Node;

/// The HL7 v3 namespace of CDA documents.
pub const HL7_V3: &str = "urn:hl7-org:v3";
/// Default code system of `observation/code` (特定健診項目コード).
pub const ITEM_CODE_SYSTEM: &str = "1.2.392.200119.6.1005";
/// Default code system of `methodCode` (検査方法コード).
pub const METHOD_CODE_SYSTEM: &str = "1.2.392.200119.6.1007";
/// Section code system of the CDA (01010 法定項目, 01990 追加項目).
pub const SECTION_CODE_SYSTEM: &str = "1.2.392.200119.6.1010";
/// Root of the 受診券整理番号 (followed by the insurer number).
pub const VOUCHER_ROOT_PREFIX: &str = "1.2.392.200119.6.209.1";

/// A code with its system (the CDA `@codeSystem`, an OID) and display.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeValue {
    /// `@code`.
    pub code: String,
    /// `@codeSystem` (an OID), or the XSD default where one applies.
    pub system: Option<String>,
    /// `@displayName`.
    pub display: Option<String>,
}

/// A physical quantity (`xsi:type="PQ"`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pq {
    /// `@value`, as written (checked to be a decimal).
    pub value: String,
    /// `@unit` (UCUM-style).
    pub unit: Option<String>,
}

/// One `observation/value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `PQ`: a number and a unit.
    Pq(Pq),
    /// `CD` or `CO`: a coded answer (`kind` is "CD" or "CO").
    Coded {
        /// "CD" or "CO".
        kind: &'static str,
        /// The code.
        code: CodeValue,
    },
    /// `ST`: free text.
    Text(String),
    /// 測定不能: a value of any type with `@nullFlavor` (e.g. "NI").
    Absent {
        /// The `xsi:type` given (may be empty).
        xsi_type: String,
        /// The null flavor.
        null_flavor: String,
    },
}

/// Reference range (`referenceRange/observationRange/value`, `IVL_PQ`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Range {
    /// `low`.
    pub low: Option<Pq>,
    /// `high`.
    pub high: Option<Pq>,
}

/// One `observation` (an entry or a group member).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// Element path (`/ClinicalDocument/…/observation`).
    pub path: String,
    /// Byte offset of the start tag.
    pub byte: u64,
    /// Line of the start tag.
    pub line: u32,
    /// 項目コード (`None` for a group wrapper or when missing).
    pub code: Option<CodeValue>,
    /// `code/@nullFlavor` (`NA` marks a 一連検査グループ wrapper).
    pub code_null_flavor: Option<String>,
    /// 未実施 (`negationInd="true"`).
    pub not_performed: bool,
    /// Values in document order (after 2013 an out-of-range result has a PQ then a CD L/H).
    pub values: Vec<Value>,
    /// `interpretationCode/@code` (H, L, N …).
    pub interpretation: Option<String>,
    /// `methodCode`.
    pub method: Option<CodeValue>,
    /// 基準値.
    pub range: Option<Range>,
    /// `author/assignedAuthor/assignedPerson/name` (医師の氏名).
    pub author_name: Option<String>,
    /// `entryRelationship` members: (`@typeCode`, observation).
    pub members: Vec<(String, Observation)>,
}

impl Observation {
    /// True for a 一連検査グループ wrapper (`code nullFlavor="NA"` or members).
    pub fn is_group(&self) -> bool {
        self.code_null_flavor.as_deref() == Some("NA")
            || (self.code.is_none() && !self.members.is_empty())
    }

    /// The item code, if any.
    pub fn item_code(&self) -> Option<&str> {
        self.code.as_ref().map(|c| c.code.as_str())
    }
}

/// One body section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    /// `section/code` (01010, 01990).
    pub code: Option<CodeValue>,
    /// Element path of the section.
    pub path: String,
    /// Its `entry/observation`s in document order.
    pub observations: Vec<Observation>,
}

/// An organisation (`representedOrganization`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Organization {
    /// 機関番号 (`id[@root="1.2.392.200119.6.102"]/@extension`).
    pub number: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `telecom/@value` (e.g. `tel:03-…`).
    pub telecom: Option<String>,
    /// `addr/postalCode`.
    pub postal_code: Option<String>,
    /// `addr` text (without the postal code).
    pub address: Option<String>,
}

/// The 受診券 (`participant typeCode="HLD"`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Voucher {
    /// 券面種別 (`functionCode/@code`, 1 受診券, 2 利用券).
    pub kind: Option<String>,
    /// 有効期限 (`time/high/@value`), `YYYYMMDD`.
    pub expiry: Option<String>,
    /// 受診券整理番号 (`associatedEntity/id/@extension`).
    pub number: Option<String>,
    /// Its `@root` (`1.2.392.200119.6.209.1` + insurer number).
    pub root: Option<String>,
    /// 保険者番号 of `scopingOrganization`.
    pub insurer: Option<String>,
}

/// The 受診者.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Person {
    /// 保険者番号 (root `1.2.392.200119.6.101`).
    pub insurer_number: Option<String>,
    /// 被保険者証等記号 (`…6.204`).
    pub insured_symbol: Option<String>,
    /// 被保険者証等番号 (`…6.205`).
    pub insured_number: Option<String>,
    /// 枝番 (`…6.211`).
    pub insured_branch: Option<String>,
    /// カナ氏名 (`patient/name`).
    pub name: Option<String>,
    /// 性別 (1 male, 2 female; `…6.1104`).
    pub gender: Option<String>,
    /// 生年月日 `YYYYMMDD`.
    pub birth_date: Option<String>,
    /// `addr/postalCode`.
    pub postal_code: Option<String>,
    /// `addr` text.
    pub address: Option<String>,
}

/// One 特定健診情報ファイル (one person's checkup).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckupDocument {
    /// 報告区分 (`/ClinicalDocument/code`, 10 特定健診).
    pub report_category: Option<CodeValue>,
    /// 文書発行日 `YYYYMMDD`.
    pub document_date: Option<String>,
    /// 受診者.
    pub person: Person,
    /// ファイル作成日 (`author/time`).
    pub author_time: Option<String>,
    /// 作成機関.
    pub author_org: Option<Organization>,
    /// 受診券, when present.
    pub voucher: Option<Voucher>,
    /// 健診プログラム種別 (`serviceEvent/code`, system 1.2.392.200119.6.1002).
    pub program: Option<CodeValue>,
    /// 健診実施日 `YYYYMMDD`.
    pub performed: Option<String>,
    /// 実施機関 (`serviceEvent/performer`).
    pub performer_org: Option<Organization>,
    /// Body sections.
    pub sections: Vec<Section>,
}

impl CheckupDocument {
    /// Number of observations, group members included.
    pub fn observation_count(&self) -> usize {
        fn count(o: &Observation) -> usize {
            1 + o.members.iter().map(|(_, m)| count(m)).sum::<usize>()
        }
        self.sections
            .iter()
            .flat_map(|s| s.observations.iter())
            .map(count)
            .sum()
    }
}

struct Ctx<'a> {
    lines: &'a [u64],
    d: Diagnostics,
}

impl Ctx<'_> {
    fn line(&self, byte: u64) -> u32 {
        line_of(self.lines, byte)
    }
    fn at(&self, n: &Node) -> Location {
        Location::default()
            .byte(n.byte)
            .line(self.line(n.byte))
            .element(n.path.clone())
    }
    fn missing(&mut self, parent: &Node, what: &str) {
        let loc = self.at(parent);
        self.d.push(
            Diagnostic::new(
                &codes::MISSING_ELEMENT,
                format!("element {what} is missing"),
            )
            .at(loc.element(format!("{}/{what}", parent.path))),
        );
    }
    fn missing_attr(&mut self, n: &Node, attr: &str) {
        let loc = self.at(n);
        self.d.push(
            Diagnostic::new(
                &codes::MISSING_ATTRIBUTE,
                format!("attribute @{attr} is missing or empty"),
            )
            .at(loc.element(format!("{}/@{attr}", n.path))),
        );
    }
    /// A `YYYYMMDD` date in `@value` of `n`; diagnostics when absent or malformed.
    fn date(&mut self, n: &Node, phi: Option<Phi>) -> Option<String> {
        let Some(v) = nonempty(n.attr("value")) else {
            self.missing_attr(n, "value");
            return None;
        };
        if is_date(v) {
            return Some(v.to_owned());
        }
        let loc = self.at(n).element(format!("{}/@value", n.path));
        let ex = match phi {
            Some(p) => Excerpt::phi_text(v, p),
            None => Excerpt::text(v),
        };
        self.d.push(
            Diagnostic::new(&codes::BAD_DATE, "date is not a YYYYMMDD calendar date")
                .at(loc)
                .excerpt(ex),
        );
        None
    }
}

fn line_of(lines: &[u64], byte: u64) -> u32 {
    match lines.binary_search(&byte) {
        Ok(i) => i as u32 + 2,
        Err(i) => i as u32 + 1,
    }
}

fn nonempty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// True for an 8-digit `YYYYMMDD` calendar date.
pub fn is_date(s: &str) -> bool {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok()).unwrap_or(0);
    let (y, m, d) = (n(0..4), n(4..6), n(6..8));
    (1..=12).contains(&m) && d >= 1 && d <= crate::hl7::values::days_in(y, m)
}

/// True for a decimal number as XML Schema writes it (`-1.5`, `.5`, `140`).
pub fn is_decimal(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (a, b) = t.split_once('.').unwrap_or((t, ""));
    !(a.is_empty() && b.is_empty())
        && a.bytes().all(|c| c.is_ascii_digit())
        && b.bytes().all(|c| c.is_ascii_digit())
        && !t.ends_with('.')
}

/// Reads one hc08 file. Returns `None` (with error diagnostics) when the bytes are
/// not a readable CDA document: not UTF-8, not well-formed (truncated), or not a
/// `ClinicalDocument` in `urn:hl7-org:v3`. Locations carry byte, line and element
/// path; set the file with [`Diagnostics::set_file`].
pub fn read(bytes: &[u8]) -> (Option<CheckupDocument>, Diagnostics) {
    let mut lines: Vec<u64> = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            lines.push(i as u64 + 1);
        }
    }
    // `lines` holds the offsets where lines 2, 3, … start.
    let mut cx = Ctx {
        lines: &lines,
        d: Diagnostics::default(),
    };
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let skip = (bytes.len() - body.len()) as u64;
    let text = match std::str::from_utf8(body) {
        Ok(t) => t,
        Err(e) => {
            let at = e.valid_up_to();
            let len = e.error_len().unwrap_or(body.len() - at).min(8);
            let bad = body.get(at..at + len).unwrap_or_default();
            let byte = skip + at as u64;
            cx.d.push(
                Diagnostic::new(
                    &codes::NOT_UTF8,
                    "bytes that are not valid UTF-8; the document is not read",
                )
                .at(Location::default().byte(byte).line(cx.line(byte)))
                .excerpt(Excerpt::bytes(bad)),
            );
            return (None, cx.d);
        }
    };
    let line_fn = |b: u64| line_of(&lines, b + skip);
    let mut d = Diagnostics::default();
    let root = dom::parse(text, &line_fn, &mut d);
    // Offsets from the parser are relative to `text`; shift them past a BOM.
    for x in d.iter_mut() {
        if let Some(b) = x.location.byte.as_mut() {
            *b += skip;
        }
    }
    cx.d.extend(d);
    let Some(mut root) = root else {
        return (None, cx.d);
    };
    shift(&mut root, skip);
    if root.local != "ClinicalDocument" || root.ns != HL7_V3 {
        let loc = cx.at(&root);
        let shown = if root.ns.is_empty() {
            root.local.clone()
        } else {
            format!("{{{}}}{}", root.ns, root.local)
        };
        cx.d.push(
            Diagnostic::new(
                &codes::NOT_CDA,
                "root element is not ClinicalDocument in namespace urn:hl7-org:v3; the document is not read",
            )
            .at(loc)
            .excerpt(Excerpt::text(shown)),
        );
        return (None, cx.d);
    }
    let doc = document(&root, &mut cx);
    (Some(doc), cx.d)
}

fn shift(n: &mut Node, by: u64) {
    if by == 0 {
        return;
    }
    n.byte += by;
    for c in &mut n.children {
        shift(c, by);
    }
}

fn v3<'a>(n: &'a Node, name: &str) -> Option<&'a Node> {
    n.child(HL7_V3, name)
}

fn code_value(n: &Node, default_system: Option<&str>) -> Option<CodeValue> {
    let code = nonempty(n.attr("code"))?;
    Some(CodeValue {
        code: code.to_owned(),
        system: nonempty(n.attr("codeSystem"))
            .or(default_system)
            .map(str::to_owned),
        display: nonempty(n.attr("displayName")).map(str::to_owned),
    })
}

fn text_of(n: &Node) -> Option<String> {
    let t = n.text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn id_with_root(parent: &Node, root: &str) -> Option<String> {
    parent
        .children_named(HL7_V3, "id")
        .find(|i| i.attr("root") == Some(root))
        .and_then(|i| nonempty(i.attr("extension")).map(str::to_owned))
}

fn document(root: &Node, cx: &mut Ctx<'_>) -> CheckupDocument {
    let mut doc = CheckupDocument::default();
    match v3(root, "typeId") {
        Some(t) => {
            if t.attr("root") != Some("2.16.840.1.113883.1.3")
                || t.attr("extension") != Some("POCD_HD000040")
            {
                let loc = cx.at(t);
                cx.d.push(
                    Diagnostic::new(
                        &codes::FIXED_VALUE,
                        "typeId is not root 2.16.840.1.113883.1.3 extension POCD_HD000040",
                    )
                    .at(loc),
                );
            }
        }
        None => cx.missing(root, "typeId"),
    }
    match v3(root, "code") {
        Some(c) => {
            doc.report_category = code_value(c, None);
            if doc.report_category.is_none() {
                cx.missing_attr(c, "code");
            } else if c.attr("codeSystem") != Some("1.2.392.200119.6.1001") {
                let loc = cx.at(c);
                cx.d.push(
                    Diagnostic::new(
                        &codes::FIXED_VALUE,
                        "document code system is not 1.2.392.200119.6.1001 (報告区分)",
                    )
                    .at(loc)
                    .excerpt(Excerpt::text(c.attr("codeSystem").unwrap_or(""))),
                );
            }
        }
        None => cx.missing(root, "code"),
    }
    match v3(root, "effectiveTime") {
        Some(t) => doc.document_date = cx.date(t, None),
        None => cx.missing(root, "effectiveTime"),
    }
    match root.descend(HL7_V3, &["recordTarget", "patientRole"]) {
        Some(pr) => doc.person = person(pr, cx),
        None => cx.missing(root, "recordTarget/patientRole"),
    }
    match v3(root, "author") {
        Some(a) => {
            if let Some(t) = v3(a, "time") {
                doc.author_time = cx.date(t, None);
            }
            match a.descend(HL7_V3, &["assignedAuthor", "representedOrganization"]) {
                Some(o) => doc.author_org = Some(organization(o, cx)),
                None => cx.missing(a, "assignedAuthor/representedOrganization"),
            }
        }
        None => cx.missing(root, "author"),
    }
    if v3(root, "custodian").is_none() {
        cx.missing(root, "custodian");
    }
    for p in root.children_named(HL7_V3, "participant") {
        if p.attr("typeCode") == Some("HLD") {
            doc.voucher = Some(voucher(p, cx));
        }
    }
    match root.descend(HL7_V3, &["documentationOf", "serviceEvent"]) {
        Some(se) => {
            match v3(se, "code") {
                Some(c) => {
                    doc.program = code_value(c, Some("1.2.392.200119.6.1002"));
                    if doc.program.is_none() {
                        cx.missing_attr(c, "code");
                    }
                }
                None => cx.missing(se, "code"),
            }
            match v3(se, "effectiveTime") {
                Some(t) => {
                    // Either @value or low/@value.
                    doc.performed = match v3(t, "low") {
                        Some(low) if t.attr("value").is_none() => cx.date(low, None),
                        _ => cx.date(t, None),
                    }
                }
                None => cx.missing(se, "effectiveTime"),
            }
            if let Some(o) = se.descend(
                HL7_V3,
                &["performer", "assignedEntity", "representedOrganization"],
            ) {
                doc.performer_org = Some(organization(o, cx));
            }
        }
        None => cx.missing(root, "documentationOf/serviceEvent"),
    }
    match root.descend(HL7_V3, &["component", "structuredBody"]) {
        Some(body) => {
            for comp in body.children_named(HL7_V3, "component") {
                match v3(comp, "section") {
                    Some(s) => doc.sections.push(section(s, cx)),
                    None => cx.missing(comp, "section"),
                }
            }
        }
        None => cx.missing(root, "component/structuredBody"),
    }
    if doc.observation_count() == 0 {
        let loc = cx.at(root);
        cx.d.push(
            Diagnostic::new(&codes::NO_OBSERVATIONS, "the document has no observation").at(loc),
        );
    }
    doc
}

fn addr(n: &Node) -> (Option<String>, Option<String>) {
    let Some(a) = v3(n, "addr") else {
        return (None, None);
    };
    let postal = v3(a, "postalCode").and_then(text_of);
    // Mixed content: the address text follows the postal code; other parts
    // (streetAddressLine …) are appended in order.
    let mut parts: Vec<String> = Vec::new();
    if let Some(t) = text_of(a) {
        parts.push(t);
    }
    for c in &a.children {
        if c.local != "postalCode"
            && let Some(t) = text_of(c)
        {
            parts.push(t);
        }
    }
    let text = parts.join("");
    (postal, (!text.is_empty()).then_some(text))
}

fn person(pr: &Node, cx: &mut Ctx<'_>) -> Person {
    let mut p = Person {
        insurer_number: id_with_root(pr, "1.2.392.200119.6.101"),
        insured_symbol: id_with_root(pr, "1.2.392.200119.6.204"),
        insured_number: id_with_root(pr, "1.2.392.200119.6.205"),
        insured_branch: id_with_root(pr, "1.2.392.200119.6.211"),
        ..Default::default()
    };
    if p.insurer_number.is_none() {
        cx.missing(pr, "id[@root='1.2.392.200119.6.101'] (保険者番号)");
    }
    if p.insured_number.is_none() {
        cx.missing(pr, "id[@root='1.2.392.200119.6.205'] (被保険者証等番号)");
    }
    (p.postal_code, p.address) = addr(pr);
    match v3(pr, "patient") {
        Some(pt) => {
            p.name = v3(pt, "name").and_then(text_of);
            if p.name.is_none() {
                cx.missing(pt, "name");
            }
            match v3(pt, "administrativeGenderCode") {
                Some(g) => {
                    p.gender = nonempty(g.attr("code")).map(str::to_owned);
                    if p.gender.is_none() {
                        cx.missing_attr(g, "code");
                    }
                }
                None => cx.missing(pt, "administrativeGenderCode"),
            }
            match v3(pt, "birthTime") {
                Some(b) => p.birth_date = cx.date(b, Some(Phi::BirthDate)),
                None => cx.missing(pt, "birthTime"),
            }
        }
        None => cx.missing(pr, "patient"),
    }
    p
}

fn organization(o: &Node, _cx: &mut Ctx<'_>) -> Organization {
    let (postal_code, address) = addr(o);
    Organization {
        number: id_with_root(o, "1.2.392.200119.6.102"),
        name: v3(o, "name").and_then(text_of),
        telecom: v3(o, "telecom").and_then(|t| nonempty(t.attr("value")).map(str::to_owned)),
        postal_code,
        address,
    }
}

fn voucher(p: &Node, cx: &mut Ctx<'_>) -> Voucher {
    let mut v = Voucher {
        kind: v3(p, "functionCode").and_then(|f| nonempty(f.attr("code")).map(str::to_owned)),
        ..Default::default()
    };
    if let Some(h) = p.descend(HL7_V3, &["time", "high"]) {
        v.expiry = cx.date(h, None);
    }
    match v3(p, "associatedEntity") {
        Some(ae) => {
            if let Some(id) = v3(ae, "id") {
                v.number = nonempty(id.attr("extension")).map(str::to_owned);
                v.root = nonempty(id.attr("root")).map(str::to_owned);
                if v.number.is_none() {
                    cx.missing_attr(id, "extension");
                }
            } else {
                cx.missing(ae, "id");
            }
            v.insurer = ae
                .child(HL7_V3, "scopingOrganization")
                .and_then(|s| id_with_root(s, "1.2.392.200119.6.101"));
        }
        None => cx.missing(p, "associatedEntity"),
    }
    v
}

fn section(s: &Node, cx: &mut Ctx<'_>) -> Section {
    let code = v3(s, "code").and_then(|c| code_value(c, None));
    match &code {
        Some(c)
            if c.system.as_deref() == Some(SECTION_CODE_SYSTEM)
                && (c.code == "01010" || c.code == "01990") => {}
        Some(c) => {
            let loc = cx.at(s);
            cx.d.push(
                Diagnostic::new(
                    &codes::UNKNOWN_SECTION,
                    "section code is not 01010 or 01990 of 1.2.392.200119.6.1010",
                )
                .at(loc)
                .excerpt(Excerpt::text(format!(
                    "{}|{}",
                    c.system.as_deref().unwrap_or(""),
                    c.code
                ))),
            );
        }
        None => cx.missing(s, "code"),
    }
    let mut out = Section {
        code,
        path: s.path.clone(),
        observations: Vec::new(),
    };
    for e in s.children_named(HL7_V3, "entry") {
        let mut found = false;
        for c in &e.children {
            if c.ns == HL7_V3 && c.local == "observation" {
                found = true;
                out.observations.push(observation(c, cx));
            } else {
                let loc = cx.at(c);
                cx.d.push(
                    Diagnostic::new(
                        &codes::UNEXPECTED_ELEMENT,
                        "only observation is allowed under entry; ignored",
                    )
                    .at(loc)
                    .excerpt(Excerpt::text(c.local.clone())),
                );
            }
        }
        if !found {
            cx.missing(e, "observation");
        }
    }
    out
}

fn pq(n: &Node) -> Option<Pq> {
    nonempty(n.attr("value")).map(|v| Pq {
        value: v.to_owned(),
        unit: nonempty(n.attr("unit")).map(str::to_owned),
    })
}

fn observation(o: &Node, cx: &mut Ctx<'_>) -> Observation {
    let mut ob = Observation {
        path: o.path.clone(),
        byte: o.byte,
        line: cx.line(o.byte),
        not_performed: o.attr("negationInd") == Some("true"),
        ..Default::default()
    };
    match v3(o, "code") {
        Some(c) => {
            ob.code_null_flavor = nonempty(c.attr("nullFlavor")).map(str::to_owned);
            ob.code = code_value(c, Some(ITEM_CODE_SYSTEM));
            if ob.code.is_none() && ob.code_null_flavor.is_none() {
                cx.missing_attr(c, "code");
            }
        }
        None => cx.missing(o, "code"),
    }
    for v in o.children_named(HL7_V3, "value") {
        if let Some(val) = value(v, cx) {
            ob.values.push(val);
        }
    }
    if ob.not_performed && !ob.values.is_empty() {
        let loc = cx.at(o);
        cx.d.push(
            Diagnostic::new(
                &codes::NEGATED_WITH_VALUE,
                "observation marked 未実施 (negationInd) also has a value; the value is ignored",
            )
            .at(loc),
        );
        ob.values.clear();
    }
    ob.interpretation =
        v3(o, "interpretationCode").and_then(|i| nonempty(i.attr("code")).map(str::to_owned));
    ob.method = v3(o, "methodCode").and_then(|m| code_value(m, Some(METHOD_CODE_SYSTEM)));
    if let Some(rv) = o.descend(HL7_V3, &["referenceRange", "observationRange", "value"]) {
        // A bound that is not a decimal is reported and left out (FHIR cannot carry it).
        let mut bound = |name: &str| {
            let n = v3(rv, name)?;
            let b = pq(n)?;
            if is_decimal(&b.value) {
                return Some(b);
            }
            let loc = cx.at(n);
            cx.d.push(
                Diagnostic::new(
                    &codes::BAD_NUMBER,
                    "reference range bound is not a decimal number; the bound is left out",
                )
                .at(loc)
                .excerpt(Excerpt::text(b.value)),
            );
            None
        };
        let r = Range {
            low: bound("low"),
            high: bound("high"),
        };
        if r.low.is_some() || r.high.is_some() {
            ob.range = Some(r);
        }
    }
    ob.author_name = o
        .descend(
            HL7_V3,
            &["author", "assignedAuthor", "assignedPerson", "name"],
        )
        .and_then(text_of);
    for rel in o.children_named(HL7_V3, "entryRelationship") {
        let tc = match nonempty(rel.attr("typeCode")) {
            Some(t) => t.to_owned(),
            None => {
                // Required by the XSD; read as COMP (a result of the group).
                cx.missing_attr(rel, "typeCode");
                "COMP".to_owned()
            }
        };
        match v3(rel, "observation") {
            Some(m) => {
                let member = observation(m, cx);
                ob.members.push((tc, member));
            }
            None => cx.missing(rel, "observation"),
        }
    }
    if ob.code_null_flavor.as_deref() == Some("NA") && ob.members.is_empty() {
        let loc = cx.at(o);
        cx.d.push(
            Diagnostic::new(
                &codes::EMPTY_GROUP,
                "group observation (code nullFlavor=NA) has no member observations",
            )
            .at(loc),
        );
    }
    ob
}

fn value(v: &Node, cx: &mut Ctx<'_>) -> Option<Value> {
    let xsi_type = v.attr_ns(dom::XSI, "type").unwrap_or("").trim();
    // Allow a namespace prefix on the type name (`hl7:PQ`).
    let ty = xsi_type.rsplit(':').next().unwrap_or("");
    if let Some(nf) = nonempty(v.attr("nullFlavor")) {
        return Some(Value::Absent {
            xsi_type: ty.to_owned(),
            null_flavor: nf.to_owned(),
        });
    }
    match ty {
        "PQ" => match pq(v) {
            Some(p) if is_decimal(&p.value) => Some(Value::Pq(p)),
            Some(p) => {
                let loc = cx.at(v).element(format!("{}/@value", v.path));
                cx.d.push(
                    Diagnostic::new(&codes::BAD_NUMBER, "PQ value is not a decimal number")
                        .at(loc)
                        .excerpt(Excerpt::text(p.value)),
                );
                None
            }
            None => {
                cx.missing_attr(v, "value");
                None
            }
        },
        "CD" | "CO" => {
            let kind = if ty == "CD" { "CD" } else { "CO" };
            match code_value(v, None) {
                Some(code) => {
                    if code.system.is_none() {
                        cx.missing_attr(v, "codeSystem");
                    }
                    Some(Value::Coded { kind, code })
                }
                None => {
                    cx.missing_attr(v, "code");
                    None
                }
            }
        }
        "ST" => match text_of(v) {
            Some(t) => Some(Value::Text(t)),
            None => {
                cx.missing(v, "text()");
                None
            }
        },
        _ => {
            let loc = cx.at(v);
            cx.d.push(
                Diagnostic::new(
                    &codes::VALUE_TYPE,
                    "observation value has no or an unsupported xsi:type (PQ, CD, CO, ST are read)",
                )
                .at(loc)
                .excerpt(Excerpt::text(xsi_type)),
            );
            None
        }
    }
}
