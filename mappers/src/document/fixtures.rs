//! Test fixtures the document builders' tests share: a site with a department
//! and a submittable patient.

use crate::config::SiteConfig;
use crate::record::{PatientRecord, Submission};

pub(crate) fn site() -> SiteConfig {
    SiteConfig::parse(
        "[site]\ninstitution_number = \"2213456789\"\nname = \"t\"\n[departments]\n\"01\" = { code = \"01\", display = \"内科\" }\n",
    )
    .unwrap()
}

pub(crate) fn patient() -> PatientRecord {
    PatientRecord {
        local_id: "42".into(),
        member_id: Some(crate::record::MemberId {
            system: "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID".into(),
            value: "00012345::1:".into(),
        }),
        names: vec![crate::record::Name {
            representation: "IDE",
            family: "架空".into(),
            given: "花子".into(),
            text: "架空 花子".into(),
        }],
        gender: Some("female".into()),
        birth_date: Some("1950-01-01".into()),
        address: Some(crate::record::Address {
            postal_code: "100-0001".into(),
            text: "東京都".into(),
        }),
        submission: Some(Submission::Submit),
        lineage: Vec::new(),
    }
}
