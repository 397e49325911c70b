//! SS-MIX2 standardized storage: paths, file names, data types and the checks that
//! tie a message to the folder it was filed in.
//!
//! Storage layout: `<id[0:3]>/<id[3:6]>/<id>/<care date | ->/<data type>/<file>`,
//! file name `<patient id>_<care date>_<data type>_<order no>_<written at>_<department>_<condition flag>`.
//! This module does no I/O: the CLI walks folders and hands over path components
//! and bytes. [`read_file`] parses one message file and runs every check;
//! [`classify_path`] tells what a path inside a storage is.
//!
//! Severity policy: a file that is not HL7, or whose name cannot be read, is an
//! error (it cannot be converted). Disagreements between a message and its folder
//! (PID-3 ≠ folder id, care date ≠ folder date, MSH-9 ≠ data type), spelling
//! variants, 13-digit order numbers and grammar deviations are warnings or infos:
//! the message is still usable and a person should look.

mod checks;
pub mod codes;
pub mod grammar;

pub use checks::{XpnShift, check_message, xpn_shift};

use crate::hl7::Hl7File;
use diagnostics::{Diagnostic, Diagnostics, Excerpt};

/// What SS-MIX2 says about one data type (データ種別).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataType {
    /// Folder / file-name code, e.g. `OML-11`.
    pub code: &'static str,
    /// Japanese name.
    pub name: &'static str,
    /// HL7 message types (MSH-9.1^MSH-9.2) allowed for it.
    pub message_types: &'static [&'static str],
    /// Field holding the care date (診療日), `None` when filed under `-`.
    pub care_date: Option<(&'static str, u32)>,
}

