//! Errata and the `--strict` pack: versioned TOML files in the repository
//! (`fhir/errata/`), compiled in.
//!
//! * **Errata** ([`Errata`]): known defects of the pinned JP packages. A finding
//!   caused by a package defect is downgraded only through an entry of the errata
//!   file, and only while that package, at that version, is loaded. Each entry
//!   names the package, the rule (profile + constraint key, or value set), the
//!   evidence (quoted from the package) and the effect.
//! * **Strict pack** ([`StrictPack`]): rules JP-CLINS 1.5.2 defines but does not
//!   attach, evaluated as warnings on resources validated against their profile.

use crate::conformance::Conformance;
use serde::Deserialize;

/// The errata file shipped with the validator.
pub const BUILTIN_ERRATA: &str = include_str!("../errata/jp-1.5.toml");
/// The strict pack shipped with the validator.
pub const BUILTIN_STRICT: &str = include_str!("../errata/strict-jp-clins-1.5.2.toml");

/// What an erratum does to the findings it matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Matching invariant / binding findings become warnings.
    Warning,
    /// Matching invariant / binding findings become information.
    Info,
    /// `codes` of `system` are accepted by the value set (kept as information).
    AllowCodes {
        /// Code system of the accepted codes.
        system: String,
        /// Accepted codes.
        codes: Vec<String>,
    },
    /// The invariant is re-evaluated with `find` replaced by `with`; when it then
    /// holds, the finding is kept as information.
    Replace {
        /// Text in the package's expression.
        find: String,
        /// Its correction.
        with: String,
    },
}

/// One known defect of a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erratum {
    /// Stable id (`JP-E001`).
    pub id: String,
    /// Package name as in its `package.json`.
    pub package: String,
    /// Package version.
    pub version: String,
    /// Canonical URL of the profile whose findings are concerned (any, if absent).
    pub profile: Option<String>,
    /// Invariant key concerned.
    pub constraint: Option<String>,
    /// Value set concerned (required bindings to it).
    pub value_set: Option<String>,
    /// What in the package is wrong, quoted.
    pub evidence: String,
    /// What the validator does about it.
    pub effect: Effect,
}

/// A parsed errata file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Errata {
    /// The file's own version (`errata_version`).
    pub version: String,
    /// What the file covers.
    pub title: String,
    /// Every entry, in file order.
    pub entries: Vec<Erratum>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawErrata {
    errata_version: String,
    title: String,
    #[serde(default)]
    erratum: Vec<RawErratum>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawErratum {
    id: String,
    package: String,
    version: String,
    profile: Option<String>,
    constraint: Option<String>,
    value_set: Option<String>,
    evidence: String,
    effect: String,
    system: Option<String>,
    #[serde(default)]
    codes: Vec<String>,
    find: Option<String>,
    with: Option<String>,
}

/// Why an errata file or a strict pack cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrataError {
    /// The file is not TOML of the expected layout (the parser's message).
    Syntax(String),
    /// An entry's effect has missing or extra fields.
    Effect {
        /// The entry's id.
        id: String,
        /// The effect it names.
        effect: String,
    },
    /// An entry names no rule (constraint or value set).
    NoRule {
        /// The entry's id.
        id: String,
    },
    /// An `allow-codes` entry names no value set.
    AllowCodesWithoutValueSet {
        /// The entry's id.
        id: String,
    },
    /// A `replace` entry names no constraint.
    ReplaceWithoutConstraint {
        /// The entry's id.
        id: String,
    },
    /// An entry quotes no evidence.
    NoEvidence {
        /// The entry's id.
        id: String,
    },
}

impl std::fmt::Display for ErrataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ErrataError::Syntax(e) => write!(f, "{e}"),
            ErrataError::Effect { id, effect } => write!(
                f,
                "erratum {id}: effect '{effect}' with missing or extra fields (warning | info | allow-codes with system and codes | replace with find and with)"
            ),
            ErrataError::NoRule { id } => {
                write!(f, "erratum {id}: names no rule (constraint or value_set)")
            }
            ErrataError::AllowCodesWithoutValueSet { id } => {
                write!(f, "erratum {id}: allow-codes needs value_set")
            }
            ErrataError::ReplaceWithoutConstraint { id } => {
                write!(f, "erratum {id}: replace needs constraint")
            }
            ErrataError::NoEvidence { id } => write!(f, "erratum {id}: no evidence"),
        }
    }
}

impl std::error::Error for ErrataError {}

impl Errata {
    /// Parses an errata file; says which entry is malformed.
    pub fn parse(text: &str) -> Result<Errata, ErrataError> {
        let raw: RawErrata =
            toml::from_str(text).map_err(|e| ErrataError::Syntax(e.to_string()))?;
        let mut entries = Vec::new();
        for r in raw.erratum {
            let effect = match (r.effect.as_str(), r.system, r.find, r.with) {
                ("warning", None, None, None) => Effect::Warning,
                ("info", None, None, None) => Effect::Info,
                ("allow-codes", Some(system), None, None) if !r.codes.is_empty() => {
                    Effect::AllowCodes {
                        system,
                        codes: r.codes,
                    }
                }
                ("replace", None, Some(find), Some(with)) if !find.is_empty() => {
                    Effect::Replace { find, with }
                }
                (e, ..) => {
                    return Err(ErrataError::Effect {
                        id: r.id,
                        effect: e.to_owned(),
                    });
                }
            };
            if r.constraint.is_none() && r.value_set.is_none() {
                return Err(ErrataError::NoRule { id: r.id });
            }
            if matches!(effect, Effect::AllowCodes { .. }) && r.value_set.is_none() {
                return Err(ErrataError::AllowCodesWithoutValueSet { id: r.id });
            }
            if matches!(effect, Effect::Replace { .. }) && r.constraint.is_none() {
                return Err(ErrataError::ReplaceWithoutConstraint { id: r.id });
            }
            if r.evidence.trim().is_empty() {
                return Err(ErrataError::NoEvidence { id: r.id });
            }
            entries.push(Erratum {
                id: r.id,
                package: r.package,
                version: r.version,
                profile: r.profile,
                constraint: r.constraint,
                value_set: r.value_set,
                evidence: r.evidence,
                effect,
            });
        }
        Ok(Errata {
            version: raw.errata_version,
            title: raw.title,
            entries,
        })
    }

