//! The document request: what a clinician states for one document and no
//! structured source holds (who writes it, to whom, why, the narrative), read from
//! TOML. `docs/document-request.md` documents the format with a commented example.
//!
//! Reading is two steps: serde reads the file into [`Raw`] (every field optional,
//! unknown keys refused, wrong types refused: `M300` at the byte and line), then
//! [`DocumentRequest::parse`] checks what the requested kind needs and reports
//! **every** missing part at once (`M301`, naming the dotted key) and every
//! malformed value (`M302`). Nothing is filled in by guess: a missing required
//! part means no request.
//!
//! ```
//! use mappers::document::request::{DocumentRequest, Kind};
//! let site = mappers::config::SiteConfig::parse(
//!     "[site]\ninstitution_number = \"2213456789\"\nname = \"demo\"\n").unwrap();
//! let text = r#"
//! kind = "referral"
//! patient = "9999013"
//! issued = "2026-11-20T10:30:00"
//! document_id = "REF-2026-0001"
//! category = "OUTPATIENT"
//! [author]
//! name = "大河内 勘三郎"
//! [author.organization]
//! name = "テスト病院"
//! [referral]
//! purpose = "腹痛精査お願いします。"
//! [referral.destination]
//! institution_number = "1311234567"
//! name = "東京第一テスト病院"
//! [narrative]
//! present_illness = "2週間前から腹痛。"
//! "#;
//! let (req, diags) = DocumentRequest::parse(text, &site);
//! let req = req.unwrap();
//! assert!(diags.is_empty());
//! assert_eq!(req.kind, Kind::Referral);
//! assert_eq!(req.issued, "2026-11-20T10:30:00+09:00"); // the site's offset is added
//! assert_eq!(req.version, "1"); // the first version unless stated
//! assert_eq!(req.author.organization.institution_number, "2213456789"); // the site's
//!
//! // Without the destination: an error naming the missing key, no request.
//! let cut = text.replace("[referral.destination]\ninstitution_number = \"1311234567\"\nname = \"東京第一テスト病院\"\n", "");
//! let (req, diags) = DocumentRequest::parse(&cut, &site);
//! assert!(req.is_none());
//! assert!(diags.iter().any(|d| d.code.id == "M301" && d.message.contains("referral.destination")));
//! ```

use super::codes;
use crate::config::SiteConfig;
use diagnostics::{Diagnostic, Diagnostics, Excerpt, Location};
use serde::Deserialize;

/// The document kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// 診療情報提供書 (`JP_Bundle_eReferral`).
    Referral,
    /// 退院時サマリー (`JP_Bundle_eDischargeSummary`).
    Discharge,
    /// 患者サマリー (療養計画書, `JP_Bundle_ePCS`).
    Summary,
}

impl Kind {
    /// `referral` / `discharge`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Referral => "referral",
            Kind::Discharge => "discharge",
            Kind::Summary => "summary",
        }
    }
}

/// A code and its display (a 診療科 of `http://jami.jp/SS-MIX2/CodeSystem/ClinicalDepartment`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CodeDisplay {
    /// The code.
    pub code: String,
    /// Its display.
    pub display: String,
}

/// The request file as written: every field optional (checked by [`DocumentRequest::parse`]).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// `kind`: `referral` | `discharge` | `summary`.
    pub kind: Option<String>,
    /// `patient`: the local patient id (the storage folder).
    pub patient: Option<String>,
    /// `issued`: date and time of issue.
    pub issued: Option<toml::Value>,
    /// `document_id`: the site's document number.
    pub document_id: Option<String>,
    /// `version`: the document version (string or integer).
    pub version: Option<toml::Value>,
    /// `category`: a doc-subtypecodes code.
    pub category: Option<String>,
    /// `[author]`.
    pub author: Option<RawAuthor>,
    /// `[encounter]`.
    pub encounter: Option<RawEncounter>,
    /// `[sources]`.
    pub sources: Option<RawSources>,
    /// `[referral]`.
    pub referral: Option<RawReferral>,
    /// `[discharge]`.
    pub discharge: Option<RawDischarge>,
    /// `[summary]`.
    pub summary: Option<RawSummary>,
    /// `[narrative]`.
    pub narrative: Option<Narrative>,
    /// `[[attachments]]`.
    #[serde(default)]
    pub attachments: Vec<RawAttachment>,
}