/// The data types of SS-MIX2 standardized storage (guideline Ver.1.2 表1-1).
pub const DATA_TYPES: &[DataType] = &[
    DataType {
        code: "ADT-00",
        name: "患者基本情報の更新／削除",
        message_types: &["ADT^A08", "ADT^A23"],
        care_date: None,
    },
    DataType {
        code: "ADT-01",
        name: "担当医の変更／取消",
        message_types: &["ADT^A54", "ADT^A55"],
        care_date: None,
    },
    DataType {
        code: "ADT-12",
        name: "外来診察の受付",
        message_types: &["ADT^A04"],
        care_date: Some(("PV1", 44)),
    },
    DataType {
        code: "ADT-21",
        name: "入院予定／取消",
        message_types: &["ADT^A14", "ADT^A27"],
        care_date: Some(("PV2", 8)),
    },
    DataType {
        code: "ADT-22",
        name: "入院実施／取消",
        message_types: &["ADT^A01", "ADT^A11"],
        care_date: Some(("PV1", 44)),
    },
    DataType {
        code: "ADT-31",
        name: "外出泊実施／取消",
        message_types: &["ADT^A21", "ADT^A52"],
        care_date: Some(("EVN", 6)),
    },
    DataType {
        code: "ADT-32",
        name: "外出泊帰院実施／取消",
        message_types: &["ADT^A22", "ADT^A53"],
        care_date: Some(("EVN", 6)),
    },
    DataType {
        code: "ADT-41",
        name: "転科・転棟予定／取消",
        message_types: &["ADT^A15", "ADT^A26"],
        care_date: Some(("PV2", 8)),
    },
    DataType {
        code: "ADT-42",
        name: "転科・転棟実施／取消",
        message_types: &["ADT^A02", "ADT^A12"],
        care_date: Some(("EVN", 6)),
    },
    DataType {
        code: "ADT-51",
        name: "退院予定／取消",
        message_types: &["ADT^A16", "ADT^A25"],
        care_date: Some(("PV2", 9)),
    },
    DataType {
        code: "ADT-52",
        name: "退院実施／取消",
        message_types: &["ADT^A03", "ADT^A13"],
        care_date: Some(("PV1", 45)),
    },
    DataType {
        code: "ADT-61",
        name: "アレルギー情報の登録／更新",
        message_types: &["ADT^A60"],
        care_date: None,
    },
    DataType {
        code: "PPR-01",
        name: "病名（歴）情報の登録／更新",
        message_types: &["PPR^ZD1"],
        care_date: None,
    },
    DataType {
        code: "OMD",
        name: "食事オーダ",
        message_types: &["OMD^O03"],
        care_date: Some(("ORC", 9)),
    },
    DataType {
        code: "OMP-01",
        name: "処方オーダ",
        message_types: &["RDE^O11"],
        care_date: Some(("ORC", 9)),
    },
    DataType {
        code: "OMP-11",
        name: "処方実施通知",
        message_types: &["RAS^O17"],
        care_date: Some(("RXA", 3)),
    },
    DataType {
        code: "OMP-02",
        name: "注射オーダ",
        message_types: &["RDE^O11"],
        care_date: Some(("ORC", 9)),
    },
    DataType {
        code: "OMP-12",
        name: "注射実施通知",
        message_types: &["RAS^O17"],
        care_date: Some(("RXA", 3)),
    },
    DataType {
        code: "OML-01",
        name: "検体検査オーダ",
        message_types: &["OML^O33"],
        care_date: Some(("ORC", 9)),
    },
    DataType {
        code: "OML-11",
        name: "検体検査結果通知",
        message_types: &["OUL^R22"],
        care_date: Some(("SPM", 17)),
    },
    DataType {
        code: "OMG-01",
        name: "放射線検査オーダ",
        message_types: &["OMG^O19"],
        care_date: Some(("ORC", 9)),
    },
    DataType {
        code: "OMG-02",
        name: "内視鏡検査オーダ",
        message_types: &["OMG^O19"],
        care_date: Some(("ORC", 9)),
    },
    DataType {
        code: "OMG-03",
        name: "生理検査オーダ",
        message_types: &["OMG^O19"],
        care_date: Some(("ORC", 9)),
    },
    DataType {
        code: "OMG-11",
        name: "放射線検査実施通知",
        message_types: &["OMI^Z23"],
        care_date: Some(("OBR", 7)),
    },
    DataType {
        code: "OMG-12",
        name: "内視鏡検査実施通知",
        message_types: &["OMI^Z23"],
        care_date: Some(("OBR", 7)),
    },
    DataType {
        code: "OMG-13",
        name: "生理検査結果通知",
        message_types: &["ORU^R01"],
        care_date: Some(("OBR", 7)),
    },
];

/// Looks up a data type by its code.
pub fn data_type(code: &str) -> Option<&'static DataType> {
    DATA_TYPES.iter().find(|d| d.code == code)
}

/// The care-date field of a message type (for files outside a storage tree).
pub fn care_date_field(message_type: &str) -> Option<(&'static str, u32)> {
    DATA_TYPES
        .iter()
        .find(|d| d.message_types.contains(&message_type))
        .and_then(|d| d.care_date)
}

/// コンディションフラグ: the seventh part of a file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConditionFlag {
    /// `0`: deleted.
    Deleted,
    /// `1`: current.
    Current,
    /// `2`: superseded by a newer file.
    Superseded,
}

impl ConditionFlag {
    /// The flag as written in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionFlag::Deleted => "0",
            ConditionFlag::Current => "1",
            ConditionFlag::Superseded => "2",
        }
    }
}

/// A parsed SS-MIX2 file name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileName {
    /// 患者ID.
    pub patient_id: String,
    /// 診療日 `YYYYMMDD`, `None` for `-`.
    pub care_date: Option<String>,
    /// データ種別, e.g. `OMP-01`.
    pub data_type: String,
    /// オーダNo (15 digits; `999999999999999` when not order-based).
    pub order_no: String,
    /// 発生日時 `YYYYMMDDHHMMSSfff`.
    pub written_at: String,
    /// 診療科コード, `None` for `-`.
    pub department: Option<String>,
    /// コンディションフラグ.
    pub condition: ConditionFlag,
}

