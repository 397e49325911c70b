//! Markdown and JSON output of a [`PackageDiff`].

use super::{
    Change, ElementChange, ElementChangeKind, Invariant, PackageDiff, PackageFacts, Presence,
    ProfileDiff, TerminologyDiff,
};
use crate::conformance::{Binding, Slicing, TypeRef};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Longest FHIRPath expression shown in full in Markdown (JSON is never shortened).
const MD_EXPRESSION: usize = 160;
/// Longest invariant description shown in full in Markdown.
const MD_HUMAN: usize = 100;
/// Codes listed per terminology change in Markdown before `… N more`.
const MD_CODES: usize = 12;

fn chars_len(s: &str) -> usize {
    s.chars().count()
}

/// `s` cut to `n` characters, with `…` when cut.
fn shorten(s: &str, n: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if chars_len(&flat) <= n {
        return flat;
    }
    let mut out: String = flat.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Inline code, with a longer fence when the text holds a backtick.
fn code(s: &str) -> String {
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

/// The last segment of a canonical URL (`…/JP_Patient|1.0` → `JP_Patient|1.0`).
fn short_url(u: &str) -> &str {
    u.trim_end_matches('/').rsplit('/').next().unwrap_or(u)
}

/// Old and new text with their common start and end replaced by `…` (keeping
/// some context), when both are long.
fn elide_common(old: &str, new: &str, limit: usize) -> (String, String) {
    let (a, b): (Vec<char>, Vec<char>) = (old.chars().collect(), new.chars().collect());
    if a.len() <= limit && b.len() <= limit {
        return (old.to_owned(), new.to_owned());
    }
    const CONTEXT: usize = 30;
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let max_suffix = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    let cut = |v: &[char]| -> String {
        let start = prefix.saturating_sub(CONTEXT);
        let end = (v.len() - suffix + CONTEXT).min(v.len());
        let mut s = String::new();
        if start > 0 {
            s.push('…');
        }
        let middle: String = v.iter().take(end).skip(start).collect();
        s.push_str(&shorten(&middle, limit));
        if end < v.len() {
            s.push('…');
        }
        s
    };
    (cut(&a), cut(&b))
}

fn type_text(t: &TypeRef) -> String {
    let code = t.code.rsplit('.').next().unwrap_or(&t.code);
    let code = if t.code.starts_with("http://hl7.org/fhirpath/") {
        code
    } else {
        &t.code
    };
    let mut s = code.to_owned();
    // Last URL segments, or whole URLs where two segments coincide.
    let list = |v: &[String]| {
        let shorts: Vec<&str> = v.iter().map(|u| short_url(u)).collect();
        let ambiguous = shorts.iter().collect::<BTreeSet<_>>().len() < shorts.len();
        let shown: Vec<&str> = if ambiguous {
            v.iter().map(String::as_str).collect()
        } else {
            shorts
        };
        shown.join("|")
    };
    if !t.target_profiles.is_empty() {
        let _ = write!(s, "({})", list(&t.target_profiles));
    }
    if !t.profiles.is_empty() {
        let _ = write!(s, "<{}>", list(&t.profiles));
    }
    s
}

fn types_text(ts: &[TypeRef]) -> String {
    if ts.is_empty() {
        return "(none)".into();
    }
    ts.iter().map(type_text).collect::<Vec<_>>().join(", ")
}

fn value_text(v: &Option<(String, Value)>, prefix: &str) -> String {
    match v {
        Some((ty, val)) => format!("{prefix}{ty} {}", code(&val.to_string())),
        None => "(none)".into(),
    }
}

fn binding_text(b: &Option<Binding>) -> String {
    match b {
        Some(b) => format!("{} {}", b.strength, code(&b.value_set)),
        None => "(none)".into(),
    }
}

fn slicing_text(s: &Option<Slicing>) -> String {
    match s {
        Some(s) => {
            let d = s
                .discriminators
                .iter()
                .map(|(t, p)| format!("{t}:{p}"))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "by {}, {}, {}",
                if d.is_empty() { "(none)".into() } else { d },
                if s.rules.is_empty() { "?" } else { &s.rules },
                if s.ordered { "ordered" } else { "unordered" }
            )
        }
        None => "(none)".into(),
    }
}

fn invariant_text(i: &Invariant, what: &str) -> String {
    let mut s = format!(
        "invariant {} {what} ({})",
        code(&i.key),
        if i.severity.is_empty() {
            "?"
        } else {
            &i.severity
        }
    );
    if !i.human.is_empty() {
        let _ = write!(s, ": {}", shorten(&i.human, MD_HUMAN));
    }
    if !i.expression.is_empty() {
        let _ = write!(s, " — {}", code(&shorten(&i.expression, MD_EXPRESSION)));
    }
    s
}

/// One Markdown phrase for one change (without the element).
fn change_text(k: &ElementChangeKind) -> String {
    use ElementChangeKind as K;
    match k {
        K::Added { cardinality, types } => {
            format!("added {cardinality} {}", types_text(types))
        }
        K::Removed { cardinality } => format!("removed (was {cardinality})"),
        K::Cardinality(c) => format!("{} → {}", c.old, c.new),
        K::Types(c) => format!("type {} → {}", types_text(&c.old), types_text(&c.new)),
        K::Fixed(c) => match (&c.old, &c.new) {
            (None, _) => format!("{} added", value_text(&c.new, "fixed")),
            (_, None) => format!("{} removed", value_text(&c.old, "fixed")),
            (Some((a, x)), Some((b, y))) if a == b => {
                format!(
                    "fixed{a} {} → {}",
                    code(&x.to_string()),
                    code(&y.to_string())
                )
            }
            _ => format!(
                "{} → {}",
                value_text(&c.old, "fixed"),
                value_text(&c.new, "fixed")
            ),
        },
        K::Pattern(c) => match (&c.old, &c.new) {
            (None, _) => format!("{} added", value_text(&c.new, "pattern")),
            (_, None) => format!("{} removed", value_text(&c.old, "pattern")),
            (Some((a, x)), Some((b, y))) if a == b => {
                format!(
                    "pattern{a} {} → {}",
                    code(&x.to_string()),
                    code(&y.to_string())
                )
            }
            _ => format!(
                "{} → {}",
                value_text(&c.old, "pattern"),
                value_text(&c.new, "pattern")
            ),
        },
        K::Binding(c) => match (&c.old, &c.new) {
            (None, _) => format!("binding added: {}", binding_text(&c.new)),
            (_, None) => format!("binding removed (was {})", binding_text(&c.old)),
            (Some(a), Some(b)) if a.value_set == b.value_set => format!(
                "binding {} → {} ({})",
                a.strength,
                b.strength,
                code(&a.value_set)
            ),
            _ => format!(
                "binding {} → {}",
                binding_text(&c.old),
                binding_text(&c.new)
            ),
        },
        K::Slicing(c) => format!(
            "slicing {} → {}",
            slicing_text(&c.old),
            slicing_text(&c.new)
        ),
        K::MustSupport(c) => {
            if c.new {
                "mustSupport added".into()
            } else {
                "mustSupport removed".into()
            }
        }
        K::InvariantAdded(i) => invariant_text(i, "added"),
        K::InvariantRemoved(i) => invariant_text(i, "removed"),
        K::InvariantChanged {
            key,
            severity,
            expression,
        } => {
            let mut parts = Vec::new();
            if severity.differs() {
                parts.push(format!("severity {} → {}", severity.old, severity.new));
            }
            if expression.differs() {
                let (a, b) = elide_common(&expression.old, &expression.new, MD_EXPRESSION);
                parts.push(format!("expression {} → {}", code(&a), code(&b)));
            }
            format!("invariant {} changed: {}", code(key), parts.join("; "))
        }
    }
}

fn list_codes(codes: &[String]) -> String {
    let mut s = codes
        .iter()
        .take(MD_CODES)
        .map(|c| code(c))
        .collect::<Vec<_>>()
        .join(", ");
    if codes.len() > MD_CODES {
        let _ = write!(s, ", … {} more", codes.len() - MD_CODES);
    }
    s
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("(none)")
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "(none)" } else { s }
}

