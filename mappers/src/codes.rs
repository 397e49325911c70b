//! Diagnostic codes of the mappers (`M…`): site configuration and mapping.

use diagnostics::{Code, Severity::*};

/// The configuration is not valid TOML.
pub const CONFIG_SYNTAX: Code = Code::new("M001", Error, "site configuration is not valid TOML");
/// A required setting is missing.
pub const CONFIG_MISSING: Code = Code::new("M002", Error, "required site setting is missing");
/// A setting has the wrong type or value.
pub const CONFIG_BAD_VALUE: Code = Code::new("M003", Error, "site setting has an invalid value");
/// A key the configuration does not know (a typo would otherwise be ignored).
pub const CONFIG_UNKNOWN_KEY: Code = Code::new("M004", Error, "unknown site setting");
/// The folder patient id and PID-3 disagree.
pub const PATIENT_ID_MISMATCH: Code = Code::new(
    "M010",
    Warning,
    "patient id of the storage folder and PID-3 disagree",
);
/// No insurance valid on the as-of date: no 被保険者個人識別子.
pub const NO_VALID_INSURANCE: Code = Code::new(
    "M011",
    Error,
    "no insurance valid on the as-of date; the patient cannot be submitted",
);
/// Insurer number not 6 or 8 digits.
pub const INSURER_NUMBER_SHAPE: Code =
    Code::new("M012", Error, "insurer number is not 6 (国保) or 8 digits");