impl FileName {
    /// Parses a file name; problems become diagnostics (errors when the name cannot
    /// be read at all).
    pub fn parse(name: &str, diags: &mut Diagnostics) -> Option<FileName> {
        let parts: Vec<&str> = name.split('_').collect();
        if parts.len() != 7 {
            diags.push(
                Diagnostic::new(
                    &codes::BAD_FILE_NAME,
                    format!(
                        "file name has {} '_'-separated parts; SS-MIX2 names have 7",
                        parts.len()
                    ),
                )
                .excerpt(Excerpt::text(name)),
            );
            return None;
        }
        let condition = match parts[6] {
            "0" => ConditionFlag::Deleted,
            "1" => ConditionFlag::Current,
            "2" => ConditionFlag::Superseded,
            other => {
                diags.push(
                    Diagnostic::new(&codes::BAD_FILE_NAME, "condition flag must be 0, 1 or 2")
                        .excerpt(Excerpt::text(other)),
                );
                return None;
            }
        };
        let dash = |s: &str| (s != "-").then(|| s.to_owned());
        let f = FileName {
            patient_id: parts[0].to_owned(),
            care_date: dash(parts[1]),
            data_type: parts[2].to_owned(),
            order_no: parts[3].to_owned(),
            written_at: parts[4].to_owned(),
            department: dash(parts[5]),
            condition,
        };
        if f.patient_id.is_empty() || f.patient_id.len() > 15 {
            diags.push(
                Diagnostic::new(
                    &codes::FILE_NAME_FIELD,
                    "patient id must have 1 to 15 characters",
                )
                .excerpt(Excerpt::text(&f.patient_id)),
            );
        }
        if let Some(d) = &f.care_date
            && !is_date(d)
        {
            diags.push(
                Diagnostic::new(&codes::FILE_NAME_FIELD, "care date must be YYYYMMDD or '-'")
                    .excerpt(Excerpt::text(d)),
            );
        }
        if data_type(&f.data_type).is_none() {
            diags.push(
                Diagnostic::new(
                    &codes::UNKNOWN_DATA_TYPE,
                    "data type is not an SS-MIX2 data type",
                )
                .excerpt(Excerpt::text(&f.data_type)),
            );
        }
        if !(f.order_no.len() == 15 && f.order_no.bytes().all(|b| b.is_ascii_digit())) {
            diags.push(
                Diagnostic::new(
                    &codes::ORDER_NO_SHAPE,
                    format!(
                        "order number has {} characters; SS-MIX2 writes 15 digits",
                        f.order_no.chars().count()
                    ),
                )
                .excerpt(Excerpt::text(&f.order_no)),
            );
        }
        if !(f.written_at.len() == 17
            && f.written_at.bytes().all(|b| b.is_ascii_digit())
            && is_date(f.written_at.get(..8).unwrap_or_default()))
        {
            diags.push(
                Diagnostic::new(
                    &codes::FILE_NAME_FIELD,
                    "written-at (発生日時) must be YYYYMMDDHHMMSSfff",
                )
                .excerpt(Excerpt::text(&f.written_at)),
            );
        }
        Some(f)
    }
}

/// True for a valid calendar date `YYYYMMDD`.
pub fn is_date(s: &str) -> bool {
    s.len() == 8 && crate::hl7::values::is_dt(s)
}

/// What a path inside a storage root is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathKind {
    /// A standardized-storage message file at the expected depth.
    Message,
    /// A file or folder of 拡張ストレージ (extended storage): recognised, not converted yet.
    Extended,
    /// Anything else (reported, not read).
    Other,
}

/// Classifies a path given as its components relative to the storage root.
///
/// Standardized storage files sit at depth 6:
/// `<id[0:3]>/<id[3:6]>/<id>/<date>/<data type>/<file>`. A data-type folder that is
/// not a standard data type but has the extended-storage shape (`…^…^…` with a
/// document code, or any deeper tree under the date folder) is extended storage.
pub fn classify_path(components: &[&str]) -> PathKind {
    let looks_extended = |folder: &str| folder.contains('^');
    match components {
        [_, _, _, _, dt, _] if data_type(dt).is_some() => PathKind::Message,
        [_, _, _, _, dt, ..] if looks_extended(dt) => PathKind::Extended,
        [_, _, _, _, _, _, _, ..] => PathKind::Extended,
        _ => PathKind::Other,
    }
}