fn invariant_json(i: &Invariant) -> Value {
    json!({"key": i.key, "severity": i.severity, "human": i.human, "expression": i.expression})
}

fn types_json(ts: &[TypeRef]) -> Value {
    Value::Array(
        ts.iter()
            .map(|t| {
                let mut m = Map::new();
                m.insert("code".into(), json!(t.code));
                if !t.profiles.is_empty() {
                    m.insert("profile".into(), json!(t.profiles));
                }
                if !t.target_profiles.is_empty() {
                    m.insert("targetProfile".into(), json!(t.target_profiles));
                }
                Value::Object(m)
            })
            .collect(),
    )
}

fn choice_json(v: &Option<(String, Value)>) -> Value {
    match v {
        Some((ty, val)) => json!({"type": ty, "value": val}),
        None => Value::Null,
    }
}

fn binding_json(b: &Option<Binding>) -> Value {
    match b {
        Some(b) => json!({"strength": b.strength, "valueSet": b.value_set}),
        None => Value::Null,
    }
}

fn slicing_json(s: &Option<Slicing>) -> Value {
    match s {
        Some(s) => json!({
            "discriminator": s.discriminators.iter()
                .map(|(t, p)| json!({"type": t, "path": p}))
                .collect::<Vec<_>>(),
            "rules": s.rules,
            "ordered": s.ordered,
        }),
        None => Value::Null,
    }
}

