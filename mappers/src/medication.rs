//! MedicationRequest ← OMP-01 (RDE^O11, 処方オーダ): one record per RXE (drug
//! line), with its ORC before and its TQ1 / RXR after.
//!
//! JP-CLINS takes no prescription Bundle (JP_Bundle_CLINS allows only
//! AllergyIntolerance, Condition and Observation): these records feed the
//! documents (診療情報提供書 / 退院時サマリー) and the NDJSON export, as
//! JP_MedicationRequest_eCS resources built by [`resource`].
//!
//! Fields (standards.md §1, JAMI ConceptMap `segment-omp-01-rxe`):
//! - RP number = ORC-4 (依頼者グループ番号; JAMI: "ORC-4から、Rp番号を抽出"); the
//!   order within the RP (`orderInRp`) is the line's 1-based position among the
//!   RXEs of the same ORC-2 + ORC-4 in the message (JAMI: 同一RP番号での薬剤の表記順).
//!   RXE-15 処方箋番号 → the `requestIdentifierCommon` slice (urn:oid:…20.3.11);
//!   ORC-2 order number + RP + position → the resource-instance identifier.
//! - authoredOn = RXE-32 (当初のオーダ日時), else ORC-9 (トランザクション日時).
//! - drug RXE-2 (primary and alternate triplets): a YJ / 一般名処方 code as sent
//!   is kept; other codes (HOT9, local `99…`) go through the tables and their YJ
//!   and 一般名処方 targets are kept (each with its table row); without one, the
//!   profile's `NOCODED` coding (R3010) is sent with the name as text (M101).
//!   The codes as sent are kept as further codings.
//! - usage TQ1-3 (JAMI 16-digit `JAMISDP01`, or local): kept as sent (JAMI
//!   slice), and translated by the tables to the 電子処方箋用法 code; without
//!   one, the CLINS dummy `0X0XXXXXXXXX0000` (R5020: exactly one of the two) with
//!   the usage text (M102).
//! - dose RXE-3 + RXE-5 (1回量; a range up to RXE-4 stays in the text only,
//!   M112), daily dose RXE-19 (CQ), dispense RXE-10 + RXE-11;
//!   MERIT-9 units (`MR9P`) are taken as sent, other units through the tables.
//!   `doseAndRate.type` (製剤量 / 原薬量) is required by the profile but not stated
//!   by RXE: it is 製剤量 only when the unit counts preparations (錠, カプセル,
//!   包 …); otherwise the structured dose is left out and stays in the dosage
//!   text (M107).
//! - days TQ1-6 (`5^d`) → timing.repeat.boundsDuration and
//!   dispenseRequest.expectedSupplyDuration; start / end TQ1-7 / TQ1-8 →
//!   PeriodOfUse (start required). 頓用 and 外用 lines carry no days: only what
//!   the source gives (total quantity, usage text) is sent, nothing is derived.
//! - route RXR-1 (HL7 0162) through a `v2-0162` table to JP Core route codes.
//! - category RXE-21 MERIT-9 処方区分 (`MR9P`: OHP 外来処方, OHI 院内処方 …).
//! - department ORC-17, encounter class PV1-2 / ORC-29 (contained Encounter),
//!   prescriber ORC-12 → requester, a contained JP_Practitioner (id under the
//!   site's 医療機関内医療者ID OID, name with its XCN-15 representation).
//! - only the first TQ1 and RXR of a line are read; a further TQ1 is reported
//!   (M113).
//! - ORC-1 `CA` / `DC` / `OC`: cancelled at the source, withheld (M110).
//!
//! A line that cannot satisfy the profile's required elements (drug, RP
//! number, authoredOn, usage, start date) is kept, withheld, with the reason.

use crate::config::SiteConfig;
use crate::record::{
    Coding, Concept, Lineage, MedQuantity, MedicationRecord, Prescriber, Submission, Tag,
};
use crate::{Context, Cwe, Findings, Input, codes, cwe};
use diagnostics::{Diagnostic, Excerpt, Location};
use fhir::model::types::{CodeableConcept, Duration, Meta};
use fhir::model::{IntoResource, MedicationRequest, build, resources, types};
use parsers::hl7::Segment;

/// JP_MedicationRequest_eCS.
pub const PROFILE: &str = "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_MedicationRequest_eCS";
/// RP番号 identifier system.
pub const RP_NUMBER: &str = "http://jpfhir.jp/fhir/core/mhlw/IdSystem/Medication-RPGroupNumber";
/// RP内連番 identifier system.
pub const ORDER_IN_RP: &str =
    "http://jpfhir.jp/fhir/core/mhlw/IdSystem/MedicationAdministrationIndex";