/// Empty 記号・番号.
pub const EMPTY_SYMBOL_NUMBER: Code = Code::new(
    "M013",
    Warning,
    "insured-person symbol and number are empty",
);
/// 自費 patient skipped.
pub const SELF_PAY: Code = Code::new(
    "M014",
    Info,
    "self-pay (自費) insurance: no 被保険者個人識別子, patient not submitted",
);
/// A name was normalised (full-width spaces) or a representation is missing.
pub const NAME_NORMALISED: Code = Code::new(
    "M015",
    Info,
    "name normalised for JP-CLINS (R1113) or a representation is missing",
);
/// A required demographic element is missing.
pub const MISSING_DEMOGRAPHIC: Code = Code::new(
    "M016",
    Warning,
    "patient lacks a required element (gender, birth date, address or name)",
);
/// A date or time in the source is malformed.
pub const BAD_DATE: Code = Code::new("M017", Warning, "malformed date or time in the source");
/// 生活保護: the payer is a 公費負担者番号 of 法別番号 12, no health insurer.
pub const PUBLIC_ASSISTANCE: Code = Code::new(
    "M018",
    Warning,
    "生活保護 patient (公費負担者番号, 法別番号 12): JP-CLINS requires exactly one insurance member id (R1012); not submitted",
);
/// A person name whose XPN-7 / XPN-8 sit one component off: not used.
pub const NAME_CODES_SHIFTED: Code = Code::new(
    "M019",
    Warning,
    "name's type and representation codes are one component off: kanji or kana cannot be told, the name is not used",
);
/// Unmapped code: the local coding is kept and the key goes on the worklist.
pub const UNMAPPED: Code = Code::new(
    "M020",
    Warning,
    "no approved mapping; the local coding is kept and the key is on the worklist",
);
/// A target from a draft (unreviewed/suggested) row was used.
pub const DRAFT_MAPPING: Code = Code::new("M021", Warning, "mapping target from an unreviewed row");
/// A code the mapper cannot read (empty or malformed coded element).
pub const BAD_CODE: Code = Code::new("M022", Warning, "coded element is empty or malformed");
/// Suspected condition: unconfirmed, not submitted.
pub const SUSPECTED: Code = Code::new(
    "M030",
    Info,
    "suspected diagnosis (疑い): unconfirmed, not submitted to JP-CLINS",
);
/// Claim-only (保険病名) condition, not submitted.
pub const CLAIM_ONLY: Code = Code::new(
    "M031",
    Info,
    "claim-only diagnosis (保険病名): not submitted to JP-CLINS",
);
/// A deleted record (PRB DE, IAM D/X).
pub const DELETED: Code = Code::new(
    "M032",
    Info,
    "record deleted at the source: entered-in-error, not submitted",
);
/// Uncoded condition name: the all-9 code.
pub const UNCODED_DISEASE: Code = Code::new(
    "M033",
    Info,
    "uncoded disease name (未コード化傷病名): sent with the all-9 keyNumber",
);
/// Condition without onset date (CLINS R9013C).
pub const NO_ONSET: Code = Code::new(
    "M034",
    Warning,
    "condition has no onset date; JP-CLINS requires one, not submitted",
);
/// UNINFORMED by the safe default.
pub const DEFAULT_UNINFORMED: Code = Code::new(
    "M035",
    Info,
    "tagged UNINFORMED by the safe default: the site declares no disclosure source",
);
/// Unknown allergen category (HL7 0127).
pub const UNKNOWN_CATEGORY: Code = Code::new(
    "M040",
    Warning,
    "allergen category (HL7 0127) has no mapping",
);
/// Allergen sent with a JFAGY dummy code.
pub const DUMMY_ALLERGEN: Code = Code::new(
    "M041",
    Info,
    "allergen has no J-FAGY code; the dummy code is sent with the text",
);
/// Unknown OBX value type.
pub const UNKNOWN_VALUE_TYPE: Code = Code::new(
    "M050",
    Warning,
    "OBX value type not converted; the value is kept as text",
);
/// Observation outside the configured lab scope.
pub const OUT_OF_SCOPE: Code = Code::new(
    "M051",
    Info,
    "result outside the configured lab scope: not submitted",
);
/// Malformed numeric value.
pub const BAD_NUMBER: Code = Code::new("M052", Warning, "numeric result is not a number");
/// Unreadable reference range.
pub const BAD_RANGE: Code = Code::new(
    "M053",
    Warning,
    "reference range not understood; kept as text",
);
/// Observation without effective time.
pub const NO_EFFECTIVE: Code = Code::new(
    "M054",
    Warning,
    "result has no collection or observation time; not submitted",
);
/// Lab result without an ordering doctor where the package requires a performer.
pub const NO_ORDERER: Code = Code::new(
    "M055",
    Warning,
    "result has no ordering doctor (ORC-12 / OBR-16), which the pinned JP-CLINS package requires as performer; not submitted",
);
/// Lab result whose OBX-3 names no code at all.
pub const NO_LAB_CODE: Code = Code::new(
    "M056",
    Warning,
    "result has no code in OBX-3 (no local code, no JLAC10); not submitted",
);
/// A numeric result without a unit is submitted as a unitless quantity (ratios such
/// as PT-INR have none; JP-CLINS accepts it, and a reference range takes the result's
/// unit, so R-unit rules hold); noted so a site can check its OBX-6.
pub const NO_RESULT_UNIT: Code = Code::new(
    "M057",
    Info,
    "numeric result has no unit (OBX-6); submitted without one",
);
/// A message of the wrong type for the mapper.
pub const WRONG_MESSAGE: Code = Code::new(
    "M060",
    Error,
    "message lacks the segments this mapper needs",
);
/// The FHIR package lacks a JP-CLINS lab set.
pub const NO_LAB_SET: Code = Code::new(
    "M061",
    Warning,
    "JP-CLINS lab set (CoreLabo / InfectionLabo) not found in the package",
);
/// Condition / Observation without a mapped encounter class (R9013C / R9013O).
pub const NO_ENCOUNTER_CLASS: Code = Code::new(
    "M070",
    Warning,
    "no mapped encounter class (PV1-2 / ORC-29) for the contained Encounter; not submitted",
);
/// Condition / Observation without a mapped department (R9014).
pub const NO_DEPARTMENT: Code = Code::new(
    "M071",
    Warning,
    "no mapped department (ORC-17 through [departments]); JP-CLINS requires one, not submitted",
);