fn change_json(c: &ElementChange) -> Value {
    use ElementChangeKind as K;
    let mut m = Map::new();
    m.insert("element".into(), json!(c.element));
    m.insert("change".into(), json!(c.kind.name()));
    let mut pair = |old: Value, new: Value| {
        m.insert("old".into(), old);
        m.insert("new".into(), new);
    };
    match &c.kind {
        K::Added { cardinality, types } => {
            pair(
                Value::Null,
                json!({"cardinality": cardinality, "type": types_json(types)}),
            );
        }
        K::Removed { cardinality } => pair(json!({"cardinality": cardinality}), Value::Null),
        K::Cardinality(x) => pair(json!(x.old), json!(x.new)),
        K::Types(x) => pair(types_json(&x.old), types_json(&x.new)),
        K::Fixed(x) | K::Pattern(x) => pair(choice_json(&x.old), choice_json(&x.new)),
        K::Binding(x) => pair(binding_json(&x.old), binding_json(&x.new)),
        K::Slicing(x) => pair(slicing_json(&x.old), slicing_json(&x.new)),
        K::MustSupport(x) => pair(json!(x.old), json!(x.new)),
        K::InvariantAdded(i) => pair(Value::Null, invariant_json(i)),
        K::InvariantRemoved(i) => pair(invariant_json(i), Value::Null),
        K::InvariantChanged {
            key,
            severity,
            expression,
        } => pair(
            json!({"key": key, "severity": severity.old, "expression": expression.old}),
            json!({"key": key, "severity": severity.new, "expression": expression.new}),
        ),
    }
    if let Some(b) = &c.inherited_from {
        m.insert("inheritedFrom".into(), json!(b));
    }
    Value::Object(m)
}

fn facts_json(f: &PackageFacts) -> Value {
    json!({
        "name": f.name,
        "version": f.version,
        "dependencies": f.dependencies,
        "igVersion": f.ig_version,
        "igDependsOn": f.ig_depends_on,
        "resources": f.resources,
    })
}

fn change_pair(c: &Change<String>) -> Value {
    json!({"old": c.old, "new": c.new})
}

impl PackageDiff {
    /// True when nothing reportable changed (notes and documentation-only
    /// changes do not count).
    pub fn is_empty(&self) -> bool {
        self.package.is_empty()
            && self.profiles.is_empty()
            && self.terminology.is_empty()
            && self.others.is_empty()
    }