/// `[author]` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuthor {
    /// `author.name`.
    pub name: Option<String>,
    /// `author.kana`.
    pub kana: Option<String>,
    /// `author.id`.
    pub id: Option<String>,
    /// `author.department`.
    pub department: Option<CodeDisplay>,
    /// `[author.organization]`.
    pub organization: Option<RawOrganization>,
}

/// An organisation as written (`author.organization`, `referral.destination`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOrganization {
    /// 保険医療機関番号 (10 digits).
    pub institution_number: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// 郵便番号.
    pub postal_code: Option<String>,
    /// Address text.
    pub address: Option<String>,
    /// Telephone.
    pub phone: Option<String>,
    /// Department (destination only).
    pub department: Option<CodeDisplay>,
    /// Doctor's name (destination only).
    pub doctor: Option<String>,
    /// Doctor's name in kana (destination only).
    pub doctor_kana: Option<String>,
}

/// `[encounter]` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEncounter {
    /// v3-ActCode class (`AMB`, `IMP`, `EMER`, `HH`).
    pub class: Option<String>,
    /// Start date.
    pub start: Option<toml::Value>,
    /// End date.
    pub end: Option<toml::Value>,
    /// The site's encounter (visit) number.
    pub id: Option<String>,
}

/// `[sources]` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSources {
    /// First day of the period (inclusive).
    pub from: Option<toml::Value>,
    /// Last day of the period (inclusive).
    pub to: Option<toml::Value>,
}

/// `[referral]` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReferral {
    /// 紹介目的.
    pub purpose: Option<String>,
    /// `[referral.destination]`.
    pub destination: Option<RawOrganization>,
}

/// `[discharge]` as written (read by the discharge summary builder).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDischarge {
    /// The admission to summarise: its admission date or time (`2011-11-20`,
    /// `2011-11-20T16:00`, a prefix of the FHIR time); none: the latest discharged stay.
    pub admission: Option<String>,
}

/// `[summary]` as written (the patient summary's care plan).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSummary {
    /// 療養計画内容サマリー (CarePlan.description; required).
    pub plan: Option<String>,
    /// CarePlan category code (default `followup-plan`).
    pub category: Option<String>,
    /// 指導日 / first day of the plan (default: the issue date).
    pub start: Option<toml::Value>,
    /// Next review date (the plan's period end).
    pub next_review: Option<toml::Value>,
    /// Goals, one sentence each.
    #[serde(default)]
    pub goals: Vec<String>,
    /// `"current"` or a list of codes (MEDIS 病名交換用コード, ICD-10 or the local code).
    pub conditions: Option<toml::Value>,
    /// `[summary.advice]`.
    pub advice: Option<RawAdvice>,
}

/// `[summary.advice]` as written: 生活指導, one text per area.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RawAdvice {
    /// 食事.
    pub diet: Option<String>,
    /// 運動.
    pub exercise: Option<String>,
    /// 喫煙.
    pub smoking: Option<String>,
    /// その他.
    pub other: Option<String>,
}

/// `[narrative]`: free text a clinician wrote, one key per section. Each becomes the
/// section's XHTML text (lines kept). Which keys a kind uses is listed on each.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Narrative {
    /// 主訴 (referral: text of 340 傷病名・主訴; discharge: 352 主訴).
    pub chief_complaint: Option<String>,
    /// 現病歴 (360; required for referrals).
    pub present_illness: Option<String>,
    /// 既往歴 (370).
    pub past_history: Option<String>,
    /// 家族歴 (550).
    pub family_history: Option<String>,
    /// 身体所見 (referral 610).
    pub physical_findings: Option<String>,
    /// 社会歴・生活習慣 (640).
    pub social_history: Option<String>,
    /// 臨床経過 (referral 330).
    pub clinical_course: Option<String>,
    /// 診療方針指示 (referral 420).
    pub treatment_plan: Option<String>,
    /// 備考・連絡情報 (220).
    pub remarks: Option<String>,
    /// 入院理由 (discharge 312).
    pub admission_reason: Option<String>,
    /// 入院中経過 (discharge 333).
    pub hospital_course: Option<String>,
    /// 退院時方針指示 (discharge 424).
    pub discharge_plan: Option<String>,
}