    /// The errata file compiled into the validator.
    pub fn builtin() -> Result<Errata, ErrataError> {
        Errata::parse(BUILTIN_ERRATA)
    }

    /// The entries whose package, at their version, is loaded in `conf`.
    pub fn active(&self, conf: &Conformance) -> Vec<Erratum> {
        self.entries
            .iter()
            .filter(|e| {
                conf.packages
                    .iter()
                    .any(|p| p.name == e.package && p.version == e.version)
            })
            .cloned()
            .collect()
    }
}

/// One rule of the strict pack.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrictRule {
    /// Rule id of the IG (`R9016C`).
    pub id: String,
    /// Canonical URL of the profile it belongs to.
    pub profile: String,
    /// The rule in words.
    pub human: String,
    /// FHIRPath, true when the resource complies.
    pub expression: String,
    /// Where the expression comes from (a package file and key, or the rule text).
    pub source: String,
}

/// A parsed strict pack.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrictPack {
    /// The pack's version.
    pub pack_version: String,
    /// What it covers.
    pub title: String,
    /// Its rules.
    #[serde(rename = "rule", default)]
    pub rules: Vec<StrictRule>,
}

impl StrictPack {
    /// Parses a strict-pack file.
    pub fn parse(text: &str) -> Result<StrictPack, ErrataError> {
        toml::from_str(text).map_err(|e| ErrataError::Syntax(e.to_string()))
    }

    /// The pack compiled into the validator.
    pub fn builtin() -> Result<StrictPack, ErrataError> {
        StrictPack::parse(BUILTIN_STRICT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::tests::load_set;
    use crate::fhirpath::Expression;

    #[test]
    fn builtin_files_parse_and_name_real_package_content() {
        let e = Errata::builtin().unwrap();
        assert_eq!(e.version, "1");
        assert!(e.entries.len() >= 3);
        // each entry is active in some set, and its rule exists in the loaded package
        for set in ["clins-1.5.2", "echeckup-1.1.3"] {
            let conf = load_set(set);
            for a in e.active(&conf) {
                if let Some(vs) = &a.value_set {
                    assert!(conf.value_set(vs).is_some(), "{}: {vs}", a.id);
                }
                if let Some(p) = &a.profile {
                    let sd = conf.structure_definition(p).unwrap();
                    if let Some(k) = &a.constraint {
                        let c = sd
                            .elements
                            .iter()
                            .flat_map(|e| &e.constraints)
                            .find(|c| &c.key == k)
                            .unwrap();
                        if let Effect::Replace { find, .. } = &a.effect {
                            assert!(c.expression.contains(find.as_str()), "{}", a.id);
                        }
                    }
                }
            }
        }
        assert_eq!(e.active(&load_set("clins-1.5.2")).len(), 2);
        // JP-CLINS 1.10 fixed what JP-E001 / JP-E004 work around: none is active
        assert!(e.active(&load_set("clins")).is_empty());
        assert_eq!(e.active(&load_set("echeckup-1.1.3")).len(), 2);
        // eCheckupReport 1.5.0 fixed the misspelled system JP-E002 / JP-E003 work around
        assert!(e.active(&load_set("echeckup")).is_empty());
        assert!(e.active(&load_set("edischarge")).is_empty());
    }

    #[test]
    fn malformed_errata_are_refused() {
        let head = "errata_version = \"1\"\ntitle = \"t\"\n[[erratum]]\nid = \"X\"\npackage = \"p\"\nversion = \"1\"\nevidence = \"e\"\n";
        assert!(
            Errata::parse(&format!("{head}constraint = \"k\"\neffect = \"warning\"\n")).is_ok()
        );
        let id = || "X".to_owned();
        assert_eq!(
            Errata::parse(&format!("{head}effect = \"warning\"\n")),
            Err(ErrataError::NoRule { id: id() })
        );
        assert_eq!(
            Errata::parse(&format!("{head}constraint = \"k\"\neffect = \"drop\"\n")),
            Err(ErrataError::Effect {
                id: id(),
                effect: "drop".into()
            })
        );
        assert_eq!(
            Errata::parse(&format!(
                "{head}constraint = \"k\"\neffect = \"allow-codes\"\n"
            )),
            Err(ErrataError::Effect {
                id: id(),
                effect: "allow-codes".into()
            })
        );
        assert!(matches!(
            Errata::parse("title = 1"),
            Err(ErrataError::Syntax(_))
        ));
    }

    #[test]
    fn strict_rules_compile_and_target_loaded_profiles() {
        let p = StrictPack::builtin().unwrap();
        let ids: Vec<&str> = p.rules.iter().map(|r| r.id.as_str()).collect();
        for want in [
            "R6021", "R9016C", "R9016O", "R9017O", "R9018C", "R9019O", "R2011", "R2012", "R2013",
        ] {
            assert!(ids.contains(&want), "{want}");
        }
        let conf = load_set("clins");
        for r in &p.rules {
            let e = Expression::compile(&r.expression);
            assert!(
                e.not_evaluable().is_none(),
                "{}: {:?}",
                r.id,
                e.not_evaluable()
            );
            assert!(conf.structure_definition(&r.profile).is_some(), "{}", r.id);
        }
    }
}