    /// The diff as JSON: nothing shortened, same input → same bytes.
    pub fn to_json(&self) -> Value {
        let profiles: Vec<Value> = self
            .profiles
            .iter()
            .map(|p| {
                let mut m = Map::new();
                m.insert("url".into(), json!(p.url));
                m.insert("name".into(), json!(p.name));
                m.insert("type".into(), json!(p.type_name));
                m.insert("change".into(), json!(p.presence.as_str()));
                m.insert("version".into(), change_pair(&p.version));
                m.insert("baseDefinition".into(), change_pair(&p.base_definition));
                m.insert("status".into(), change_pair(&p.status));
                m.insert(
                    "elements".into(),
                    Value::Array(p.elements.iter().map(change_json).collect()),
                );
                m.insert(
                    "documentationChanges".into(),
                    json!(p.documentation_changes),
                );
                m.insert("snapshotOnly".into(), json!(p.snapshot_only));
                if p.differential_only {
                    m.insert("differentialOnly".into(), json!(true));
                }
                Value::Object(m)
            })
            .collect();
        let terminology: Vec<Value> = self
            .terminology
            .iter()
            .map(|t| {
                json!({
                    "resourceType": t.resource_type,
                    "url": t.url,
                    "name": t.name,
                    "change": t.presence.as_str(),
                    "version": change_pair(&t.version),
                    "conceptsAdded": t.concepts_added,
                    "conceptsRemoved": t.concepts_removed,
                    "composeAdded": t.compose_added,
                    "composeRemoved": t.compose_removed,
                })
            })
            .collect();
        let others: Map<String, Value> = self
            .others
            .iter()
            .map(|(ty, d)| {
                (
                    ty.clone(),
                    json!({"added": d.added, "removed": d.removed, "changed": d.changed}),
                )
            })
            .collect();
        let counts: Map<String, Value> = self
            .counts
            .iter()
            .map(|(ty, c)| {
                (
                    ty.clone(),
                    json!({"old": c.old, "new": c.new, "added": c.added, "removed": c.removed,
                           "changed": c.changed, "unchanged": c.unchanged}),
                )
            })
            .collect();
        json!({
            "old": facts_json(&self.old),
            "new": facts_json(&self.new),
            "package": self.package.iter()
                .map(|c| json!({"subject": c.subject, "old": c.change.old, "new": c.change.new}))
                .collect::<Vec<_>>(),
            "counts": counts,
            "structureDefinitions": profiles,
            "documentationOnly": self.documentation_only,
            "terminology": terminology,
            "others": others,
            "notes": self.notes,
        })
    }