/// 処方箋番号 identifier system (`requestIdentifierCommon`).
pub const PRESCRIPTION_NO: &str = "urn:oid:1.2.392.100495.20.3.11";
/// Resource instance identifier system.
pub const RESOURCE_ID: &str = "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier";
/// YJ code.
pub const YJ: &str = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code";
/// 一般名処方マスタ.
pub const GENERAL_NAME: &str =
    "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationGeneralOrderCode";
/// 医薬品未標準化 (NOCODED).
pub const NOCODED_SYSTEM: &str = "http://jpfhir.jp/fhir/eCS/CodeSystem/MedicationCodeNocoded_CS";
/// The NOCODED code.
pub const NOCODED: &str = "NOCODED";
/// JAMI 標準用法コード.
pub const JAMI_USAGE: &str = "http://jami.jp/CodeSystem/MedicationUsage";
/// 電子処方箋用法コード.
pub const EPRESCRIPTION_USAGE: &str =
    "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationUsage_ePrescription";
/// CLINS dummy usage code system.
pub const USAGE_UNCODED: &str =
    "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_MedicationUsage_Uncoded_CS";
/// The dummy usage code.
pub const DUMMY_USAGE: &str = "0X0XXXXXXXXX0000";
/// MERIT-9 units.
pub const MERIT9_UNIT: &str = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationUnitMERIT9Code";
/// MERIT-9 処方区分 (category).
pub const MERIT9_CATEGORY: &str =
    "http://jpfhir.jp/fhir/core/CodeSystem/JP_MedicationCategoryMERIT9_CS";
/// 製剤量 / 原薬量.
pub const STRENGTH_TYPE: &str =
    "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationIngredientStrengthStrengthType";
/// JP Core route codes.
pub const ROUTE: &str = "http://jpfhir.jp/fhir/core/CodeSystem/route-codes";
/// HL7 0162 route of administration.
pub const HL7_0162: &str = "http://terminology.hl7.org/CodeSystem/v2-0162";
const PERIOD_OF_USE: &str =
    "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_MedicationDosage_PeriodOfUse";
const UCUM: &str = "http://unitsofmeasure.org";
const PRACTITIONER_PROFILE: &str = "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Practitioner";
/// 医療機関内医療者ID prefix (followed by the 10-digit institution number).
const PRACTITIONER_ID_PREFIX: &str = "urn:oid:1.2.392.100495.20.3.41.1";
const REPRESENTATION_EXT: &str =
    "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation";

/// MERIT-9 unit codes and unit texts that count preparations: a dose in them is
/// a 製剤量 whatever the drug. Mass and volume units (MG, G, ML …) may be either.
const PREPARATION_UNITS: &[&str] = &["TAB", "CAP", "HO", "KO", "MAI", "HON", "TEKI"];
const PREPARATION_TEXTS: &[&str] = &[
    "錠",
    "カプセル",
    "包",
    "個",
    "枚",
    "本",
    "滴",
    "瓶",
    "袋",
    "管",
    "筒",
    "キット",
];

/// Where a line's fields are, for the diagnostics reported once the line is complete.
#[derive(Default, Clone)]
struct Places {
    orc1: Location,
    orc4: Location,
    orc9: Location,
    rxe2: Location,
    tq1_3: Option<Location>,
    tq1_7: Option<Location>,
}

#[derive(Default, Clone)]
struct Order {
    places: Places,
    control: String,
    order_no: String,
    rp: String,
    entered: Option<String>,
    department: Option<Coding>,
    prescriber: Option<Prescriber>,
    orc: Option<String>,
}