/// `[[attachments]]` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAttachment {
    /// The file (relative to the request file); the CLI reads it.
    pub path: Option<String>,
    /// Title (DocumentReference.description).
    pub title: Option<String>,
    /// MIME type (default `application/pdf`, the only one accepted).
    pub content_type: Option<String>,
}

/// An organisation of the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    /// 保険医療機関番号 (10 digits).
    pub institution_number: String,
    /// Name.
    pub name: String,
    /// 郵便番号.
    pub postal_code: Option<String>,
    /// Address text.
    pub address: Option<String>,
    /// Telephone.
    pub phone: Option<String>,
    /// Department.
    pub department: Option<CodeDisplay>,
}

/// A doctor named in the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Name (family and given separated by a space).
    pub name: String,
    /// Name in kana.
    pub kana: Option<String>,
    /// The site's staff id.
    pub id: Option<String>,
}

/// The author: a doctor of the site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    /// The doctor.
    pub person: Person,
    /// The site (its number is `site.institution_number` of the configuration).
    pub organization: Organization,
}

/// The visit the document is written in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncounterSpec {
    /// v3-ActCode class code.
    pub class: String,
    /// Start date `YYYY-MM-DD`.
    pub start: Option<String>,
    /// End date `YYYY-MM-DD`.
    pub end: Option<String>,
    /// The site's visit number.
    pub id: Option<String>,
}

/// A period of source data (`YYYY-MM-DD`, both ends inclusive).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Period {
    /// First day.
    pub from: Option<String>,
    /// Last day.
    pub to: Option<String>,
}

impl Period {
    /// True when the FHIR date or dateTime `d` falls in the period (by its date).
    pub fn contains(&self, d: &str) -> bool {
        let day = d.get(..10).unwrap_or(d);
        self.from.as_deref().is_none_or(|f| day >= f) && self.to.as_deref().is_none_or(|t| day <= t)
    }
}

/// What a referral adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Referral {
    /// 紹介目的.
    pub purpose: String,
    /// 紹介先.
    pub destination: Organization,
    /// 紹介先医師.
    pub doctor: Option<Person>,
}

/// Which conditions a patient summary's plan addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConditionChoice {
    /// Every current (not ended) condition.
    Current,
    /// The conditions carrying one of these codes (any coding: MEDIS, ICD-10, local).
    Codes(Vec<String>),
}

/// The care plan areas of `[summary.advice]`: key, CarePlan.activity code text.
pub const ADVICE_AREAS: &[(&str, &str)] = &[
    ("diet", "食事"),
    ("exercise", "運動"),
    ("smoking", "喫煙"),
    ("other", "その他"),
];

/// CarePlan categories (`http://jpfhir.jp/fhir/CarePlan/CodeSystem/category`).
pub const CARE_PLAN_CATEGORIES: &[(&str, &str)] = &[
    ("admission-plan", "入院時プラン"),
    ("hospital-plan", "入院中プラン"),
    ("discharge-plan", "退院時プラン"),
    ("followup-plan", "外来診療経過中プラン"),
];

/// What a patient summary adds: the care plan (what SS-MIX2 does not hold).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// 療養計画内容サマリー.
    pub plan: String,
    /// CarePlan category code and display.
    pub category: CodeDisplay,
    /// First day of the plan (`YYYY-MM-DD`; none: the issue date).
    pub start: Option<String>,
    /// Next review date (`YYYY-MM-DD`).
    pub next_review: Option<String>,
    /// Goals.
    pub goals: Vec<String>,
    /// Advice by area (key of [`ADVICE_AREAS`], text), in that order.
    pub advice: Vec<(&'static str, String)>,
    /// The conditions it addresses.
    pub conditions: ConditionChoice,
}

/// What a discharge summary adds (its builder checks it).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Discharge {
    /// The admission to summarise.
    pub admission: Option<String>,
}

/// An attachment (the CLI reads the file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// Path as written (relative to the request file).
    pub path: String,
    /// Title.
    pub title: String,
    /// MIME type.
    pub content_type: String,
}

