//! Diagnostic codes of the FHIR validator (stage `V`).

use diagnostics::{Code, Severity};

/// The file is not JSON, or not a JSON object.
pub const NOT_JSON: Code = Code::new("V001", Severity::Error, "not a JSON FHIR resource");
/// `resourceType` missing or not a resource type the loaded packages define.
pub const UNKNOWN_RESOURCE_TYPE: Code =
    Code::new("V002", Severity::Error, "missing or unknown resourceType");
/// An element the definitions do not define.
pub const UNKNOWN_ELEMENT: Code = Code::new("V003", Severity::Error, "unknown element");
/// Fewer occurrences than the element's (or slice's) minimum.
pub const TOO_FEW: Code = Code::new(
    "V004",
    Severity::Error,
    "missing required element (cardinality min)",
);
/// More occurrences than the element's (or slice's) maximum.
pub const TOO_MANY: Code = Code::new(
    "V005",
    Severity::Error,
    "too many occurrences (cardinality max)",
);
/// JSON shape does not fit the element (array vs single value, object vs primitive).
pub const WRONG_SHAPE: Code = Code::new("V006", Severity::Error, "wrong JSON type for the element");
/// A primitive value that breaks its type's format (impossible dates included).
pub const BAD_PRIMITIVE: Code = Code::new("V007", Severity::Error, "invalid primitive value");
/// A value differs from the profile's fixed value.
pub const FIXED_MISMATCH: Code = Code::new(
    "V008",
    Severity::Error,
    "value differs from the fixed value",
);
/// A value does not contain the profile's pattern.
pub const PATTERN_MISMATCH: Code =
    Code::new("V009", Severity::Error, "value does not match the pattern");
/// An error-severity invariant evaluated to false.
pub const INVARIANT_FAILED: Code = Code::new("V010", Severity::Error, "invariant failed");
/// A warning-severity invariant evaluated to false.
pub const INVARIANT_WARNING: Code =
    Code::new("V011", Severity::Warning, "warning-level invariant failed");
/// An invariant the FHIRPath evaluator cannot run (never silently passed).
pub const INVARIANT_NOT_EVALUABLE: Code = Code::new(
    "V012",
    Severity::Warning,
    "invariant could not be evaluated",
);
/// A declared or requested profile that is not in the loaded package set.
pub const PROFILE_NOT_LOADED: Code = Code::new("V013", Severity::Warning, "profile not loaded");
/// A code outside the value set of a required binding.
pub const NOT_IN_VALUE_SET: Code = Code::new(
    "V014",
    Severity::Error,
    "code not in the required value set",
);
/// A required binding whose value set cannot be expanded offline.
pub const BINDING_UNCHECKED: Code = Code::new(
    "V015",
    Severity::Warning,
    "required binding cannot be checked offline",
);
/// A `urn:uuid` reference that no Bundle entry's fullUrl matches.
pub const UNRESOLVED_REFERENCE: Code = Code::new(
    "V016",
    Severity::Error,
    "reference not resolved in the Bundle",
);
/// A `#id` reference to no contained resource.
pub const UNRESOLVED_CONTAINED: Code =
    Code::new("V017", Severity::Error, "contained reference not resolved");
/// A choice element with a type the definition does not allow.
pub const BAD_CHOICE_TYPE: Code = Code::new("V018", Severity::Error, "choice type not allowed");
/// An item that matches no slice of a closed slicing.
pub const NO_SLICE: Code = Code::new(
    "V019",
    Severity::Error,
    "item matches no slice of a closed slicing",
);
/// Empty objects, arrays, strings or nulls (FHIR forbids them).
pub const EMPTY_VALUE: Code = Code::new("V020", Severity::Error, "empty value");
/// A relative reference that is not in the Bundle (cannot be checked offline).
pub const REFERENCE_NOT_IN_BUNDLE: Code = Code::new(
    "V021",
    Severity::Info,
    "relative reference not in the Bundle",
);
/// A string longer than the element's maxLength.
pub const TOO_LONG: Code = Code::new("V022", Severity::Error, "string longer than maxLength");

