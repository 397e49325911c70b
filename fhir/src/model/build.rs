//! Builders for what fhirbolt spells verbosely. Each returns a plain fhirbolt
//! value, so a mapper can still set any other field with struct update syntax.
//!
//! ```
//! use fhir::model::build::*;
//!
//! let cc = concept("urn:oid:1.2.392.200119.4.504", "3E0C", Some("HbA1c"));
//! assert_eq!(cc.coding[0].code.as_ref().and_then(|c| c.value.as_deref()), Some("3E0C"));
//! ```

use super::types::{
    CodeableConcept, Coding, Extension, ExtensionValue, Identifier, Meta, Period, Quantity,
    Reference,
};
use super::{BundleEntry, IntoResource};

/// A `Coding` with a system, a code and an optional display.
pub fn coding(system: &str, code: &str, display: Option<&str>) -> Coding {
    Coding {
        system: Some(system.into()),
        code: Some(code.into()),
        display: display.map(Into::into),
        ..Default::default()
    }
}

/// A `CodeableConcept` of several codings and an optional text.
pub fn codeable_concept(coding: Vec<Coding>, text: Option<&str>) -> CodeableConcept {
    CodeableConcept {
        coding,
        text: text.map(Into::into),
        ..Default::default()
    }
}

/// The display the FHIR R4 code system gives a status code
/// (`condition-clinical`, `condition-ver-status`, `allergyintolerance-clinical`,
/// `allergyintolerance-verification`, all CC0 in `hl7.fhir.r4.core` 4.0.1; JP-CLINS
/// 1.10 makes these displays 1..1). `None` for another system or an unknown code:
/// a display is never made up. A test checks the table against the code systems.
pub fn status_display(system: &str, code: &str) -> Option<&'static str> {
    const TERM: &str = "http://terminology.hl7.org/CodeSystem/";
    let table: &[(&str, &str)] = match system.strip_prefix(TERM)? {
        "condition-clinical" => &[
            ("active", "Active"),
            ("recurrence", "Recurrence"),
            ("relapse", "Relapse"),
            ("inactive", "Inactive"),
            ("remission", "Remission"),
            ("resolved", "Resolved"),
        ],
        "condition-ver-status" => &[
            ("unconfirmed", "Unconfirmed"),
            ("provisional", "Provisional"),
            ("differential", "Differential"),
            ("confirmed", "Confirmed"),
            ("refuted", "Refuted"),
            ("entered-in-error", "Entered in Error"),
        ],
        "allergyintolerance-clinical" => &[
            ("active", "Active"),
            ("inactive", "Inactive"),
            ("resolved", "Resolved"),
        ],
        "allergyintolerance-verification" => &[
            ("unconfirmed", "Unconfirmed"),
            ("confirmed", "Confirmed"),
            ("refuted", "Refuted"),
            ("entered-in-error", "Entered in Error"),
        ],
        _ => return None,
    };
    table.iter().find(|(c, _)| *c == code).map(|(_, d)| *d)
}

/// A status `CodeableConcept` with the code system's display ([`status_display`]).
pub fn status_concept(system: &str, code: &str) -> CodeableConcept {
    concept(system, code, status_display(system, code))
}

/// A `CodeableConcept` of one coding (the common case).
pub fn concept(system: &str, code: &str, display: Option<&str>) -> CodeableConcept {
    codeable_concept(vec![coding(system, code, display)], None)
}

/// A `CodeableConcept` with only a text (no code: unmapped free text).
pub fn text_concept(text: &str) -> CodeableConcept {
    codeable_concept(Vec::new(), Some(text))
}

/// An `Identifier` with a system and a value.
pub fn identifier(system: &str, value: &str) -> Identifier {
    Identifier {
        system: Some(system.into()),
        value: Some(value.into()),
        ..Default::default()
    }
}

/// A `Reference` to a Bundle entry by its fullUrl (`urn:uuid:…`).
pub fn reference_to(full_url: &str) -> Reference {
    Reference {
        reference: Some(full_url.into()),
        ..Default::default()
    }
}

/// A `Reference` with a display text too.
pub fn reference_with_display(full_url: &str, display: &str) -> Reference {
    Reference {
        display: Some(display.into()),
        ..reference_to(full_url)
    }
}

