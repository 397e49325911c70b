//! The FHIR R4 model kakehashi emits: fhirbolt's generated R4 types, re-exported
//! under one path, a byte-deterministic JSON writer and a strict reader whose
//! errors are `V1xx` diagnostics ([`json`]), small builders for what fhirbolt
//! spells verbosely ([`build`]), and ids derived from input bytes ([`id`]).
//!
//! ```
//! use fhir::model::{build, json, resources::Patient, IntoResource};
//!
//! let patient = Patient {
//!     id: Some("p1".into()),
//!     identifier: vec![build::identifier("urn:oid:1.2.392.100495.20.3.51.11234567890", "00012345")],
//!     gender: Some("female".into()),
//!     ..Default::default()
//! };
//! let bytes = json::to_vec(&patient.into_resource()).unwrap();
//! assert!(bytes.ends_with(b"}\n"));
//! let back = json::read(&bytes).unwrap();
//! assert_eq!(json::to_vec(&back).unwrap(), bytes);
//! ```

pub mod build;
pub mod codes;
pub mod id;
pub mod json;

#[cfg(test)]
mod tests;

/// Every R4 resource as one enum (`Resource::Patient(Box<Patient>)` …).
pub use fhirbolt::model::r4::Resource;
/// The generated R4 resource structs and their backbone elements and choice enums
/// (`resources::Observation`, `resources::ObservationValue` …).
pub use fhirbolt::model::r4::resources;
/// The generated R4 data types, primitives included (`types::Coding`, `types::Code` …).
pub use fhirbolt::model::r4::types;

pub use fhirbolt::model::r4::resources::{
    AllergyIntolerance, Binary, Bundle, BundleEntry, CarePlan, Composition, CompositionSection,
    Condition, Coverage, DiagnosticReport, DocumentReference, Encounter, Immunization, Medication,
    MedicationRequest, Observation, OperationOutcome, Organization, Patient, Practitioner,
    PractitionerRole, Procedure, ServiceRequest, Specimen,
};

/// Wraps a resource struct into the [`Resource`] enum (fhirbolt has no `From`
/// for it, and the orphan rule keeps us from adding one).
pub trait IntoResource {
    /// `Resource::X(Box::new(self))`.
    fn into_resource(self) -> Resource;
}

/// Unwraps a resource struct from the [`Resource`] enum.
pub trait FromResource: Sized {
    /// The `resourceType` (`"Patient"`).
    const RESOURCE_TYPE: &'static str;
    /// The struct if `r` is one, else `r` back.
    fn from_resource(r: Resource) -> Result<Self, Resource>;
}

macro_rules! into_resource {
    ($($t:ident),* $(,)?) => {
        $(
            impl IntoResource for resources::$t {
                fn into_resource(self) -> Resource {
                    Resource::$t(Box::new(self))
                }
            }
            impl FromResource for resources::$t {
                const RESOURCE_TYPE: &'static str = stringify!($t);
                fn from_resource(r: Resource) -> Result<Self, Resource> {
                    match r {
                        Resource::$t(b) => Ok(*b),
                        other => Err(other),
                    }
                }
            }
        )*
    };
}

into_resource!(
    AllergyIntolerance,
    Binary,
    Bundle,
    CarePlan,
    Composition,
    Condition,
    Coverage,
    DiagnosticReport,
    DocumentReference,
    Encounter,
    Immunization,
    Medication,
    MedicationRequest,
    Observation,
    OperationOutcome,
    Organization,
    Patient,
    Practitioner,
    PractitionerRole,
    Procedure,
    ServiceRequest,
    Specimen,
);

impl IntoResource for Resource {
    fn into_resource(self) -> Resource {
        self
    }
}
