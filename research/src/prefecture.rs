//! The 47 prefectures (都道府県), to keep an address's prefecture when only its
//! text is given.

/// The prefectures, in JIS X 0401 order.
pub const PREFECTURES: [&str; 47] = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];

/// The prefecture an address text starts with (after a postal code such as
/// `〒422-8033`, and spaces), if any.
pub fn of(text: &str) -> Option<String> {
    let t = text.trim_start_matches(|c: char| {
        c == '〒'
            || c.is_ascii_digit()
            || c == '-'
            || c.is_whitespace()
            || c == '\u{3000}'
            || ('０'..='９').contains(&c)
            || c == '－'
            || c == 'ー'
    });
    PREFECTURES
        .iter()
        .find(|p| t.starts_with(**p))
        .map(|p| (*p).to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefecture_from_text() {
        assert_eq!(
            super::of("静岡県静岡市登呂１－３－５").as_deref(),
            Some("静岡県")
        );
        assert_eq!(
            super::of("〒100-0001 東京都千代田区").as_deref(),
            Some("東京都")
        );
        assert_eq!(super::of("千代田区").as_deref(), None);
    }
}
