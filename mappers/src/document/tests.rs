use super::*;

#[test]
fn narrative_escapes_markup_and_keeps_lines() {
    let n = narrative("a < b & c\n2行目");
    assert_eq!(
        n.div.value,
        "<div xmlns=\"http://www.w3.org/1999/xhtml\">a &lt; b &amp; c<br/>2行目</div>"
    );
    assert_eq!(n.status.value.as_deref(), Some("additional"));
}

#[test]
fn base64_matches_rfc4648_vectors() {
    for (i, o) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(i.as_bytes()), o);
    }
}

#[test]
fn instants_are_normalised_or_refused() {
    use request::normalise_instant as n;
    assert_eq!(
        n("2026-11-20T10:30", "+09:00").as_deref(),
        Some("2026-11-20T10:30:00+09:00")
    );
    assert_eq!(
        n("2026-11-20 10:30:05Z", "+09:00").as_deref(),
        Some("2026-11-20T10:30:05Z")
    );
    assert_eq!(
        n("2026-11-20T10:30:05.120+09:00", "+00:00").as_deref(),
        Some("2026-11-20T10:30:05.120+09:00")
    );
    assert_eq!(n("2026-11-20", "+09:00"), None);
    assert_eq!(n("2026-13-20T10:30", "+09:00"), None);
    assert_eq!(n("2026-11-20T25:30", "+09:00"), None);
}