/// A checked document request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentRequest {
    /// The kind.
    pub kind: Kind,
    /// Local patient id.
    pub patient: String,
    /// Issue time, FHIR instant with offset (`2026-11-20T10:30:00+09:00`).
    pub issued: String,
    /// Document number (`[A-Za-z0-9-]{1,36}`).
    pub document_id: String,
    /// Version (`1` unless stated).
    pub version: String,
    /// doc-subtypecodes code and display.
    pub category: CodeDisplay,
    /// Author.
    pub author: Author,
    /// The visit.
    pub encounter: Option<EncounterSpec>,
    /// Period of labs and prescriptions (none: all).
    pub sources: Period,
    /// Referral part (kind referral).
    pub referral: Option<Referral>,
    /// Discharge part (kind discharge).
    pub discharge: Option<Discharge>,
    /// Patient summary part (kind summary).
    pub summary: Option<Summary>,
    /// Narrative.
    pub narrative: Narrative,
    /// Attachments.
    pub attachments: Vec<Attachment>,
}

/// doc-subtypecodes (`http://jpfhir.jp/fhir/Common/CodeSystem/doc-subtypecodes`).
pub const CATEGORIES: &[(&str, &str)] = &[
    ("ADMISSION", "入院時文書"),
    ("SECONDOP", "セカンドオピニオン文書"),
    ("EXAMIN", "要精査依頼文書"),
    ("CONSULT", "他科コンサルト"),
    ("DISCHARGE", "退院時文書"),
    ("INPATIENT", "入院中文書"),
    ("OUTPATIENT", "外来文書"),
];

/// Encounter classes (v3-ActCode) and their displays, as JP_Encounter_eCS shows them.
pub const ENCOUNTER_CLASSES: &[(&str, &str)] = &[
    ("AMB", "外来"),
    ("IMP", "入院"),
    ("EMER", "救急"),
    ("HH", "在宅"),
];

struct Checker {
    d: Diagnostics,
    tz: String,
}

impl Checker {
    fn missing(&mut self, key: &str) {
        self.d.push(
            Diagnostic::new(&codes::REQUEST_MISSING, format!("missing `{key}`"))
                .at(Location::default().element(key)),
        );
    }

    fn bad(&mut self, key: &str, why: &str, value: &str) {
        self.d.push(
            Diagnostic::new(&codes::REQUEST_BAD_VALUE, format!("`{key}`: {why}"))
                .at(Location::default().element(key))
                .excerpt(Excerpt::text(value)),
        );
    }

    fn required(&mut self, v: Option<String>, key: &str) -> Option<String> {
        match v.map(|s| s.trim().to_owned()) {
            Some(s) if !s.is_empty() => Some(s),
            _ => {
                self.missing(key);
                None
            }
        }
    }

    fn date(&mut self, v: Option<toml::Value>, key: &str) -> Option<String> {
        let s = text_of(v?);
        if crate::config::parse_iso_date(&s).is_some() {
            Some(s)
        } else {
            self.bad(key, "not a date YYYY-MM-DD", &s);
            None
        }
    }

    /// `YYYY-MM-DDThh:mm[:ss][offset]` → instant with seconds and offset.
    fn instant(&mut self, v: Option<toml::Value>, key: &str) -> Option<String> {
        let Some(v) = v else {
            self.missing(key);
            return None;
        };
        let s = text_of(v);
        let out = normalise_instant(&s, &self.tz);
        if out.is_none() {
            self.bad(key, "not a date and time YYYY-MM-DDThh:mm[:ss][+hh:mm]", &s);
        }
        out
    }

    fn organization(
        &mut self,
        o: Option<RawOrganization>,
        key: &str,
        number: Option<&str>,
    ) -> Option<Organization> {
        let Some(o) = o else {
            self.missing(key);
            return None;
        };
        let institution_number = match (o.institution_number, number) {
            (Some(given), Some(site)) if given.trim() != site => {
                self.d.push(
                    Diagnostic::new(
                        &codes::SITE_NUMBER_DIFFERS,
                        format!("`{key}.institution_number` differs from the site's"),
                    )
                    .at(Location::default().element(format!("{key}.institution_number")))
                    .excerpt(Excerpt::text(given)),
                );
                None
            }
            (_, Some(site)) => Some(site.to_owned()),
            (given, None) => {
                let n = self.required(given, &format!("{key}.institution_number"));
                match n {
                    Some(n) if is_institution_number(&n) => Some(n),
                    Some(n) => {
                        self.bad(
                            &format!("{key}.institution_number"),
                            "not a 10-digit 保険医療機関番号",
                            &n,
                        );
                        None
                    }
                    None => None,
                }
            }
        };
        let name = self.required(o.name, &format!("{key}.name"));
        Some(Organization {
            institution_number: institution_number?,
            name: name?,
            postal_code: nonempty(o.postal_code),
            address: nonempty(o.address),
            phone: nonempty(o.phone),
            department: o.department,
        })
    }
}

