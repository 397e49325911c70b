//! Ids derived from input, never random: name-based UUIDs (version 5, RFC 9562
//! §5.5, SHA-1) in kakehashi's own namespace, written as `urn:uuid:` fullUrls.
//!
//! The name is built from parts, each prefixed by its length, so
//! `["ab", "c"]` and `["a", "bc"]` never collide. Use a stable kind first
//! (`"Patient"`), then the input's own keys (facility, patient id, order number…):
//! the same input always gives the same id, on any machine, and anyone can
//! recompute it with a standard UUID v5 implementation.
//!
//! ```
//! let a = fhir::model::id::urn_uuid(&[b"Patient", b"1234567890", b"00012345"]);
//! assert!(a.starts_with("urn:uuid:"));
//! assert_eq!(a, fhir::model::id::urn_uuid(&[b"Patient", b"1234567890", b"00012345"]));
//! ```

/// kakehashi's UUID namespace: the version-5 UUID of the name `kakehashi` in the
/// RFC 9562 URL namespace (`6ba7b811-9dad-11d1-80b4-00c04fd430c8`), i.e.
/// `uuid5(NAMESPACE_URL, "kakehashi")` =
/// `7b51251c-406b-548b-b765-450859d25b14`; a test recomputes it.
pub const NAMESPACE: [u8; 16] = [
    0x7b, 0x51, 0x25, 0x1c, 0x40, 0x6b, 0x54, 0x8b, 0xb7, 0x65, 0x45, 0x08, 0x59, 0xd2, 0x5b, 0x14,
];

/// The RFC 9562 URL namespace.
pub const NAMESPACE_URL: [u8; 16] = [
    0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
];

/// A version-5 UUID of `name` in `namespace` (RFC 9562 §5.5).
pub fn uuid_v5(namespace: &[u8; 16], name: &[u8]) -> [u8; 16] {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    h.update(namespace);
    h.update(name);
    let digest = h.finalize();
    let mut u = [0u8; 16];
    u.copy_from_slice(&digest[..16]);
    u[6] = (u[6] & 0x0f) | 0x50;
    u[8] = (u[8] & 0x3f) | 0x80;
    u
}

/// The SHA-1 digest of `bytes` as 40 lower-case hex digits (content hashes:
/// the ledger compares them to tell a changed unit from an unchanged one).
pub fn sha1_hex(bytes: &[u8]) -> String {
    use sha1::Digest;
    let digest = sha1::Sha1::digest(bytes);
    let mut s = String::with_capacity(40);
    for b in digest.iter() {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// The canonical lower-case `8-4-4-4-12` text of a UUID.
pub fn format(u: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The name bytes of `parts`: each part as its length (u64, big-endian) then
/// its bytes.
pub fn name_of(parts: &[&[u8]]) -> Vec<u8> {
    let mut name = Vec::with_capacity(parts.iter().map(|p| p.len() + 8).sum());
    for p in parts {
        name.extend_from_slice(&(p.len() as u64).to_be_bytes());
        name.extend_from_slice(p);
    }
    name
}

/// The id (`8-4-4-4-12`) of `parts` in kakehashi's namespace; usable as a
/// resource id.
pub fn uuid(parts: &[&[u8]]) -> String {
    format(&uuid_v5(&NAMESPACE, &name_of(parts)))
}

/// The `urn:uuid:` fullUrl of `parts` in kakehashi's namespace.
pub fn urn_uuid(parts: &[&[u8]]) -> String {
    format!("urn:uuid:{}", uuid(parts))
}