/// A resolved reference whose target resource type the element does not allow.
pub const BAD_REFERENCE_TARGET: Code =
    Code::new("V023", Severity::Error, "reference target type not allowed");

/// An R4 resource type whose definition is not in the loaded packages.
pub const RESOURCE_NOT_VALIDATED: Code = Code::new(
    "V024",
    Severity::Warning,
    "R4 resource type without a loaded definition: not validated",
);

/// A rule of the `--strict` pack (defined but not attached in the package) failed.
pub const STRICT_RULE: Code = Code::new(
    "V025",
    Severity::Warning,
    "strict-pack rule failed (defined, not attached in the package)",
);

/// In a document Bundle, a reference of the Composition (first entry) that does
/// not resolve to an entry.
pub const DOCUMENT_REFERENCE_UNRESOLVED: Code = Code::new(
    "V026",
    Severity::Error,
    "document Composition reference not resolved in the Bundle",
);

/// Under an ordered slicing (`slicing.ordered = true`), an item of a slice after
/// an item of a later slice, or (rules `openAtEnd`) a sliced item after an item
/// that matches no slice.
pub const SLICE_OUT_OF_ORDER: Code = Code::new(
    "V027",
    Severity::Error,
    "slices out of order (ordered slicing)",
);

/// An extension used on an element its definition's `context` does not allow.
pub const EXTENSION_CONTEXT: Code = Code::new(
    "V028",
    Severity::Error,
    "extension used outside its allowed contexts",
);

/// A coding whose code the code-system registry (a [`crate::validate::CodeSystemOracle`])
/// rejects for its system, under a required (error) or extensible binding whose value
/// set cannot be expanded from the packages.
pub const INVALID_IN_CODE_SYSTEM: Code = Code::new(
    "V029",
    Severity::Error,
    "code not valid in its code system (code-system registry)",
);

/// An extension context of type `fhirpath` whose expression the evaluator cannot
/// run: the use is allowed, never silently.
pub const EXTENSION_CONTEXT_NOT_EVALUABLE: Code = Code::new(
    "V030",
    Severity::Warning,
    "extension context expression could not be evaluated",
);

/// Every code of the validator, in id order.
pub const ALL: &[&Code] = &[
    &NOT_JSON,
    &UNKNOWN_RESOURCE_TYPE,
    &UNKNOWN_ELEMENT,
    &TOO_FEW,
    &TOO_MANY,
    &WRONG_SHAPE,
    &BAD_PRIMITIVE,
    &FIXED_MISMATCH,
    &PATTERN_MISMATCH,
    &INVARIANT_FAILED,
    &INVARIANT_WARNING,
    &INVARIANT_NOT_EVALUABLE,
    &PROFILE_NOT_LOADED,
    &NOT_IN_VALUE_SET,
    &BINDING_UNCHECKED,
    &UNRESOLVED_REFERENCE,
    &UNRESOLVED_CONTAINED,
    &BAD_CHOICE_TYPE,
    &NO_SLICE,
    &EMPTY_VALUE,
    &REFERENCE_NOT_IN_BUNDLE,
    &TOO_LONG,
    &BAD_REFERENCE_TARGET,
    &RESOURCE_NOT_VALIDATED,
    &STRICT_RULE,
    &DOCUMENT_REFERENCE_UNRESOLVED,
    &SLICE_OUT_OF_ORDER,
    &EXTENSION_CONTEXT,
    &INVALID_IN_CODE_SYSTEM,
    &EXTENSION_CONTEXT_NOT_EVALUABLE,
];