impl Checker {
    fn summary(&mut self, s: Option<RawSummary>) -> Option<Summary> {
        let Some(s) = s else {
            self.missing("summary");
            return None;
        };
        let plan = self.required(s.plan, "summary.plan");
        let category = match nonempty(s.category) {
            None => Some("followup-plan".to_owned()),
            Some(c) if CARE_PLAN_CATEGORIES.iter().any(|(k, _)| *k == c) => Some(c),
            Some(c) => {
                self.bad(
                    "summary.category",
                    "not admission-plan, hospital-plan, discharge-plan or followup-plan",
                    &c,
                );
                None
            }
        }
        .and_then(|code| {
            CARE_PLAN_CATEGORIES
                .iter()
                .find(|(k, _)| *k == code)
                .map(|(k, d)| CodeDisplay {
                    code: (*k).to_owned(),
                    display: (*d).to_owned(),
                })
        });
        let start = self.date(s.start, "summary.start");
        let next_review = self.date(s.next_review, "summary.next_review");
        let mut goals = Vec::new();
        for (i, g) in s.goals.into_iter().enumerate() {
            match nonempty(Some(g)) {
                Some(g) => goals.push(g),
                None => self.bad(&format!("summary.goals[{i}]"), "empty", ""),
            }
        }
        let conditions = match s.conditions {
            None => {
                self.missing("summary.conditions");
                None
            }
            Some(toml::Value::String(w)) if w.trim() == "current" => Some(ConditionChoice::Current),
            Some(toml::Value::Array(list)) => {
                let mut codes = Vec::new();
                for (i, v) in list.into_iter().enumerate() {
                    match v {
                        toml::Value::String(code) if !code.trim().is_empty() => {
                            codes.push(code.trim().to_owned());
                        }
                        other => self.bad(
                            &format!("summary.conditions[{i}]"),
                            "not a code (a non-empty string)",
                            &text_of(other),
                        ),
                    }
                }
                if codes.is_empty() {
                    self.bad("summary.conditions", "an empty list", "[]");
                    None
                } else {
                    Some(ConditionChoice::Codes(codes))
                }
            }
            Some(other) => {
                self.bad(
                    "summary.conditions",
                    "not \"current\" or a list of condition codes",
                    &text_of(other),
                );
                None
            }
        };
        let advice_raw = s.advice.unwrap_or_default();
        let advice: Vec<(&'static str, String)> = [
            ("diet", advice_raw.diet),
            ("exercise", advice_raw.exercise),
            ("smoking", advice_raw.smoking),
            ("other", advice_raw.other),
        ]
        .into_iter()
        .filter_map(|(k, v)| nonempty(v).map(|v| (k, v)))
        .collect();
        Some(Summary {
            plan: plan?,
            category: category?,
            start,
            next_review,
            goals,
            advice,
            conditions: conditions?,
        })
    }
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn text_of(v: toml::Value) -> String {
    match v {
        toml::Value::String(s) => s,
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        // Arrays and tables are no date, version or code: shown by their kind.
        toml::Value::Array(_) => "[array]".to_owned(),
        toml::Value::Table(_) => "{table}".to_owned(),
    }
}

fn is_institution_number(s: &str) -> bool {
    s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_document_id(s: &str) -> bool {
    (1..=36).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `YYYY-MM-DDThh:mm[:ss][.fff][Z|±hh:mm]` → `YYYY-MM-DDThh:mm:ss[.fff]±hh:mm`
/// (`tz` when no offset is written); `None` when malformed.
pub fn normalise_instant(s: &str, tz: &str) -> Option<String> {
    let s = s.trim().replace(' ', "T");
    let (date, rest) = s.split_once('T')?;
    crate::config::parse_iso_date(date)?;
    let split = rest.find(['+', '-', 'Z']).unwrap_or(rest.len());
    let (time, offset) = rest.split_at(split);
    let (hms, frac) = match time.split_once('.') {
        Some((a, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => (a, Some(f)),
        Some(_) => return None,
        None => (time, None),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    let ok2 = |p: &str, max: u32| p.len() == 2 && p.parse::<u32>().is_ok_and(|n| n <= max);
    let (h, m, sec) = match parts.as_slice() {
        [h, m] => (*h, *m, "00"),
        [h, m, s] => (*h, *m, *s),
        _ => return None,
    };
    if !(ok2(h, 23) && ok2(m, 59) && ok2(sec, 59)) {
        return None;
    }
    let offset = match offset {
        "" => tz.to_owned(),
        "Z" => "Z".to_owned(),
        o if o.len() == 6
            && o.as_bytes().get(3) == Some(&b':')
            && (o.starts_with('+') || o.starts_with('-'))
            && o.get(1..3).is_some_and(|p| ok2(p, 14))
            && o.get(4..6).is_some_and(|p| ok2(p, 59)) =>
        {
            o.to_owned()
        }
        _ => return None,
    };
    let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
    Some(format!("{date}T{h}:{m}:{sec}{frac}{offset}"))
}

/// 1-based line of byte `at` in `text`.
fn line_of(text: &str, at: usize) -> u32 {
    let n = text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    u32::try_from(n + 1).unwrap_or(u32::MAX)
}

impl DocumentRequest {
    /// Reads and checks a request against the site configuration: its offset is
    /// given to an issue time written without one, and its institution number is
    /// the author organisation's. Returns the request when nothing required is
    /// missing or malformed, and every finding (locations name the dotted key;
    /// syntax errors carry the byte and line).
    pub fn parse(text: &str, site: &SiteConfig) -> (Option<DocumentRequest>, Diagnostics) {
        let raw: Raw = match toml::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                let mut loc = Location::default();
                if let Some(span) = e.span() {
                    loc = loc.byte(span.start as u64).line(line_of(text, span.start));
                }
                let mut d = Diagnostics::default();
                // The message names the key or the type expected; it quotes no value.
                d.push(
                    Diagnostic::new(&codes::REQUEST_SYNTAX, e.message().trim().to_owned()).at(loc),
                );
                return (None, d);
            }
        };
        Self::check(raw, site)
    }

    /// Checks a [`Raw`] request (see [`DocumentRequest::parse`]).
    pub fn check(raw: Raw, site: &SiteConfig) -> (Option<DocumentRequest>, Diagnostics) {
        let mut c = Checker {
            d: Diagnostics::default(),
            tz: site.timezone.clone(),
        };
        let kind = match c.required(raw.kind, "kind").as_deref() {
            Some("referral") => Some(Kind::Referral),
            Some("discharge") => Some(Kind::Discharge),
            Some("summary") => Some(Kind::Summary),
            Some(other) => {
                c.bad("kind", "not `referral`, `discharge` or `summary`", other);
                None
            }
            None => None,
        };
        let patient = c.required(raw.patient, "patient");
        let issued = c.instant(raw.issued, "issued");
        let document_id = c.required(raw.document_id, "document_id").and_then(|id| {
            if is_document_id(&id) {
                Some(id)
            } else {
                c.bad(
                    "document_id",
                    "not 1–36 characters of A–Z, a–z, 0–9 and -",
                    &id,
                );
                None
            }
        });
        let version = match raw.version.map(text_of) {
            None => Some("1".to_owned()),
            Some(v) if !v.trim().is_empty() && !v.contains(char::is_whitespace) => Some(v),
            Some(v) => {
                c.bad("version", "empty or contains spaces", &v);
                None
            }
        };
        let category = c.required(raw.category, "category").and_then(|code| {
            match CATEGORIES.iter().find(|(k, _)| *k == code) {
                Some((k, disp)) => Some(CodeDisplay {
                    code: (*k).to_owned(),
                    display: (*disp).to_owned(),
                }),
                None => {
                    c.bad("category", "not a doc-subtypecodes code", &code);
                    None
                }
            }
        });
        let author = match raw.author {
            None => {
                c.missing("author");
                None
            }
            Some(a) => {
                let name = c.required(a.name, "author.name");
                let org = c.organization(
                    a.organization,
                    "author.organization",
                    Some(&site.institution_number),
                );
                // The department is the author's; the site organisation carries it.
                match (name, org) {
                    (Some(name), Some(mut organization)) => {
                        if organization.department.is_none() {
                            organization.department = a.department;
                        }
                        Some(Author {
                            person: Person {
                                name,
                                kana: nonempty(a.kana),
                                id: nonempty(a.id),
                            },
                            organization,
                        })
                    }
                    _ => None,
                }
            }
        };
        let encounter_given = raw.encounter.is_some();
        let encounter = raw.encounter.and_then(|e| {
            let class = c.required(e.class, "encounter.class")?;
            if !ENCOUNTER_CLASSES.iter().any(|(k, _)| *k == class) {
                c.bad("encounter.class", "not AMB, IMP, EMER or HH", &class);
                return None;
            }
            Some(EncounterSpec {
                class,
                start: c.date(e.start, "encounter.start"),
                end: c.date(e.end, "encounter.end"),
                id: nonempty(e.id),
            })
        });
        let sources = raw
            .sources
            .map(|s| Period {
                from: c.date(s.from, "sources.from"),
                to: c.date(s.to, "sources.to"),
            })
            .unwrap_or_default();
        let narrative = raw.narrative.unwrap_or_default();
        let mut referral = None;
        let mut discharge = None;
        let mut summary = None;
        match kind {
            Some(Kind::Referral) => match raw.referral {
                None => {
                    c.missing("referral");
                }
                Some(r) => {
                    let purpose = c.required(r.purpose, "referral.purpose");
                    let doctor = r.destination.as_ref().and_then(|d| {
                        nonempty(d.doctor.clone()).map(|name| Person {
                            name,
                            kana: nonempty(d.doctor_kana.clone()),
                            id: None,
                        })
                    });
                    let dest = c.organization(r.destination, "referral.destination", None);
                    if narrative
                        .present_illness
                        .as_deref()
                        .is_none_or(|s| s.trim().is_empty())
                    {
                        c.missing("narrative.present_illness");
                    }
                    if let (Some(purpose), Some(destination)) = (purpose, dest) {
                        referral = Some(Referral {
                            purpose,
                            destination,
                            doctor,
                        });
                    }
                }
            },
            Some(Kind::Discharge) => {
                discharge = Some(Discharge {
                    admission: raw.discharge.and_then(|d| nonempty(d.admission)),
                });
            }
            Some(Kind::Summary) => {
                // JP_Composition_ePCS requires the visit (Composition.encounter 1..1).
                if !encounter_given {
                    c.missing("encounter");
                }
                summary = c.summary(raw.summary);
            }
            None => {}
        }
        let mut attachments = Vec::new();
        for (i, a) in raw.attachments.into_iter().enumerate() {
            let key = format!("attachments[{i}]");
            let path = c.required(a.path, &format!("{key}.path"));
            let title = c.required(a.title, &format!("{key}.title"));
            let content_type = a.content_type.unwrap_or_else(|| "application/pdf".into());
            if content_type != "application/pdf" {
                c.d.push(
                    Diagnostic::new(
                        &codes::ATTACHMENT_TYPE,
                        format!("`{key}.content_type` is not application/pdf"),
                    )
                    .at(Location::default().element(format!("{key}.content_type")))
                    .excerpt(Excerpt::text(content_type.clone())),
                );
                continue;
            }
            if let (Some(path), Some(title)) = (path, title) {
                attachments.push(Attachment {
                    path,
                    title,
                    content_type,
                });
            }
        }
        if c.d.has_errors() {
            return (None, c.d);
        }
        let req = match (
            kind,
            patient,
            issued,
            document_id,
            version,
            category,
            author,
        ) {
            (
                Some(kind),
                Some(patient),
                Some(issued),
                Some(document_id),
                Some(version),
                Some(category),
                Some(author),
            ) => Some(DocumentRequest {
                kind,
                patient,
                issued,
                document_id,
                version,
                category,
                author,
                encounter,
                sources,
                referral,
                discharge,
                summary,
                narrative,
                attachments,
            }),
            // Every None above pushed an error, so this arm is not reached.
            _ => None,
        };
        (req, c.d)
    }

    /// The issue date `YYYY-MM-DD`.
    pub fn issue_date(&self) -> &str {
        self.issued.get(..10).unwrap_or(&self.issued)
    }

    /// The issue year (for the bundle identifier).
    pub fn issue_year(&self) -> &str {
        self.issued.get(..4).unwrap_or(&self.issued)
    }
}