    /// The diff as Markdown to commit as documentation: a summary table, the
    /// package changes, the profiles added, removed and changed only in version,
    /// one section per profile with other changes, then terminology and other
    /// resources.
    ///
    /// Within a section each element has one line; a new slice's children share
    /// the slice's line; elements with exactly the same changes share one line;
    /// changes inherited from a base profile of the package are counted, not
    /// repeated. Long FHIRPath expressions and invariant descriptions are
    /// shortened (a changed expression around the part that changed), as are
    /// long code lists: [`PackageDiff::to_json`] has everything in full.
    pub fn render_markdown(&self) -> String {
        let mut s = String::new();
        let label = |f: &PackageFacts| format!("{} {}", or_none(&f.name), or_none(&f.version));
        let _ = writeln!(
            s,
            "# Package diff: {} → {}",
            label(&self.old),
            label(&self.new)
        );
        if self.is_empty() {
            s.push_str("\nNo differences.\n");
        }
        self.md_summary(&mut s);
        if !self.package.is_empty() {
            s.push_str("\n## Package\n\n");
            for c in &self.package {
                let _ = writeln!(
                    s,
                    "- {}: {} → {}",
                    c.subject,
                    opt(&c.change.old),
                    opt(&c.change.new)
                );
            }
        }
        self.md_profiles(&mut s);
        self.md_terminology(&mut s);
        if !self.others.is_empty() {
            s.push_str("\n## Other resources\n\n");
            for (ty, d) in &self.others {
                for (what, list) in [
                    ("added", &d.added),
                    ("removed", &d.removed),
                    ("changed", &d.changed),
                ] {
                    if !list.is_empty() {
                        let _ = writeln!(s, "- {ty} {what} ({}): {}", list.len(), list_codes(list));
                    }
                }
            }
        }
        if !self.notes.is_empty() {
            s.push_str("\n## Notes\n\n");
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s
    }

    fn md_summary(&self, s: &mut String) {
        if self.counts.is_empty() {
            return;
        }
        s.push_str("\n## Summary\n\n");
        s.push_str("| resource type | old | new | added | removed | changed | unchanged |\n");
        s.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
        for (ty, c) in &self.counts {
            let _ = writeln!(
                s,
                "| {ty} | {} | {} | {} | {} | {} | {} |",
                c.old, c.new, c.added, c.removed, c.changed, c.unchanged
            );
        }
        let terms_version_only = self.terminology.iter().filter(|t| t.version_only()).count();
        let profiles_version_only = self.profiles.iter().filter(|p| p.version_only()).count();
        if profiles_version_only + terms_version_only > 0 {
            let _ = writeln!(
                s,
                "\nOf the changed resources, {profiles_version_only} StructureDefinitions and \
                 {terms_version_only} ValueSets/CodeSystems changed only their version."
            );
        }
        if !self.documentation_only.is_empty() {
            let _ = writeln!(
                s,
                "{} StructureDefinitions changed only in documentation text (counted as unchanged).",
                self.documentation_only.len()
            );
        }
    }

    fn md_profiles(&self, s: &mut String) {
        let added: Vec<&ProfileDiff> = self
            .profiles
            .iter()
            .filter(|p| p.presence == Presence::Added)
            .collect();
        let removed: Vec<&ProfileDiff> = self
            .profiles
            .iter()
            .filter(|p| p.presence == Presence::Removed)
            .collect();
        if added.is_empty() && removed.is_empty() && self.profiles.is_empty() {
            return;
        }
        s.push_str("\n## StructureDefinitions\n");
        for (title, list) in [("Added", &added), ("Removed", &removed)] {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(s, "\n### {title}\n");
            for p in list.iter() {
                let version = if p.presence == Presence::Added {
                    &p.version.new
                } else {
                    &p.version.old
                };
                let base = if p.presence == Presence::Added {
                    &p.base_definition.new
                } else {
                    &p.base_definition.old
                };
                let _ = writeln!(
                    s,
                    "- {} ({}, version {}, based on {}) {}",
                    p.name,
                    or_none(&p.type_name),
                    or_none(version),
                    short_url(or_none(base)),
                    code(&p.url)
                );
            }
        }
        // Version-only changes, grouped by (old, new).
        let mut version_only: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
        for p in self.profiles.iter().filter(|p| p.version_only()) {
            version_only
                .entry((&p.version.old, &p.version.new))
                .or_default()
                .push(&p.name);
        }
        if !version_only.is_empty() {
            s.push_str("\n### Changed only in version\n\n");
            for ((a, b), names) in &version_only {
                let mut names = names.clone();
                names.sort_unstable();
                let _ = writeln!(
                    s,
                    "- {} → {} ({}): {}",
                    or_none(a),
                    or_none(b),
                    names.len(),
                    names.join(", ")
                );
            }
        }
        for p in self
            .profiles
            .iter()
            .filter(|p| p.presence == Presence::Changed && !p.version_only())
        {
            md_profile(s, p);
        }
    }

    fn md_terminology(&self, s: &mut String) {
        if self.terminology.is_empty() {
            return;
        }
        s.push_str("\n## ValueSets and CodeSystems\n");
        for (title, presence) in [("Added", Presence::Added), ("Removed", Presence::Removed)] {
            let list: Vec<&TerminologyDiff> = self
                .terminology
                .iter()
                .filter(|t| t.presence == presence)
                .collect();
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(s, "\n### {title} ({})\n", list.len());
            for t in list {
                let v = if presence == Presence::Added {
                    &t.version.new
                } else {
                    &t.version.old
                };
                let _ = writeln!(
                    s,
                    "- {} {} (version {})",
                    t.resource_type,
                    code(&t.url),
                    or_none(v)
                );
            }
        }
        let changed: Vec<&TerminologyDiff> = self
            .terminology
            .iter()
            .filter(|t| t.presence == Presence::Changed && t.content_changed())
            .collect();
        if !changed.is_empty() {
            let _ = writeln!(s, "\n### Changed content ({})\n", changed.len());
            for t in changed {
                let mut parts = Vec::new();
                if t.version.differs() {
                    parts.push(format!(
                        "version {} → {}",
                        or_none(&t.version.old),
                        or_none(&t.version.new)
                    ));
                }
                for (what, list) in [
                    ("codes added", &t.concepts_added),
                    ("codes removed", &t.concepts_removed),
                    ("compose entries added", &t.compose_added),
                    ("compose entries removed", &t.compose_removed),
                ] {
                    if !list.is_empty() {
                        parts.push(format!("{what} ({}): {}", list.len(), list_codes(list)));
                    }
                }
                let _ = writeln!(
                    s,
                    "- {} {}: {}",
                    t.resource_type,
                    code(&t.url),
                    parts.join("; ")
                );
            }
        }
        let mut version_only: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
        for t in self.terminology.iter().filter(|t| t.version_only()) {
            *version_only
                .entry((&t.resource_type, &t.version.old, &t.version.new))
                .or_default() += 1;
        }
        if !version_only.is_empty() {
            s.push_str("\n### Changed only in version\n\n");
            for ((ty, a, b), n) in version_only {
                let _ = writeln!(s, "- {n} {ty}: {} → {}", or_none(a), or_none(b));
            }
        }
    }
}

/// One phrase for an element inside a new slice: what it is, not how it differs
/// from the unconstrained element.
fn state_text(k: &ElementChangeKind) -> String {
    use ElementChangeKind as K;
    match k {
        K::Added { cardinality, types } => format!("slice {cardinality} {}", types_text(types)),
        K::Cardinality(c) => c.new.clone(),
        K::Types(c) => types_text(&c.new),
        K::Fixed(c) => value_text(&c.new, "fixed"),
        K::Pattern(c) => value_text(&c.new, "pattern"),
        K::Binding(c) => format!("binding {}", binding_text(&c.new)),
        K::Slicing(c) => format!("sliced {}", slicing_text(&c.new)),
        K::MustSupport(c) if c.new => "mustSupport".into(),
        K::InvariantAdded(i) => invariant_text(i, "added"),
        _ => change_text(k),
    }
}

fn is_invariant(k: &ElementChangeKind) -> bool {
    matches!(
        k,
        ElementChangeKind::InvariantAdded(_)
            | ElementChangeKind::InvariantRemoved(_)
            | ElementChangeKind::InvariantChanged { .. }
    )
}

/// One Markdown line under construction: an element and its phrases, plus the
/// elements folded into it (children of a new slice) with theirs.
struct Line<'a> {
    element: &'a str,
    parts: Vec<String>,
    children: Vec<(&'a str, Vec<String>)>,
    /// An invariant's line: nothing is appended to it.
    closed: bool,
}

impl Line<'_> {
    fn text(&self) -> String {
        let mut t = self.parts.join("; ");
        if !self.children.is_empty() {
            let kids: Vec<String> = self
                .children
                .iter()
                .map(|(rel, parts)| format!("{} {}", code(rel), parts.join(", ")))
                .collect();
            let _ = write!(t, " — {}", kids.join("; "));
        }
        t
    }
}

