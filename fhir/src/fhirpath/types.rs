//! The types of elements reached by name, read from StructureDefinitions, so that
//! `Patient.birthDate` is known to be a `date` (for `lowBoundary()`, `is(date)`,
//! date comparison) although its JSON is only a string.
//!
//! Without a model the evaluator knows the types of resources (`resourceType`)
//! and of choice elements (`valueQuantity`); with one, every element of a base
//! type the model holds gets its type too. The validator evaluates invariants
//! without one (its profiles' own elements are typed by its walk); the SQL on
//! FHIR views use the R4 base definitions built into kakehashi.

use crate::package::Package;
use serde_json::Value;
use std::collections::HashMap;

/// Element name → type, per type (a resource, a data type, or the path of a
/// backbone element such as `Patient.contact`, whose children are typed under
/// that path).
#[derive(Debug, Default)]
pub struct ElementTypes {
    children: HashMap<String, HashMap<String, String>>,
}

impl ElementTypes {
    /// The model of the base types (`derivation` `specialization`) that the
    /// packages' StructureDefinitions define, resources and data types alike.
    /// Elements with more than one type (`value[x]`) are left out: their JSON
    /// names carry the type. A StructureDefinition that is not JSON or has no
    /// snapshot is skipped.
    pub fn from_packages<'p>(packages: impl IntoIterator<Item = &'p Package>) -> ElementTypes {
        let mut model = ElementTypes::default();
        for p in packages {
            for (name, bytes) in p.json_resources() {
                let file = name.rsplit('/').next().unwrap_or(name);
                if !file.starts_with("StructureDefinition-") {
                    continue;
                }
                if let Ok(sd) = serde_json::from_slice::<Value>(bytes) {
                    model.add(&sd);
                }
            }
        }
        model
    }

    fn add(&mut self, sd: &Value) {
        let s = |k: &str| sd.get(k).and_then(Value::as_str);
        if s("resourceType") != Some("StructureDefinition")
            || s("derivation") != Some("specialization")
            || !matches!(s("kind"), Some("resource" | "complex-type"))
        {
            return;
        }
        let Some(root) = s("type") else { return };
        let Some(elements) = sd.pointer("/snapshot/element").and_then(Value::as_array) else {
            return;
        };
        for e in elements {
            let Some(path) = e.get("path").and_then(Value::as_str) else {
                continue;
            };
            let Some((parent, name)) = path.rsplit_once('.') else {
                continue;
            };
            if name.ends_with("[x]") || !path.starts_with(root) {
                continue;
            }
            let ty = if let Some(r) = e.get("contentReference").and_then(Value::as_str) {
                // `#Questionnaire.item`: typed as the element it repeats
                r.trim_start_matches('#').to_owned()
            } else {
                let types = e.get("type").and_then(Value::as_array);
                let [t] = types.map(Vec::as_slice).unwrap_or_default() else {
                    continue;
                };
                match t.get("code").and_then(Value::as_str) {
                    Some("BackboneElement" | "Element") => path.to_owned(),
                    // `id`, `extension.url`, a primitive's `value`: a FHIRPath
                    // System type, with the FHIR type in an extension
                    Some(code) if code.starts_with("http://hl7.org/fhirpath/System.") => {
                        match fhir_type(t) {
                            Some(f) => f.to_owned(),
                            None => continue,
                        }
                    }
                    Some(code) => code.to_owned(),
                    None => continue,
                }
            };
            self.children
                .entry(parent.to_owned())
                .or_default()
                .insert(name.to_owned(), ty);
        }
    }

    /// The type of the element `name` of a node of type `parent`, if known.
    pub fn child(&self, parent: &str, name: &str) -> Option<&str> {
        self.children.get(parent)?.get(name).map(String::as_str)
    }

    /// How many types the model knows elements of.
    pub fn len(&self) -> usize {
        self.children.len()
    }

    /// Whether the model knows no type.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }
}

/// The `structuredefinition-fhir-type` extension of a type: the FHIR type behind
/// a System type code.
fn fhir_type(t: &Value) -> Option<&str> {
    t.get("extension")?.as_array()?.iter().find_map(|x| {
        (x.get("url")?.as_str()?
            == "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type")
            .then(|| x.get("valueUrl").or_else(|| x.get("valueUri"))?.as_str())
            .flatten()
    })
}
