//! The codes labs and exchanges use for SARS-CoV-2 results, once for every
//! feed that reads them (HL7 v2 ELR, FHIR) and every one that writes them.

/// LOINC codes of SARS-CoV-2 tests that define a case (molecular and
/// antigen; antibody tests do not), with the test type recorded.
pub const SARS_COV_2_TESTS: &[(&str, &str)] = &[
    ("94309-2", "SARS-CoV-2 RNA (NAA)"),
    ("94500-6", "SARS-CoV-2 RNA (NAA)"),
    ("94531-1", "SARS-CoV-2 RNA panel (NAA)"),
    ("94533-7", "SARS-CoV-2 N gene (NAA)"),
    ("94534-5", "SARS-CoV-2 RdRp gene (NAA)"),
    ("94559-2", "SARS-CoV-2 ORF1ab region (NAA)"),
    ("94565-9", "SARS-CoV-2 RNA (NAA, nasopharynx)"),
    ("94756-4", "SARS-CoV-2 N gene (NAA)"),
    ("94757-2", "SARS-CoV-2 N gene (NAA)"),
    ("94759-8", "SARS-CoV-2 RNA (NAA, nasopharynx)"),
    ("94760-6", "SARS-CoV-2 N gene (NAA, nasopharynx)"),
    ("94845-5", "SARS-CoV-2 RNA (NAA, saliva)"),
    ("95406-5", "SARS-CoV-2 RNA (NAA, nose)"),
    ("95409-9", "SARS-CoV-2 N gene (NAA, nose)"),
    ("94558-4", "SARS-CoV-2 antigen (rapid)"),
    ("95209-3", "SARS-CoV-2 antigen"),
    ("96119-3", "SARS-CoV-2 antigen"),
    ("97097-0", "SARS-CoV-2 antigen (rapid)"),
];

/// SNOMED CT qualifier values labs use for SARS-CoV-2 results.
pub fn result_of_snomed(code: &str) -> Option<&'static str> {
    match code {
        "260373001" | "10828004" | "52101004" => Some("positive"),
        "260415000" | "260385009" | "2667000" => Some("negative"),
        "419984006" | "42425007" | "82334004" | "125154007" | "455371000124106" => {
            Some("inconclusive")
        }
        _ => None,
    }
}

/// The SNOMED CT qualifier value a result is written as, with its display.
pub fn snomed_of_result(result: &str) -> Option<(&'static str, &'static str)> {
    match result {
        "positive" => Some(("260373001", "Detected")),
        "negative" => Some(("260415000", "Not detected")),
        "inconclusive" => Some(("419984006", "Inconclusive")),
        _ => None,
    }
}

/// The LOINC code of a recorded test type, when only one code carries that
/// name (several codes share "SARS-CoV-2 RNA (NAA)": none is guessed).
pub fn loinc_of_test_type(test_type: &str) -> Option<&'static str> {
    let mut codes = SARS_COV_2_TESTS.iter().filter(|(_, n)| *n == test_type);
    match (codes.next(), codes.next()) {
        (Some((code, _)), None) => Some(code),
        _ => None,
    }
}

/// The test type of a LOINC code that defines a case.
pub fn test_type_of_loinc(code: &str) -> Option<&'static str> {
    SARS_COV_2_TESTS
        .iter()
        .find(|(l, _)| *l == code.trim())
        .map(|(_, n)| *n)
}

/// A result written in words ("Detected", "non-reactive"), as labs
/// and result codes' display texts write them.
pub fn result_of_word(w: &str) -> Option<&'static str> {
    let w = w.trim().to_ascii_lowercase();
    let w = w.trim_end_matches(['.', '!']);
    match w {
        "detected" | "positive" | "pos" | "present" | "reactive" => Some("positive"),
        "not detected" | "undetected" | "negative" | "neg" | "absent" | "non-reactive"
        | "nonreactive" => Some("negative"),
        "inconclusive" | "indeterminate" | "equivocal" | "invalid" | "presumptive positive" => {
            Some("inconclusive")
        }
        _ => None,
    }
}

/// ISO 639-2 codes labs send, as the two-letter tags tracedesk keeps;
/// two-letter codes pass; anything else is left out (a language is
/// optional, and a code nobody can read must not sink a result).
pub fn language(code: &str) -> Option<String> {
    let c = code.trim().to_ascii_lowercase();
    let two = match c.as_str() {
        "eng" => "en",
        "spa" => "es",
        "chi" | "zho" => "zh",
        "rus" => "ru",
        "ara" => "ar",
        "ben" => "bn",
        "fre" | "fra" => "fr",
        "hat" => "ht",
        "kor" => "ko",
        "pol" => "pl",
        "urd" => "ur",
        "yid" => "yi",
        "ita" => "it",
        "por" => "pt",
        "vie" => "vi",
        "tgl" => "tl",
        "jpn" => "ja",
        "hin" => "hi",
        "ger" | "deu" => "de",
        "gre" | "ell" => "el",
        s if s.len() == 2 && s.bytes().all(|b| b.is_ascii_lowercase()) => s,
        _ => return None,
    };
    Some(two.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every result has a code that reads back as that result.
    #[test]
    fn result_codes_read_back() {
        for r in ["positive", "negative", "inconclusive"] {
            let (code, display) = snomed_of_result(r).expect("a code");
            assert_eq!(result_of_snomed(code), Some(r));
            assert_eq!(result_of_word(display), Some(r));
        }
        assert_eq!(snomed_of_result("maybe"), None);
    }

    #[test]
    fn loinc_is_named_only_when_unique() {
        assert_eq!(loinc_of_test_type("SARS-CoV-2 antigen (rapid)"), None);
        assert_eq!(
            loinc_of_test_type("SARS-CoV-2 RNA (NAA, saliva)"),
            Some("94845-5")
        );
        assert_eq!(
            test_type_of_loinc(" 94845-5"),
            Some("SARS-CoV-2 RNA (NAA, saliva)")
        );
        assert_eq!(test_type_of_loinc("12345-6"), None);
    }
}