/// Checks the folders of a storage path against its file name.
///
/// `components` are the path parts relative to the storage root (6 for a message
/// file). Disagreements are warnings: the content decides what the message is.
pub fn check_path(components: &[&str], name: &FileName, diags: &mut Diagnostics) {
    let [l1, l2, id, date, dt, _file] = components else {
        diags.push(Diagnostic::new(
            &codes::NOT_IN_STORAGE_TREE,
            format!(
                "file is {} level(s) below the storage root; SS-MIX2 files sit 6 levels down",
                components.len()
            ),
        ));
        return;
    };
    let pid = name.patient_id.as_str();
    let first3 = pid.get(..3.min(pid.len())).unwrap_or_default();
    let next3 = pid
        .get(3.min(pid.len())..6.min(pid.len()))
        .unwrap_or_default();
    let mut mismatch = |what: &str, folder: &str, in_name: &str| {
        diags.push(
            Diagnostic::new(
                &codes::PATH_MISMATCH,
                format!("{what} folder '{folder}' disagrees with the file name ('{in_name}')"),
            )
            .excerpt(Excerpt::text(format!("{folder} / {in_name}"))),
        );
    };
    if *id != pid {
        mismatch("patient", id, pid);
    }
    if *l1 != first3 || *l2 != next3 {
        mismatch(
            "patient-prefix",
            &format!("{l1}/{l2}"),
            &format!("{first3}/{next3}"),
        );
    }
    let name_date = name.care_date.as_deref().unwrap_or("-");
    if *date != name_date {
        mismatch("care-date", date, name_date);
    }
    if *dt != name.data_type {
        mismatch("data-type", dt, &name.data_type);
    }
}

/// One message file read from a storage (or given alone).
#[derive(Debug)]
pub struct MessageFile {
    /// The file name, when it could be read as an SS-MIX2 name.
    pub name: Option<FileName>,
    /// The parsed HL7 content.
    pub hl7: Hl7File,
    /// Diagnostics about the name, the path, and the content (the parser's first).
    pub diagnostics: Diagnostics,
}

/// Reads one message file: file-name and path checks (when `components` is the
/// path relative to a storage root; a lone file passes just its name), HL7 parsing
/// and every SS-MIX2 content check. The caller sets the file of the locations.
pub fn read_file(components: &[&str], bytes: &[u8]) -> MessageFile {
    let mut diags = Diagnostics::default();
    let file_name = components.last().copied().unwrap_or_default();
    // A lone file (or one in a plain folder) need not carry an SS-MIX2 name.
    let name = if components.len() == 1 && file_name.split('_').count() != 7 {
        diags.push(Diagnostic::new(
            &codes::NOT_A_STORAGE_NAME,
            "not an SS-MIX2 file name; checks against the name skipped",
        ));
        None
    } else {
        FileName::parse(file_name, &mut diags)
    };
    if let Some(n) = &name
        && components.len() > 1
    {
        check_path(components, n, &mut diags);
    }
    let hl7 = Hl7File::parse(bytes);
    let mut all = hl7.diagnostics.clone();
    all.extend(diags);
    all.extend(check_message(&hl7, name.as_ref()));
    MessageFile {
        name,
        hl7,
        diagnostics: all,
    }
}

/// Orders the versions of one order (same patient, data type and order number):
/// by 発生日時, oldest first, then by condition flag. Use to pick the newest `_1`
/// and to replay `_2` / `_0` history.
pub fn order_versions(names: &mut [FileName]) {
    names.sort_by(|a, b| {
        (a.written_at.as_str(), a.condition).cmp(&(b.written_at.as_str(), b.condition))
    });
}

#[cfg(test)]
mod tests;