/// RXE-2 names no drug.
pub const NO_DRUG: Code = Code::new(
    "M100",
    Warning,
    "prescription line names no drug (RXE-2 empty); not exported",
);
/// Drug without a YJ or 一般名処方 code: NOCODED.
pub const NOCODED: Code = Code::new(
    "M101",
    Info,
    "drug has no YJ or 一般名処方 code: sent as NOCODED with its name",
);
/// Usage without a 電子処方箋用法 code: the CLINS dummy.
pub const DUMMY_USAGE: Code = Code::new(
    "M102",
    Info,
    "usage has no 電子処方箋用法 code: the CLINS dummy usage code is sent with its text",
);
/// No usage at all.
pub const NO_USAGE: Code = Code::new(
    "M103",
    Warning,
    "prescription line has no usage (TQ1-3); not exported",
);
/// No RP number.
pub const NO_RP_NUMBER: Code = Code::new(
    "M104",
    Warning,
    "prescription line has no RP number (ORC-4); not exported",
);
/// No order date.
pub const NO_AUTHORED: Code = Code::new(
    "M105",
    Warning,
    "prescription line has no order date (RXE-32 / ORC-9); not exported",
);
/// No start date.
pub const NO_START: Code = Code::new(
    "M106",
    Warning,
    "prescription line has no start date (TQ1-7); not exported",
);
/// 製剤量 / 原薬量 not stated.
pub const DOSE_BASIS_UNKNOWN: Code = Code::new(
    "M107",
    Info,
    "dose basis (製剤量 / 原薬量) not stated: the structured dose is left out, the dosage text keeps it",
);
/// An amount that is not a number.
pub const BAD_AMOUNT: Code = Code::new("M108", Warning, "prescribed amount is not a number");
/// TQ1-6 not in days.
pub const BAD_DURATION: Code = Code::new(
    "M109",
    Warning,
    "prescription duration (TQ1-6) is not a whole number of days",
);
/// A cancelled order.
pub const CANCELLED: Code = Code::new(
    "M110",
    Info,
    "prescription cancelled at the source (ORC-1 CA/DC/OC); not exported",
);
/// An amount without a unit.
pub const NO_UNIT: Code = Code::new("M111", Warning, "prescribed amount has no unit; left out");
/// A dose range.
pub const DOSE_RANGE: Code = Code::new(
    "M112",
    Info,
    "dose given as a range (RXE-3 to RXE-4): the structured dose is left out, the dosage text keeps it",
);
/// A further TQ1 for one line.
pub const EXTRA_TIMING: Code = Code::new(
    "M113",
    Warning,
    "prescription line has more than one TQ1: only the first is converted",
);

/// An admission, transfer or discharge without a usable event time.
pub const ADT_NO_TIME: Code = Code::new(
    "M350",
    Error,
    "admission, transfer or discharge has no usable event time (PV1-44 / EVN-6 / PV1-45); the event is not used",
);
/// The message type does not belong to the data type.
pub const ADT_WRONG_MESSAGE: Code = Code::new(
    "M351",
    Warning,
    "message type does not belong to the ADT data type (e.g. ADT-22 without ADT^A01 / ADT^A11); the event is not used",
);
/// A discharge with no open stay.
pub const DISCHARGE_WITHOUT_ADMISSION: Code = Code::new(
    "M352",
    Error,
    "discharge without an admission: no stay can be assembled from it",
);
/// A discharge dated before its admission.
pub const DISCHARGE_BEFORE_ADMISSION: Code = Code::new(
    "M353",
    Error,
    "discharge dated before its admission: the stay cannot be assembled",
);
/// An admission while another stay is open.
pub const OVERLAPPING_STAYS: Code = Code::new(
    "M354",
    Error,
    "admission while another stay has no discharge: the earlier stay cannot be completed",
);
/// A transfer outside any stay.
pub const TRANSFER_OUTSIDE_STAY: Code = Code::new(
    "M355",
    Warning,
    "transfer (ADT-42) outside any stay; not used",
);
/// A cancellation that matches no event.
pub const CANCEL_UNMATCHED: Code = Code::new(
    "M356",
    Warning,
    "cancellation (ADT^A11 / A12 / A13) matches no event of the same kind and time",
);
/// The discharge's admission time differs from the stay's.
pub const ADMISSION_TIME_DISAGREES: Code = Code::new(
    "M357",
    Warning,
    "the discharge message's admission time (PV1-44) differs from the stay's admission",
);
/// Two current files hold the same event.
pub const DUPLICATE_EVENT: Code = Code::new(
    "M358",
    Info,
    "two current files record the same event; the newer one is used",
);
/// The ward department is not mapped.
pub const ADT_NO_DEPARTMENT: Code =
    Code::new("M359", Warning, "PV1-10 names no department the site maps");