/// A `Period` from optional start and end dateTimes (kept as given).
pub fn period(start: Option<&str>, end: Option<&str>) -> Period {
    Period {
        start: start.map(Into::into),
        end: end.map(Into::into),
        ..Default::default()
    }
}

/// A `Quantity` whose value keeps its decimal text exactly (`"5.40"` stays
/// `5.40`), with a UCUM-style unit, system and code.
pub fn quantity(value: &str, unit: &str, system: Option<&str>, code: Option<&str>) -> Quantity {
    Quantity {
        value: Some(value.into()),
        // An empty unit is no unit (FHIR forbids empty strings).
        unit: (!unit.is_empty()).then(|| unit.into()),
        system: system.map(Into::into),
        code: code.map(Into::into),
        ..Default::default()
    }
}

/// An `Extension` with a url and a value.
pub fn extension(url: &str, value: ExtensionValue) -> Extension {
    Extension {
        url: url.to_owned(),
        value: Some(value),
        ..Default::default()
    }
}

/// An `Extension` with a url and nested extensions (a complex extension).
pub fn extension_complex(url: &str, extension: Vec<Extension>) -> Extension {
    Extension {
        url: url.to_owned(),
        extension,
        ..Default::default()
    }
}

/// `valueString`.
pub fn extension_value_string(url: &str, value: &str) -> Extension {
    extension(url, ExtensionValue::String(value.into()))
}

/// `valueCode`.
pub fn extension_value_code(url: &str, value: &str) -> Extension {
    extension(url, ExtensionValue::Code(value.into()))
}

/// `valueBoolean`.
pub fn extension_value_boolean(url: &str, value: bool) -> Extension {
    extension(url, ExtensionValue::Boolean(value.into()))
}

/// `valueInteger`.
pub fn extension_value_integer(url: &str, value: i32) -> Extension {
    extension(url, ExtensionValue::Integer(value.into()))
}

/// `valueDecimal`, the decimal text kept exactly.
pub fn extension_value_decimal(url: &str, value: &str) -> Extension {
    extension(url, ExtensionValue::Decimal(value.into()))
}

/// `valueDateTime`, kept as given.
pub fn extension_value_date_time(url: &str, value: &str) -> Extension {
    extension(url, ExtensionValue::DateTime(value.into()))
}

/// `valueCoding`.
pub fn extension_value_coding(url: &str, value: Coding) -> Extension {
    extension(url, ExtensionValue::Coding(Box::new(value)))
}

/// `valueCodeableConcept`.
pub fn extension_value_codeable_concept(url: &str, value: CodeableConcept) -> Extension {
    extension(url, ExtensionValue::CodeableConcept(Box::new(value)))
}

/// `valueIdentifier`.
pub fn extension_value_identifier(url: &str, value: Identifier) -> Extension {
    extension(url, ExtensionValue::Identifier(Box::new(value)))
}

/// `valueReference`.
pub fn extension_value_reference(url: &str, value: Reference) -> Extension {
    extension(url, ExtensionValue::Reference(Box::new(value)))
}

/// `valueQuantity`.
pub fn extension_value_quantity(url: &str, value: Quantity) -> Extension {
    extension(url, ExtensionValue::Quantity(Box::new(value)))
}

/// `valuePeriod`.
pub fn extension_value_period(url: &str, value: Period) -> Extension {
    extension(url, ExtensionValue::Period(Box::new(value)))
}

/// A `Meta` with profiles (canonical URLs, in the order given) and tags.
pub fn meta_with_profile_and_tags(profiles: &[&str], tag: Vec<Coding>) -> Meta {
    Meta {
        profile: profiles.iter().map(|&p| p.into()).collect(),
        tag,
        ..Default::default()
    }
}

/// A `Meta` with profiles only.
pub fn meta_with_profile(profiles: &[&str]) -> Meta {
    meta_with_profile_and_tags(profiles, Vec::new())
}

/// A Bundle entry: fullUrl and resource.
pub fn bundle_entry(full_url: &str, resource: impl IntoResource) -> BundleEntry {
    BundleEntry {
        full_url: Some(full_url.into()),
        resource: Some(resource.into_resource()),
        ..Default::default()
    }
}