/// Maps every RXE of an RDE^O11 (OMP-01) message.
pub fn map(ctx: &Context<'_>, input: &Input<'_>, sink: &mut Findings) -> Vec<MedicationRecord> {
    let class = crate::encounter_class(ctx, input, sink);
    let mut order = Order::default();
    let mut out: Vec<MedicationRecord> = Vec::new();
    let mut places: Vec<Places> = Vec::new();
    // Count of lines per (ORC-2, ORC-4) seen so far.
    let mut seen: Vec<(String, String, u32)> = Vec::new();
    let mut current: Option<usize> = None;
    for seg in input.message.segments() {
        // A line is complete when the next ORC or RXE starts: finish it then, so
        // its diagnostics stay in input order.
        if matches!(seg.id(), "ORC" | "RXE")
            && let Some(i) = current.take()
            && let (Some(m), Some(p)) = (out.get_mut(i), places.get(i))
        {
            finish(ctx, m, p, sink);
        }
        match seg.id() {
            "ORC" => {
                order = Order {
                    control: seg.value(1, 0).trim().to_owned(),
                    order_no: seg.value(2, 1).trim().to_owned(),
                    rp: seg.value(4, 1).trim().to_owned(),
                    entered: crate::time(ctx, input, &seg, 9, 0, sink),
                    department: crate::department(ctx, seg.value(17, 1).trim()),
                    prescriber: crate::xcn_person(&seg, 12),
                    orc: Some(format!("{}#{}", seg.id(), seg.number())),
                    places: Places {
                        orc1: input.at(&seg, 1, 0),
                        orc4: input.at(&seg, 4, 0),
                        orc9: input.at(&seg, 9, 0),
                        ..Places::default()
                    },
                };
            }
            "RXE" => {
                let n = match seen
                    .iter_mut()
                    .find(|(o, r, _)| *o == order.order_no && *r == order.rp)
                {
                    Some(e) => {
                        e.2 += 1;
                        e.2
                    }
                    None => {
                        seen.push((order.order_no.clone(), order.rp.clone(), 1));
                        1
                    }
                };
                let mut m = rxe(ctx, input, &seg, &order, n, sink);
                m.encounter_class = class.clone();
                out.push(m);
                places.push(Places {
                    rxe2: input.at(&seg, 2, 0),
                    ..order.places.clone()
                });
                current = Some(out.len() - 1);
            }
            "TQ1" => {
                if let Some(i) = current
                    && let (Some(m), Some(p)) = (out.get_mut(i), places.get_mut(i))
                {
                    if p.tq1_3.is_some() {
                        // 不均等 / multi-step schedules: not converted, reported.
                        sink.push(
                            Diagnostic::new(
                                &codes::EXTRA_TIMING,
                                "a further TQ1 for the same line is not converted; the first one is",
                            )
                            .at(seg.location().file(input.file)),
                        );
                        continue;
                    }
                    tq1(ctx, input, &seg, m, sink);
                    p.tq1_3 = Some(input.at(&seg, 3, 0));
                    p.tq1_7 = Some(input.at(&seg, 7, 0));
                }
            }
            "RXR" => {
                if let Some(m) = current.and_then(|i| out.get_mut(i))
                    && m.route.is_none()
                {
                    m.route = rxr(ctx, input, &seg, sink);
                    if m.route.is_some() {
                        m.lineage.push(input.lineage(
                            "MedicationRequest.dosageInstruction.route",
                            &seg,
                            "RXR-1",
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(i) = current
        && let (Some(m), Some(p)) = (out.get_mut(i), places.get(i))
    {
        finish(ctx, m, p, sink);
    }
    if out.is_empty() {
        sink.push(
            Diagnostic::new(&codes::WRONG_MESSAGE, "no RXE segment; no prescription")
                .at(diagnostics::Location::default().file(input.file)),
        );
    }
    out
}

/// A sub-component (1-based) of a component, escapes resolved, trimmed.
fn sub(seg: &Segment<'_>, field: u32, comp: u32, k: u32) -> String {
    seg.field(field)
        .and_then(|f| f.rep(1))
        .and_then(|r| r.comp(comp))
        .and_then(|c| c.sub(k))
        .map(|s| s.value().trim().to_owned())
        .unwrap_or_default()
}

fn rxe(
    ctx: &Context<'_>,
    input: &Input<'_>,
    seg: &Segment<'_>,
    order: &Order,
    n: u32,
    sink: &mut Findings,
) -> MedicationRecord {
    let mut m = MedicationRecord {
        order_no: order.order_no.clone(),
        rp_number: order.rp.clone(),
        order_in_rp: n,
        order_control: order.control.clone(),
        department: order.department.clone(),
        prescriber: order.prescriber.clone(),
        ..MedicationRecord::default()
    };
    if let Some(orc) = &order.orc {
        let l = |element, field: &str| Lineage {
            element,
            file: input.file.to_owned(),
            segment: orc.clone(),
            field: field.to_owned(),
        };
        m.lineage
            .push(l("MedicationRequest.identifier:rpNumber", "ORC-4"));
        if m.department.is_some() {
            m.lineage
                .push(l("MedicationRequest.extension:eCS_Department", "ORC-17"));
        }
        if m.prescriber.is_some() {
            m.lineage.push(l("MedicationRequest.requester", "ORC-12"));
        }
    }
    let rx = seg.value(15, 1).trim().to_owned();
    if !rx.is_empty() {
        m.prescription_no = Some(rx);
        m.lineage.push(input.lineage(
            "MedicationRequest.identifier:requestIdentifierCommon",
            seg,
            "RXE-15",
        ));
    }
    m.authored_on = crate::time(ctx, input, seg, 32, 0, sink);
    if m.authored_on.is_some() {
        m.lineage
            .push(input.lineage("MedicationRequest.authoredOn", seg, "RXE-32"));
    } else if let (Some(t), Some(orc)) = (&order.entered, &order.orc) {
        m.authored_on = Some(t.clone());
        m.lineage.push(Lineage {
            element: "MedicationRequest.authoredOn",
            file: input.file.to_owned(),
            segment: orc.clone(),
            field: "ORC-9".into(),
        });
    }

    // Drug.
    let drug = cwe(seg, 2);
    m.medication.text = drug.text.clone();
    let alt = crate::cwe_alt(seg, 2);
    if [&drug.code, &drug.text, &alt.code, &alt.text]
        .iter()
        .all(|t| t.is_empty())
    {
        sink.push(
            Diagnostic::new(&codes::NO_DRUG, "RXE-2 is empty: the line names no drug")
                .at(input.at(seg, 2, 0)),
        );
    } else {
        m.lineage
            .push(input.lineage("MedicationRequest.medicationCodeableConcept", seg, "RXE-2"));
        medication(ctx, input, seg, &drug, &mut m, sink);
    }

    // Quantities.
    let dose_unit = cwe(seg, 5);
    m.dose = quantity(
        ctx,
        input,
        seg,
        (3, 0),
        &seg.value(3, 0),
        &dose_unit,
        5,
        sink,
    );
    if m.dose.is_some() {
        m.lineage.push(input.lineage(
            "MedicationRequest.dosageInstruction.doseAndRate.doseQuantity",
            seg,
            "RXE-3",
        ));
    }
    let daily_unit = Cwe {
        code: sub(seg, 19, 2, 1),
        text: sub(seg, 19, 2, 2),
        name: sub(seg, 19, 2, 3),
    };
    m.daily_dose = quantity(
        ctx,
        input,
        seg,
        (19, 1),
        &seg.value(19, 1),
        &daily_unit,
        19,
        sink,
    );
    if m.daily_dose.is_some() {
        m.lineage.push(input.lineage(
            "MedicationRequest.dosageInstruction.doseAndRate.rateRatio",
            seg,
            "RXE-19",
        ));
    }
    let dispense_unit = cwe(seg, 11);
    m.dispense = quantity(
        ctx,
        input,
        seg,
        (10, 0),
        &seg.value(10, 0),
        &dispense_unit,
        11,
        sink,
    );
    if m.dispense.is_some() {
        m.lineage
            .push(input.lineage("MedicationRequest.dispenseRequest.quantity", seg, "RXE-10"));
    }
    let potency = [25, 26, 33, 34]
        .iter()
        .any(|f| !seg.value(*f, 0).trim().is_empty());
    let max = seg.value(4, 0).trim().to_owned();
    if let Some(d) = &m.dose
        && !max.is_empty()
        && max != seg.value(3, 0).trim()
    {
        if crate::observation::is_decimal(&max) {
            m.dose_max = Some(crate::observation::decimal(&max));
        }
        sink.push(
            Diagnostic::new(
                &codes::DOSE_RANGE,
                "dose given as a range (RXE-3 to RXE-4): the structured dose is left out, the dosage text keeps it",
            )
            .at(input.at(seg, 4, 0))
            .excerpt(Excerpt::text(format!("{}-{max}", d.value))),
        );
    } else if let Some(d) = &m.dose {
        if !potency && is_preparation_unit(d) {
            m.dose_type = Some(Coding::new(STRENGTH_TYPE, "1", "製剤量"));
        } else {
            sink.push(
                Diagnostic::new(
                    &codes::DOSE_BASIS_UNKNOWN,
                    "RXE does not say whether the dose is 製剤量 or 原薬量: the structured dose is left out, the dosage text keeps it",
                )
                .at(input.at(seg, 5, 1))
                .excerpt(Excerpt::text(d.code.clone())),
            );
        }
    }

    // Category (MERIT-9 処方区分, repeating).
    if let Some(f) = seg.field(21) {
        for r in f.reps() {
            let code = r
                .comp(1)
                .map(|c| c.value().trim().to_owned())
                .unwrap_or_default();
            let text = r
                .comp(2)
                .map(|c| c.value().trim().to_owned())
                .unwrap_or_default();
            let name = r
                .comp(3)
                .map(|c| c.value().trim().to_owned())
                .unwrap_or_default();
            if code.is_empty() {
                continue;
            }
            if name == "MR9P" {
                m.category.push(Coding::new(MERIT9_CATEGORY, &code, &text));
            } else {
                // A local 処方区分: through the tables to MERIT-9.
                let c = Cwe { code, text, name };
                let system = crate::source_system(ctx, input, seg, 21, &c, sink);
                let t = crate::translate(
                    ctx,
                    input,
                    seg,
                    (21, 1),
                    &system,
                    &c.code,
                    "",
                    &c.text,
                    true,
                    sink,
                );
                m.category.extend(
                    t.targets
                        .into_iter()
                        .filter(|t| t.system == MERIT9_CATEGORY),
                );
            }
        }
        if !m.category.is_empty() {
            m.lineage
                .push(input.lineage("MedicationRequest.category", seg, "RXE-21"));
        }
    }
    m
}

fn is_preparation_unit(q: &MedQuantity) -> bool {
    (q.system == MERIT9_UNIT && PREPARATION_UNITS.contains(&q.code.as_str()))
        || PREPARATION_TEXTS.contains(&q.unit.as_str())
}

/// The drug codings: YJ / 一般名 (as sent, or from the tables), else NOCODED;
/// then the codes as sent (RXE-2's primary and alternate triplets).
fn medication(
    ctx: &Context<'_>,
    input: &Input<'_>,
    seg: &Segment<'_>,
    drug: &Cwe,
    m: &mut MedicationRecord,
    sink: &mut Findings,
) {
    let alt = crate::cwe_alt(seg, 2);
    let mut sent = Vec::new();
    for (c, comp) in [(drug, 1u32), (&alt, 4)] {
        if c.code.is_empty() {
            continue;
        }
        let (system, d) =
            terminologies::system::source_uri_for_v2(&c.name, &c.code, &ctx.config.site);
        if let Some(d) = d {
            sink.push(d.at(input.at(seg, 2, comp + 2)));
        }
        let name = if c.text.is_empty() {
            &drug.text
        } else {
            &c.text
        };
        if system == YJ || system == GENERAL_NAME {
            m.medication
                .coding
                .push(Coding::new(&system, &c.code, name));
            continue;
        }
        let t = crate::translate(
            ctx,
            input,
            seg,
            (2, comp),
            &system,
            &c.code,
            "",
            name,
            true,
            sink,
        );
        for mut target in t.targets {
            if (target.system == YJ || target.system == GENERAL_NAME)
                && m.medication.coding_of(&target.system).is_none()
            {
                if target.display.is_empty() {
                    // The slices require a display; the table row gave none:
                    // the drug's name as ordered.
                    target.display = name.clone();
                }
                m.medication.coding.push(target);
            }
        }
        sent.push(Coding::new(&system, &c.code, name));
    }
    if m.medication.text.is_empty() {
        // text is 1..1: the alternate name, else the code, when the line gives no name.
        m.medication.text = [&alt.text, &drug.code, &alt.code]
            .into_iter()
            .find(|t| !t.is_empty())
            .cloned()
            .unwrap_or_default();
    }
    if m.medication.coding.is_empty() {
        sink.push(
            Diagnostic::new(
                &codes::NOCODED,
                "drug has no YJ or 一般名処方 code: sent as NOCODED with its name",
            )
            .at(input.at(seg, 2, 1))
            .excerpt(Excerpt::text(if drug.code.is_empty() {
                alt.code.clone()
            } else {
                drug.code.clone()
            })),
        );
        m.medication
            .coding
            .push(Coding::new(NOCODED_SYSTEM, NOCODED, "標準コードなし"));
    }
    m.medication.coding.extend(sent);
}

/// An amount with its unit: MERIT-9 (`MR9P`) units as sent, others through the tables.
#[allow(clippy::too_many_arguments)]
fn quantity(
    ctx: &Context<'_>,
    input: &Input<'_>,
    seg: &Segment<'_>,
    at: (u32, u32),
    raw: &str,
    unit: &Cwe,
    unit_field: u32,
    sink: &mut Findings,
) -> Option<MedQuantity> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    if !crate::observation::is_decimal(raw) {
        sink.push(
            Diagnostic::new(&codes::BAD_AMOUNT, "amount is not a number; left out")
                .at(input.at(seg, at.0, at.1))
                .excerpt(Excerpt::text(raw)),
        );
        return None;
    }
    let value = crate::observation::decimal(raw);
    if unit.code.is_empty() {
        sink.push(
            Diagnostic::new(&codes::NO_UNIT, "amount has no unit code; left out")
                .at(input.at(seg, unit_field, 1))
                .excerpt(Excerpt::text(raw)),
        );
        return None;
    }
    if unit.name == "MR9P" {
        return Some(MedQuantity {
            value,
            unit: if unit.text.is_empty() {
                unit.code.clone()
            } else {
                unit.text.clone()
            },
            system: MERIT9_UNIT.into(),
            code: unit.code.clone(),
            table_row: None,
        });
    }
    let (system, d) =
        terminologies::system::source_uri_for_v2(&unit.name, &unit.code, &ctx.config.site);
    if let Some(d) = d {
        sink.push(d.at(input.at(seg, unit_field, 3)));
    }
    let t = crate::translate(
        ctx,
        input,
        seg,
        (unit_field, 1),
        &system,
        &unit.code,
        "",
        &unit.text,
        true,
        sink,
    );
    let c = t.targets.into_iter().find(|c| c.system == MERIT9_UNIT)?;
    Some(MedQuantity {
        value,
        unit: if c.display.is_empty() {
            unit.text.clone()
        } else {
            c.display.clone()
        },
        system: c.system,
        code: c.code,
        table_row: c.table_row,
    })
}

fn tq1(
    ctx: &Context<'_>,
    input: &Input<'_>,
    seg: &Segment<'_>,
    m: &mut MedicationRecord,
    sink: &mut Findings,
) {
    // TQ1-3 repeat pattern: its first component is a CWE in sub-components.
    let usage = Cwe {
        code: sub(seg, 3, 1, 1),
        text: sub(seg, 3, 1, 2),
        name: sub(seg, 3, 1, 3),
    };
    if m.usage.text.is_empty() && (!usage.code.is_empty() || !usage.text.is_empty()) {
        m.usage.text = if usage.text.is_empty() {
            usage.code.clone()
        } else {
            usage.text.clone()
        };
        m.lineage.push(input.lineage(
            "MedicationRequest.dosageInstruction.timing.code",
            seg,
            "TQ1-3",
        ));
        if !usage.code.is_empty() {
            let (system, d) = terminologies::system::source_uri_for_v2(
                &usage.name,
                &usage.code,
                &ctx.config.site,
            );
            if let Some(d) = d {
                sink.push(d.at(input.at(seg, 3, 1)));
            }
            if system == EPRESCRIPTION_USAGE {
                m.usage
                    .coding
                    .push(Coding::new(&system, &usage.code, &m.usage.text.clone()));
            } else {
                let t = crate::translate(
                    ctx,
                    input,
                    seg,
                    (3, 1),
                    &system,
                    &usage.code,
                    "",
                    &usage.text,
                    true,
                    sink,
                );
                for mut c in t.targets {
                    if c.system == EPRESCRIPTION_USAGE || c.system == JAMI_USAGE {
                        if c.display.is_empty() {
                            c.display = m.usage.text.clone();
                        }
                        m.usage.coding.push(c);
                    }
                }
                // The JAMI code as sent (slice jami_yoho: display 1..1).
                if system == JAMI_USAGE
                    && !usage.text.is_empty()
                    && m.usage.coding_of(JAMI_USAGE).is_none()
                {
                    m.usage
                        .coding
                        .push(Coding::new(JAMI_USAGE, &usage.code, &usage.text));
                }
            }
        }
    }
    // TQ1-6 service duration (`5^d`).
    let days = seg.value(6, 1).trim().to_owned();
    let unit = seg.value(6, 2).trim().to_owned();
    if !days.is_empty() && m.days.is_none() {
        if unit == "d" && days.bytes().all(|b| b.is_ascii_digit()) {
            m.days = Some(days.trim_start_matches('0').to_owned()).filter(|d| !d.is_empty());
            if m.days.is_some() {
                m.lineage.push(input.lineage(
                    "MedicationRequest.dispenseRequest.expectedSupplyDuration",
                    seg,
                    "TQ1-6",
                ));
            }
        } else {
            sink.push(
                Diagnostic::new(
                    &codes::BAD_DURATION,
                    "TQ1-6 is not a whole number of days (unit d); left out",
                )
                .at(input.at(seg, 6, 0))
                .excerpt(Excerpt::text(format!("{days}^{unit}"))),
            );
        }
    }
    if m.start.is_none() {
        m.start = crate::time(ctx, input, seg, 7, 0, sink);
        if m.start.is_some() {
            m.lineage.push(input.lineage(
                "MedicationRequest.dosageInstruction.extension:periodOfUse",
                seg,
                "TQ1-7",
            ));
        }
    }
    if m.end.is_none() {
        m.end = crate::time(ctx, input, seg, 8, 0, sink);
    }
}

fn rxr(
    ctx: &Context<'_>,
    input: &Input<'_>,
    seg: &Segment<'_>,
    sink: &mut Findings,
) -> Option<Concept> {
    let r = cwe(seg, 1);
    if r.code.is_empty() {
        return None;
    }
    let system = crate::source_system(ctx, input, seg, 1, &r, sink);
    let t = crate::translate(
        ctx,
        input,
        seg,
        (1, 1),
        &system,
        &r.code,
        "",
        &r.text,
        true,
        sink,
    );
    let c = t.targets.into_iter().find(|c| c.system == ROUTE)?;
    Some(Concept {
        text: if r.text.is_empty() {
            c.display.clone()
        } else {
            r.text.clone()
        },
        coding: vec![c],
    })
}

/// Usage fallback, dosage text, tags and the submission decision.
fn finish(ctx: &Context<'_>, m: &mut MedicationRecord, p: &Places, sink: &mut Findings) {
    let has_epresc = m.usage.coding_of(EPRESCRIPTION_USAGE).is_some();
    if !m.usage.text.is_empty() && !has_epresc {
        sink.push(
            Diagnostic::new(
                &codes::DUMMY_USAGE,
                "usage has no 電子処方箋用法 code: the CLINS dummy usage code is sent with its text",
            )
            .at(p.tq1_3.clone().unwrap_or_else(|| p.rxe2.clone())),
        );
        m.usage.coding.insert(
            0,
            Coding::new(USAGE_UNCODED, DUMMY_USAGE, "ダミー用法コード"),
        );
    }
    // Dosage text: the source's own words and numbers, nothing else.
    let mut parts = Vec::new();
    if !m.usage.text.is_empty() {
        parts.push(m.usage.text.clone());
    }
    if let Some(d) = &m.dose {
        match &m.dose_max {
            Some(max) => parts.push(format!("1回{}～{}{}", d.value, max, d.unit)),
            None => parts.push(format!("1回{}{}", d.value, d.unit)),
        }
    }
    if let Some(d) = &m.daily_dose {
        parts.push(format!("1日{}{}", d.value, d.unit));
    }
    if let Some(d) = &m.days {
        parts.push(format!("{d}日分"));
    }
    m.dosage_text = parts.join(" ");
    if ctx
        .config
        .policy
        .lts
        .resource_types
        .iter()
        .any(|t| t == "MedicationRequest")
    {
        m.tags.push(Tag::Lts);
    }
    let (code, reason, at): (&'static diagnostics::Code, &'static str, &Location) =
        if matches!(m.order_control.as_str(), "CA" | "DC" | "OC") {
            (
                &codes::CANCELLED,
                "order cancelled at the source (ORC-1)",
                &p.orc1,
            )
        } else if m.medication.coding.is_empty() {
            (&codes::NO_DRUG, "no drug (RXE-2)", &p.rxe2)
        } else if m.rp_number.is_empty() {
            (&codes::NO_RP_NUMBER, "no RP number (ORC-4)", &p.orc4)
        } else if m.authored_on.is_none() {
            (
                &codes::NO_AUTHORED,
                "no order date (RXE-32 / ORC-9)",
                &p.orc9,
            )
        } else if m.usage.text.is_empty() {
            (
                &codes::NO_USAGE,
                "no usage (TQ1-3)",
                p.tq1_3.as_ref().unwrap_or(&p.rxe2),
            )
        } else if m.start.is_none() {
            (
                &codes::NO_START,
                "no start date (TQ1-7)",
                p.tq1_7.as_ref().unwrap_or(&p.rxe2),
            )
        } else {
            m.submission = Some(Submission::Submit);
            return;
        };
    m.submission = Some(Submission::Withheld(reason));
    // An empty RXE-2 was reported where it was read.
    if code.id != codes::NO_DRUG.id {
        sink.push(Diagnostic::new(code, reason).at(at.clone()));
    }
}

fn coding(c: &Coding) -> types::Coding {
    build::coding(
        &c.system,
        &c.code,
        (!c.display.is_empty()).then_some(c.display.as_str()),
    )
}

fn concept(c: &Concept) -> CodeableConcept {
    build::codeable_concept(
        c.coding.iter().map(coding).collect(),
        (!c.text.is_empty()).then_some(c.text.as_str()),
    )
}

fn med_quantity(q: &MedQuantity) -> types::Quantity {
    build::quantity(&q.value, &q.unit, Some(&q.system), Some(&q.code))
}

fn days(d: &str) -> Duration {
    Duration {
        value: Some(d.into()),
        unit: Some("日".into()),
        system: Some(UCUM.into()),
        code: Some("d".into()),
        ..Default::default()
    }
}

/// The `urn:uuid:` fullUrl of a line, derived from `scope` (the unit or
/// export key) and the line's order number, RP number and position.
pub fn full_url(scope: &str, m: &MedicationRecord) -> String {
    let n = m.order_in_rp.to_string();
    fhir::model::id::urn_uuid(&[
        scope.as_bytes(),
        m.order_no.as_bytes(),
        m.rp_number.as_bytes(),
        n.as_bytes(),
    ])
}

/// JP_MedicationRequest_eCS; `None` unless the record is exportable
/// (`Submission::Submit`: the profile's required elements are all known).
pub fn resource(
    m: &MedicationRecord,
    cfg: &SiteConfig,
    patient_url: &str,
    last_updated: &str,
) -> Option<MedicationRequest> {
    if m.submission != Some(Submission::Submit) {
        return None;
    }
    let tags: Vec<_> = m
        .tags
        .iter()
        .map(|t| {
            build::coding(
                "http://jpfhir.jp/fhir/clins/CodeSystem/JP_ehrshrs_indication",
                t.code(),
                None,
            )
        })
        .collect();
    let mut identifier = vec![
        build::identifier(RP_NUMBER, &m.rp_number),
        build::identifier(ORDER_IN_RP, &m.order_in_rp.to_string()),
    ];
    if let Some(p) = &m.prescription_no {
        identifier.push(build::identifier(PRESCRIPTION_NO, p));
    }
    if !m.order_no.is_empty() {
        identifier.push(build::identifier(
            RESOURCE_ID,
            &format!("{}_{}_{}", m.order_no, m.rp_number, m.order_in_rp),
        ));
    }
    let dose_and_rate = match (&m.dose, &m.dose_type) {
        (Some(d), Some(t)) => vec![types::DosageDoseAndRate {
            r#type: Some(Box::new(build::codeable_concept(vec![coding(t)], None))),
            dose: Some(types::DosageDoseAndRateDose::Quantity(Box::new(
                med_quantity(d),
            ))),
            rate: m.daily_dose.as_ref().map(|q| {
                types::DosageDoseAndRateRate::Ratio(Box::new(types::Ratio {
                    numerator: Some(Box::new(med_quantity(q))),
                    denominator: Some(Box::new(build::quantity("1", "日", Some(UCUM), Some("d")))),
                    ..Default::default()
                }))
            }),
            ..Default::default()
        }],
        _ => Vec::new(),
    };
    let start = m.start.as_deref()?;
    let dosage = types::Dosage {
        extension: vec![build::extension_value_period(
            PERIOD_OF_USE,
            build::period(Some(start), m.end.as_deref()),
        )],
        text: Some(m.dosage_text.as_str().into()),
        timing: Some(Box::new(types::Timing {
            repeat: m.days.as_deref().map(|d| types::TimingRepeat {
                bounds: Some(types::TimingRepeatBounds::Duration(Box::new(days(d)))),
                ..Default::default()
            }),
            code: Some(Box::new(concept(&m.usage))),
            ..Default::default()
        })),
        route: m.route.as_ref().map(|r| Box::new(concept(r))),
        dose_and_rate,
        ..Default::default()
    };
    let dispense_request = (m.dispense.is_some() || m.days.is_some()).then(|| {
        resources::MedicationRequestDispenseRequest {
            quantity: m.dispense.as_ref().map(|q| Box::new(med_quantity(q))),
            expected_supply_duration: m.days.as_deref().map(|d| Box::new(days(d))),
            ..Default::default()
        }
    });
    let category = if m.category.is_empty() {
        Vec::new()
    } else {
        vec![build::codeable_concept(
            m.category.iter().map(coding).collect(),
            None,
        )]
    };
    // The contained Encounter only when its class is mapped (never guessed).
    let mut contained: Vec<_> = crate::bundle::encounter(m.encounter_class.as_ref())
        .into_iter()
        .collect();
    let requester = m.prescriber.as_ref().map(|p| {
        contained.push(practitioner(p, cfg, "requester").into_resource());
        Box::new(types::Reference {
            reference: Some("#requester".into()),
            r#type: Some("Practitioner".into()),
            display: (!p.name.is_empty()).then(|| p.name.as_str().into()),
            ..Default::default()
        })
    });
    Some(MedicationRequest {
        meta: Some(Box::new(Meta {
            last_updated: Some(last_updated.into()),
            ..build::meta_with_profile_and_tags(&[PROFILE], tags)
        })),
        contained,
        extension: crate::bundle::site_extensions(cfg, m.department.as_ref()),
        identifier,
        status: "completed".into(),
        intent: "order".into(),
        category,
        medication: resources::MedicationRequestMedication::CodeableConcept(Box::new(concept(
            &m.medication,
        ))),
        subject: Box::new(build::reference_to(patient_url)),
        encounter: m
            .encounter_class
            .as_ref()
            .map(|_| Box::new(build::reference_to("#encounter"))),
        authored_on: m.authored_on.as_deref().map(Into::into),
        requester,
        dosage_instruction: vec![dosage],
        dispense_request,
        ..Default::default()
    })
}

/// A contained JP_Practitioner (the prescriber, the ordering doctor) with the local id `id`.
pub(crate) fn practitioner(
    p: &Prescriber,
    cfg: &SiteConfig,
    id: &str,
) -> fhir::model::Practitioner {
    fhir::model::Practitioner {
        id: Some(id.into()),
        meta: Some(Box::new(build::meta_with_profile(&[PRACTITIONER_PROFILE]))),
        identifier: if p.id.is_empty() {
            Vec::new()
        } else {
            vec![build::identifier(
                &format!("{PRACTITIONER_ID_PREFIX}{}", cfg.institution_number),
                &p.id,
            )]
        },
        name: if p.name.is_empty() {
            Vec::new()
        } else {
            vec![types::HumanName {
                extension: p
                    .representation
                    .iter()
                    .map(|r| build::extension_value_code(REPRESENTATION_EXT, r))
                    .collect(),
                text: Some(p.name.as_str().into()),
                ..Default::default()
            }]
        },
        ..Default::default()
    }
}