/// The request names an admission the storage does not hold.
pub const ADMISSION_NOT_FOUND: Code = Code::new(
    "M360",
    Error,
    "no assembled stay matches the admission the request names",
);
/// The stay has no discharge.
pub const STAY_NOT_DISCHARGED: Code = Code::new(
    "M361",
    Error,
    "the stay has no discharge: no discharge summary can be written for it",
);
/// Several stays match the request.
pub const ADMISSION_AMBIGUOUS: Code = Code::new(
    "M362",
    Error,
    "several stays match the admission the request names; give the admission time",
);

/// The stay has no mapped encounter class.
pub const STAY_NO_CLASS: Code = Code::new(
    "M363",
    Error,
    "the stay's PV1-2 maps to no encounter class: its Encounter cannot be built",
);
/// The request lacks the hospital course.
pub const NO_HOSPITAL_COURSE: Code = Code::new(
    "M364",
    Error,
    "the discharge request lacks narrative.hospital_course (入院中経過 needs it)",
);
/// No condition was active during the stay.
pub const NO_STAY_CONDITION: Code = Code::new(
    "M365",
    Error,
    "no submittable Condition was active during the stay (退院時診断 needs one)",
);

/// A request part a discharge summary does not use.
pub const DISCHARGE_UNUSED_PART: Code = Code::new(
    "M366",
    Warning,
    "the request gives a part the discharge summary does not use (the stay is the encounter and the period)",
);

/// Every code of this module, for `docs/diagnostics.md`.
pub const ALL: &[&Code] = &[
    &CONFIG_SYNTAX,
    &CONFIG_MISSING,
    &CONFIG_BAD_VALUE,
    &CONFIG_UNKNOWN_KEY,
    &PATIENT_ID_MISMATCH,
    &NO_VALID_INSURANCE,
    &INSURER_NUMBER_SHAPE,
    &EMPTY_SYMBOL_NUMBER,
    &SELF_PAY,
    &NAME_NORMALISED,
    &MISSING_DEMOGRAPHIC,
    &BAD_DATE,
    &PUBLIC_ASSISTANCE,
    &NAME_CODES_SHIFTED,
    &UNMAPPED,
    &DRAFT_MAPPING,
    &BAD_CODE,
    &SUSPECTED,
    &CLAIM_ONLY,
    &DELETED,
    &UNCODED_DISEASE,
    &NO_ONSET,
    &DEFAULT_UNINFORMED,
    &UNKNOWN_CATEGORY,
    &DUMMY_ALLERGEN,
    &UNKNOWN_VALUE_TYPE,
    &OUT_OF_SCOPE,
    &BAD_NUMBER,
    &BAD_RANGE,
    &NO_EFFECTIVE,
    &NO_ORDERER,
    &NO_LAB_CODE,
    &NO_RESULT_UNIT,
    &WRONG_MESSAGE,
    &NO_LAB_SET,
    &NO_ENCOUNTER_CLASS,
    &NO_DEPARTMENT,
    &NO_DRUG,
    &NOCODED,
    &DUMMY_USAGE,
    &NO_USAGE,
    &NO_RP_NUMBER,
    &NO_AUTHORED,
    &NO_START,
    &DOSE_BASIS_UNKNOWN,
    &BAD_AMOUNT,
    &BAD_DURATION,
    &CANCELLED,
    &NO_UNIT,
    &DOSE_RANGE,
    &EXTRA_TIMING,
    &ADT_NO_TIME,
    &ADT_WRONG_MESSAGE,
    &DISCHARGE_WITHOUT_ADMISSION,
    &DISCHARGE_BEFORE_ADMISSION,
    &OVERLAPPING_STAYS,
    &TRANSFER_OUTSIDE_STAY,
    &CANCEL_UNMATCHED,
    &ADMISSION_TIME_DISAGREES,
    &DUPLICATE_EVENT,
    &ADT_NO_DEPARTMENT,
    &ADMISSION_NOT_FOUND,
    &STAY_NOT_DISCHARGED,
    &ADMISSION_AMBIGUOUS,
    &STAY_NO_CLASS,
    &NO_HOSPITAL_COURSE,
    &NO_STAY_CONDITION,
    &DISCHARGE_UNUSED_PART,
];
