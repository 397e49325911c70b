//! System and identifier URIs the mappers emit (standards.md §3).

/// MEDIS 病名管理番号.
pub const MEDIS_KEY: &str = "http://medis.or.jp/CodeSystem/master-disease-keyNumber";
/// MEDIS 病名交換用コード.
pub const MEDIS_EX: &str = "http://medis.or.jp/CodeSystem/master-disease-exCode";
/// MEDIS 修飾語管理番号.
pub const MEDIS_MOD_KEY: &str = "http://medis.or.jp/CodeSystem/master-disease-modKeyNumber";
/// MEDIS 修飾語交換用コード.
pub const MEDIS_MOD_EX: &str = "http://medis.or.jp/CodeSystem/master-disease-modExCode";
/// レセ電 傷病名.
pub const RECEIPT_DISEASE: &str = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterB-disease";
/// ICD-10 2013 full.
pub const ICD10: &str = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full";
/// HL7 0241 転帰.
pub const HL7_0241: &str = "http://jpfhir.jp/fhir/core/CodeSystem/HL70241";
/// JLAC10 17 digits.
pub const JLAC10: &str = "http://medis.or.jp/CodeSystem/master-JLAC10-17digits";
/// CLINS CoreLabo (JLAC10).
pub const CORE_LABO: &str =
    "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC10/JP_CLINS_ObsLabResult_CoreLabo_CS";
/// CLINS InfectionLabo (JLAC10).
pub const INFECTION_LABO: &str =
    "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC10/JP_CLINS_ObsLabResult_InfectionLabo_CS";
/// CLINS uncoded lab.
pub const LAB_UNCODED: &str =
    "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_Uncoded_CS";
/// CLINS local lab code.
pub const LAB_LOCAL: &str =
    "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_LocalCode_CS";
/// JLAC10 specimen (material) codes.
pub const SPECIMEN: &str =
    "http://jpfhir.jp/fhir/core/CodeSystem/JP_ObservationSampleMaterialCode_CS";
/// HL7 0078 interpretation (FHIR v2 table).
pub const HL7_0078: &str = "http://terminology.hl7.org/CodeSystem/v2-0078";
/// J-FAGY medication (YJ-based).
pub const JFAGY_YCM: &str =
    "http://jpfhir.jp/fhir/core/CodeSystem/YCM/JP_JfagyMedicationAllergen_CS";
/// J-FAGY food.
pub const JFAGY_FOOD: &str = "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyFoodAllergen_CS";
/// J-FAGY non-food non-medication.
pub const JFAGY_NONFOOD: &str =
    "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyNonFoodNonMedicationAllergen_CS";
/// YJ code.
pub const YJ: &str = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code";
/// AllergyIntolerance category.
pub const ALLERGY_CATEGORY: &str = "http://hl7.org/fhir/allergy-intolerance-category";
/// Reaction severity.
pub const REACTION_SEVERITY: &str = "http://hl7.org/fhir/reaction-event-severity";
/// SS-MIX2 診療科.
pub const DEPARTMENT: &str = "http://jami.jp/SS-MIX2/CodeSystem/ClinicalDepartment";
/// 被保険者個人識別子.
pub const INSURANCE_MEMBER_ID: &str = "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID";
/// 施設内患者ID prefix (followed by the 10-digit institution number).
pub const LOCAL_PATIENT_ID_PREFIX: &str = "urn:oid:1.2.392.100495.20.3.51.1";
/// J-FAGY medication (un-prefixed alias; carries the D9M dummy).
pub const JFAGY_MEDICATION: &str =
    "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyMedicationAllergen_CS";
/// J-FAGY medication (一般名 / 成分 level).
pub const JFAGY_GCM: &str =
    "http://jpfhir.jp/fhir/core/CodeSystem/GCM/JP_JfagyMedicationAllergen_CS";
/// JP_Bundle_CLINS (the five items' submission bundle).
pub const BUNDLE_CLINS: &str = "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_CLINS";