/// Every concrete resource type of FHIR R4 (4.0.1), from the StructureDefinitions of
/// `hl7.fhir.r4.examples` 4.0.1. A type in this list whose definition is not in the
/// loaded packages (the vendored R4 subset holds only what the JP profiles use) is
/// reported as not validated (V024), not as unknown.
pub const R4_RESOURCE_TYPES: &[&str] = &[
    "Account",
    "ActivityDefinition",
    "AdverseEvent",
    "AllergyIntolerance",
    "Appointment",
    "AppointmentResponse",
    "AuditEvent",
    "Basic",
    "Binary",
    "BiologicallyDerivedProduct",
    "BodyStructure",
    "Bundle",
    "CapabilityStatement",
    "CarePlan",
    "CareTeam",
    "CatalogEntry",
    "ChargeItem",
    "ChargeItemDefinition",
    "Claim",
    "ClaimResponse",
    "ClinicalImpression",
    "CodeSystem",
    "Communication",
    "CommunicationRequest",
    "CompartmentDefinition",
    "Composition",
    "ConceptMap",
    "Condition",
    "Consent",
    "Contract",
    "Coverage",
    "CoverageEligibilityRequest",
    "CoverageEligibilityResponse",
    "DetectedIssue",
    "Device",
    "DeviceDefinition",
    "DeviceMetric",
    "DeviceRequest",
    "DeviceUseStatement",
    "DiagnosticReport",
    "DocumentManifest",
    "DocumentReference",
    "EffectEvidenceSynthesis",
    "Encounter",
    "Endpoint",
    "EnrollmentRequest",
    "EnrollmentResponse",
    "EpisodeOfCare",
    "EventDefinition",
    "Evidence",
    "EvidenceVariable",
    "ExampleScenario",
    "ExplanationOfBenefit",
    "FamilyMemberHistory",
    "Flag",
    "Goal",
    "GraphDefinition",
    "Group",
    "GuidanceResponse",
    "HealthcareService",
    "ImagingStudy",
    "Immunization",
    "ImmunizationEvaluation",
    "ImmunizationRecommendation",
    "ImplementationGuide",
    "InsurancePlan",
    "Invoice",
    "Library",
    "Linkage",
    "List",
    "Location",
    "Measure",
    "MeasureReport",
    "Media",
    "Medication",
    "MedicationAdministration",
    "MedicationDispense",
    "MedicationKnowledge",
    "MedicationRequest",
    "MedicationStatement",
    "MedicinalProduct",
    "MedicinalProductAuthorization",
    "MedicinalProductContraindication",
    "MedicinalProductIndication",
    "MedicinalProductIngredient",
    "MedicinalProductInteraction",
    "MedicinalProductManufactured",
    "MedicinalProductPackaged",
    "MedicinalProductPharmaceutical",
    "MedicinalProductUndesirableEffect",
    "MessageDefinition",
    "MessageHeader",
    "MolecularSequence",
    "NamingSystem",
    "NutritionOrder",
    "Observation",
    "ObservationDefinition",
    "OperationDefinition",
    "OperationOutcome",
    "Organization",
    "OrganizationAffiliation",
    "Parameters",
    "Patient",
    "PaymentNotice",
    "PaymentReconciliation",
    "Person",
    "PlanDefinition",
    "Practitioner",
    "PractitionerRole",
    "Procedure",
    "Provenance",
    "Questionnaire",
    "QuestionnaireResponse",
    "RelatedPerson",
    "RequestGroup",
    "ResearchDefinition",
    "ResearchElementDefinition",
    "ResearchStudy",
    "ResearchSubject",
    "RiskAssessment",
    "RiskEvidenceSynthesis",
    "Schedule",
    "SearchParameter",
    "ServiceRequest",
    "Slot",
    "Specimen",
    "SpecimenDefinition",
    "StructureDefinition",
    "StructureMap",
    "Subscription",
    "Substance",
    "SubstanceNucleicAcid",
    "SubstancePolymer",
    "SubstanceProtein",
    "SubstanceReferenceInformation",
    "SubstanceSourceMaterial",
    "SubstanceSpecification",
    "SupplyDelivery",
    "SupplyRequest",
    "Task",
    "TerminologyCapabilities",
    "TestReport",
    "TestScript",
    "ValueSet",
    "VerificationResult",
    "VisionPrescription",
];
