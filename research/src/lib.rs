//! Research release (仮名加工医療情報): a pure transform of FHIR JSON resources and
//! Bundles that deletes what identifies a person, replaces every id, reference and
//! identifier by a keyed pseudonym, generalises birth dates, optionally shifts a
//! patient's dates by a keyed offset and leaves out the patients who opted out;
//! plus the k-anonymity risk report. No I/O and no clock: the caller reads the
//! files (twice: [`patients::Patients`] first, then [`transform::Pseudonymiser`])
//! and hands the transformed values to the analysis tables (crate `views`).
//!
//! - [`key`]: the release key (≥ 32 bytes), HMAC-SHA256 pseudonyms, the key id.
//! - [`optout`]: the opt-out list (`patient,<id>` / `insurance,<insurer:symbol:number[:branch]>`).
//! - [`patients`]: the persons of an input and the ids of their Patient copies.
//! - [`transform`]: the rules ([`transform::RULES`]) and the transform.
//! - [`risk`]: k-anonymity over quasi-identifiers.
//! - [`dates`], [`prefecture`]: date shifts, birth-date precision, prefectures.
//!
//! ```
//! use research::{key::Key, patients::Patients, transform::{Options, Pseudonymiser, Quasi}};
//! let key = Key::from_bytes(b"0123456789abcdef0123456789abcdef").unwrap();
//! let mut patient = serde_json::json!({"resourceType": "Patient", "id": "p1",
//!     "identifier": [{"system": "urn:oid:1.2.392.100495.20.3.51.11234567890", "value": "0001"}],
//!     "name": [{"text": "架空 太郎"}], "birthDate": "1950-04-05",
//!     "address": [{"text": "静岡県静岡市登呂１－３－５", "postalCode": "422-8033"}]});
//! let mut people = Patients::default();
//! people.observe(&patient);
//! let mut p = Pseudonymiser::new(&key, Options::default(), people, None, Quasi::defaults());
//! assert!(p.process(&mut patient));
//! assert!(patient.get("name").is_none() && patient.get("identifier").is_none());
//! assert_eq!(patient["birthDate"], "1950-04");
//! assert_eq!(patient["address"], serde_json::json!([{"state": "静岡県"}]));
//! assert_ne!(patient["id"], "p1");
//! ```

#![deny(missing_docs)]

pub mod codes;
pub mod dates;
pub mod key;
pub mod optout;
pub mod patients;
pub mod prefecture;
pub mod risk;
pub mod transform;

#[cfg(test)]
mod tests;
