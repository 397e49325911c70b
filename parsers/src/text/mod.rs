//! Character decoding. Decoded text goes through the shared normalisation of the
//! characters decoders disagree on, [`fold_jis_variants`] (defined in
//! `diagnostics::text`, so every stage uses the same table).

pub mod iso2022jp;

pub use diagnostics::text::{fold_jis_variant, fold_jis_variants};

#[cfg(test)]
mod tests {

    #[test]
    fn folded_forms_round_trip_through_encoding_rs() {
        for c in ["～", "∥", "－", "￠", "￡", "￢"] {
            let (bytes, _, unmappable) = encoding_rs::ISO_2022_JP.encode(c);
            assert!(!unmappable, "{c} must encode");
            let (back, _, bad) = encoding_rs::ISO_2022_JP.decode(&bytes);
            assert!(!bad);
            assert_eq!(back, c);
        }
    }
}