/// One section for a changed profile.
fn md_profile(s: &mut String, p: &ProfileDiff) {
    let _ = writeln!(s, "\n### {} ({})\n", p.name, or_none(&p.type_name));
    let mut header = code(&p.url);
    if p.version.differs() {
        let _ = write!(
            header,
            " · version {} → {}",
            or_none(&p.version.old),
            or_none(&p.version.new)
        );
    }
    let _ = writeln!(s, "{header}\n");
    for (what, c) in [
        ("baseDefinition", &p.base_definition),
        ("status", &p.status),
    ] {
        if c.differs() {
            let _ = writeln!(s, "- {what}: {} → {}", or_none(&c.old), or_none(&c.new));
        }
    }
    let own: Vec<&ElementChange> = p
        .elements
        .iter()
        .filter(|c| c.inherited_from.is_none())
        .collect();
    // New slices: their children are folded into the slice's line.
    let new_slices: Vec<&str> = own
        .iter()
        .filter(|c| matches!(c.kind, ElementChangeKind::Added { .. }))
        .map(|c| c.element.as_str())
        .collect();
    let owner = |el: &str| -> Option<&str> {
        new_slices.iter().copied().find(|s| {
            el.strip_prefix(s)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with(':'))
        })
    };
    // One line per element (its changes joined), invariants on lines of their own.
    let mut lines: Vec<Line> = Vec::new();
    let mut slice_line: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &own {
        if let Some(o) = owner(&c.element)
            && let Some(line) = slice_line.get(o).and_then(|&i| lines.get_mut(i))
        {
            let rel = c.element.strip_prefix(o).unwrap_or(&c.element);
            let rel = rel.strip_prefix('.').unwrap_or(rel);
            let phrase = state_text(&c.kind);
            match line.children.last_mut() {
                Some((r, parts)) if *r == rel => parts.push(phrase),
                _ => line.children.push((rel, vec![phrase])),
            }
            continue;
        }
        let text = change_text(&c.kind);
        let invariant = is_invariant(&c.kind);
        match lines.last_mut() {
            Some(l) if !invariant && !l.closed && l.element == c.element => l.parts.push(text),
            _ => {
                if matches!(c.kind, ElementChangeKind::Added { .. }) {
                    slice_line.insert(&c.element, lines.len());
                }
                lines.push(Line {
                    element: &c.element,
                    parts: vec![text],
                    children: Vec::new(),
                    closed: invariant,
                });
            }
        }
    }
    let lines: Vec<(&str, String)> = lines.iter().map(|l| (l.element, l.text())).collect();
    // Identical changes on many elements (say, mustSupport removed from every
    // child of a slice) are listed once.
    let mut by_text: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (el, text) in &lines {
        by_text.entry(text).or_default().push(el);
    }
    let mut grouped_done: BTreeSet<&str> = BTreeSet::new();
    for (el, text) in &lines {
        let els = by_text.get(text.as_str()).map_or(&[][..], |v| v.as_slice());
        if els.len() > 1 {
            if !grouped_done.insert(text) {
                continue;
            }
            if els.len() < GROUP_AT {
                let list = els.iter().map(|e| code(e)).collect::<Vec<_>>().join(", ");
                let _ = writeln!(s, "- {list}: {text}");
            } else {
                let shown = els
                    .iter()
                    .take(MD_CODES)
                    .map(|e| code(e))
                    .collect::<Vec<_>>()
                    .join(", ");
                let more = if els.len() > MD_CODES {
                    format!(", … {} more", els.len() - MD_CODES)
                } else {
                    String::new()
                };
                let _ = writeln!(s, "- {} elements: {text} — {shown}{more}", els.len());
            }
        } else {
            let _ = writeln!(s, "- {}: {text}", code(el));
        }
    }
    let mut inherited: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &p.elements {
        if let Some(b) = &c.inherited_from {
            *inherited.entry(b).or_default() += 1;
        }
    }
    for (b, n) in inherited {
        let _ = writeln!(
            s,
            "- {n} change(s) inherited from {} (listed there)",
            short_url(b)
        );
    }
    let mut tail = Vec::new();
    if p.documentation_changes > 0 {
        tail.push(format!(
            "{} element(s) with documentation-only changes",
            p.documentation_changes
        ));
    }
    if p.snapshot_only > 0 {
        tail.push(format!(
            "{} element(s) only expanded or collapsed in the snapshot",
            p.snapshot_only
        ));
    }
    if p.differential_only {
        tail.push("compared on differentials (no snapshot)".into());
    }
    if !tail.is_empty() {
        let _ = writeln!(s, "\n_Not listed: {}._", tail.join("; "));
    }
}

/// Elements with exactly the same changes share a line; from this many, the
/// changes come first and the elements after them.
const GROUP_AT: usize = 4;
