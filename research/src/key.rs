//! The release key and everything derived from it with HMAC-SHA256: pseudonyms
//! (UUID-shaped, version 8), the per-patient date offset and the key's id.
//!
//! Every derivation is `HMAC-SHA256(key, label ‖ 0x00 ‖ part ‖ 0x00 ‖ part …)` with a
//! fixed label per use, so an id and an identifier with the same text never get
//! the same pseudonym, and nothing derived can be recomputed without the key.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The fewest bytes a release key may have.
pub const MIN_KEY_BYTES: usize = 32;

/// A release key (the bytes of the key file). Never printed: no `Debug` of its
/// bytes, no `Display`.
#[derive(Clone)]
pub struct Key(Vec<u8>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key(id {})", self.id())
    }
}

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Fewer than [`MIN_KEY_BYTES`] bytes.
    TooShort(usize),
    /// Fewer than 8 distinct byte values (a placeholder such as all zeros).
    Degenerate,
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::TooShort(n) => write!(
                f,
                "the key file holds {n} bytes; a release key needs at least {MIN_KEY_BYTES} random bytes"
            ),
            KeyError::Degenerate => f.write_str(
                "the key file holds fewer than 8 distinct byte values; it is a placeholder, not a random key",
            ),
        }
    }
}

impl std::error::Error for KeyError {}

impl Key {
    /// The key file's bytes, as they are (a trailing newline is part of the key).
    pub fn from_bytes(bytes: &[u8]) -> Result<Key, KeyError> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort(bytes.len()));
        }
        let mut seen = [false; 256];
        for &b in bytes {
            seen[usize::from(b)] = true;
        }
        if seen.iter().filter(|s| **s).count() < 8 {
            return Err(KeyError::Degenerate);
        }
        Ok(Key(bytes.to_vec()))
    }

    /// HMAC-SHA256 of `label` and `parts`, each followed by a zero byte.
    pub fn mac(&self, label: &str, parts: &[&[u8]]) -> [u8; 32] {
        #[allow(clippy::expect_used)] // HMAC takes keys of any length
        let mut m = HmacSha256::new_from_slice(&self.0).expect("HMAC accepts any key length");
        m.update(b"kakehashi/research/v1/");
        m.update(label.as_bytes());
        m.update(&[0]);
        for p in parts {
            m.update(p);
            m.update(&[0]);
        }
        m.finalize().into_bytes().into()
    }

    /// The key's id: 16 hex digits of HMAC(key, "key-id"). Names the key in the
    /// processing record without revealing it.
    pub fn id(&self) -> String {
        hex(&self.mac("key-id", &[])[..8])
    }

    /// A UUID-shaped pseudonym (version 8, RFC 9562 variant) of `parts` under `label`.
    pub fn uuid(&self, label: &str, parts: &[&[u8]]) -> String {
        let d = self.mac(label, parts);
        let mut u = [0u8; 16];
        u.copy_from_slice(&d[..16]);
        u[6] = (u[6] & 0x0f) | 0x80;
        u[8] = (u[8] & 0x3f) | 0x80;
        fhir::model::id::format(&u)
    }

    /// A date offset in days, ±1..=180, never 0, of `parts` under `label`.
    pub fn offset_days(&self, label: &str, parts: &[&[u8]]) -> i64 {
        let d = self.mac(label, parts);
        let n = i64::from(u16::from_be_bytes([d[0], d[1]]) % 180) + 1;
        if d[2] & 1 == 0 { n } else { -n }
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(H[usize::from(b >> 4)]));
        s.push(char::from(H[usize::from(b & 0x0f)]));
    }
    s
}

/// SHA-256 of `bytes` as 64 hex digits (input and table digests in the record).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&Sha256::digest(bytes))
}
