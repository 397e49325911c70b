//! Text conventions every stage shares: the one normalisation of characters that
//! decoders disagree on.
//!
//! Six JIS X 0208 characters have two Unicode mappings in the wild: the JIS
//! standard table (iconv, Python's `iso2022_jp`) and the CP932 / WHATWG table
//! (Windows, browsers, `encoding_rs`). kakehashi settles on the **CP932 / WHATWG
//! forms**, because that is what `encoding_rs` produces for both ISO-2022-JP and
//! Shift_JIS, and what the JP-CLINS packages themselves use (their text has ～
//! U+FF5E 424 times and 〜 U+301C twice; － U+FF0D 20 times and − U+2212 never).
//! Any decoded text, from any input, goes through [`fold_jis_variants`]:
//!
//! | JIS | JIS-standard form | kakehashi form |
//! |---|---|---|
//! | 0x2141 | 〜 U+301C WAVE DASH | ～ U+FF5E FULLWIDTH TILDE |
//! | 0x2142 | ‖ U+2016 DOUBLE VERTICAL LINE | ∥ U+2225 PARALLEL TO |
//! | 0x215D | − U+2212 MINUS SIGN | － U+FF0D FULLWIDTH HYPHEN-MINUS |
//! | 0x2171 | ¢ U+00A2 CENT SIGN | ￠ U+FFE0 FULLWIDTH CENT SIGN |
//! | 0x2172 | £ U+00A3 POUND SIGN | ￡ U+FFE1 FULLWIDTH POUND SIGN |
//! | 0x224C | ¬ U+00AC NOT SIGN | ￢ U+FFE2 FULLWIDTH NOT SIGN |
//!
//! With this choice every folded character encodes back to its JIS code with
//! `encoding_rs`, so decode → encode round-trips.

use std::borrow::Cow;

/// Maps a JIS-standard variant to the kakehashi (CP932 / WHATWG) form; other
/// characters are returned unchanged.
#[inline]
pub fn fold_jis_variant(c: char) -> char {
    match c {
        '\u{301C}' => '\u{FF5E}',
        '\u{2016}' => '\u{2225}',
        '\u{2212}' => '\u{FF0D}',
        '\u{00A2}' => '\u{FFE0}',
        '\u{00A3}' => '\u{FFE1}',
        '\u{00AC}' => '\u{FFE2}',
        other => other,
    }
}

/// Applies [`fold_jis_variant`] to every character; borrows when nothing changes.
pub fn fold_jis_variants(s: &str) -> Cow<'_, str> {
    if s.chars().all(|c| fold_jis_variant(c) == c) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().map(fold_jis_variant).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_the_six_variants_and_nothing_else() {
        assert_eq!(fold_jis_variants("〜‖−¢£¬"), "～∥－￠￡￢");
        assert!(matches!(
            fold_jis_variants("登呂１－３－５ abc"),
            Cow::Borrowed(_)
        ));
    }
}
