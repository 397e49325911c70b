//! One SS-MIX2 message → every record it carries, chosen by data type, so the
//! caller can account for each message (mapped, or skipped with a reason).

use crate::record::{
    AllergyRecord, ConditionRecord, MedicationRecord, ObservationRecord, PatientRecord,
};
use crate::{Context, Findings, Input, allergy, condition, medication, observation, patient};

/// What one message yielded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapped {
    /// The patient (ADT-00 only: the message that carries the full PID and IN1).
    pub patient: Option<PatientRecord>,
    /// Conditions (PPR-01).
    pub conditions: Vec<ConditionRecord>,
    /// Allergies (ADT-61 IAM; AL1 in ADT-00, OMP-01, OMP-12).
    pub allergies: Vec<AllergyRecord>,
    /// Lab results (OML-11).
    pub observations: Vec<ObservationRecord>,
    /// Prescription lines (OMP-01; for documents and the NDJSON export, not a CLINS bundle).
    pub medications: Vec<MedicationRecord>,
    /// Why nothing was mapped (a data type the 5 items do not come from).
    pub skipped: Option<&'static str>,
}

/// Maps a message by its SS-MIX2 data type (`ADT-00`, `PPR-01`, …, from the file name).
pub fn map(ctx: &Context<'_>, input: &Input<'_>, data_type: &str, sink: &mut Findings) -> Mapped {
    let mut m = Mapped::default();
    match data_type {
        "ADT-00" => {
            m.patient = patient::map(ctx, input, sink);
            m.allergies = al1_only(ctx, input, sink);
        }
        "ADT-61" => m.allergies = allergy::map(ctx, input, sink),
        "OMP-01" => {
            m.allergies = al1_only(ctx, input, sink);
            m.medications = medication::map(ctx, input, sink);
        }
        "OMP-12" => {
            m.allergies = al1_only(ctx, input, sink);
            if m.allergies.is_empty() {
                m.skipped = Some("injection administrations (OMP-12) are not converted");
            }
        }
        "PPR-01" => m.conditions = condition::map(ctx, input, sink),
        "OML-11" => m.observations = observation::map(ctx, input, sink),
        _ => m.skipped = Some("data type carries none of the 5 items"),
    }
    m
}

fn al1_only(ctx: &Context<'_>, input: &Input<'_>, sink: &mut Findings) -> Vec<AllergyRecord> {
    if input.message.segment("AL1").is_some() {
        allergy::map(ctx, input, sink)
    } else {
        Vec::new()
    }
}
