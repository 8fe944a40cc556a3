//! Names as comparison sees them: accents folded ("García" → "garcia"),
//! case, punctuation and spacing ignored, a compound surname's parts
//! ("García López", "Smith-Jones") each a name of its own, and a given
//! name's common diminutives ("Jon", "Bill", "Pepe") read as the name they
//! stand for.

use unicode_normalization::UnicodeNormalization;

/// Lower case, accents and punctuation removed, spaces collapsed.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.nfd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        let c = match c {
            'ß' => 's',
            'ø' | 'Ø' => 'o',
            'æ' | 'Æ' => 'a',
            'ł' | 'Ł' => 'l',
            'đ' | 'Đ' => 'd',
            c => c,
        };
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else {
            // Hyphens, apostrophes and spaces all separate parts.
            space = !matches!(c, '\'' | '’');
        }
    }
    out
}

/// The parts of a folded name ("garcia lopez" → ["garcia", "lopez"]),
/// without particles that come and go ("de", "la", "van"…).
pub fn parts(folded: &str) -> Vec<&str> {
    const PARTICLES: &[&str] = &[
        "de", "del", "la", "las", "los", "y", "da", "dos", "van", "von", "der", "di", "le",
    ];
    let all: Vec<&str> = folded.split(' ').filter(|p| !p.is_empty()).collect();
    let kept: Vec<&str> = all
        .iter()
        .copied()
        .filter(|p| !PARTICLES.contains(p))
        .collect();
    if kept.is_empty() { all } else { kept }
}

/// Diminutives and short forms, each with the name it stands for
/// (English and Spanish, the languages of most of the records here).
const NICKNAMES: &[(&str, &str)] = &[
    ("abby", "abigail"),
    ("al", "albert"),
    ("alex", "alexander"),
    ("andy", "andrew"),
    ("annie", "anne"),
    ("ann", "anne"),
    ("anna", "anne"),
    ("barb", "barbara"),
    ("becky", "rebecca"),
    ("ben", "benjamin"),
    ("beth", "elizabeth"),
    ("betty", "elizabeth"),
    ("bill", "william"),
    ("billy", "william"),
    ("bob", "robert"),
    ("bobby", "robert"),
    ("cathy", "catherine"),
    ("kathy", "catherine"),
    ("katherine", "catherine"),
    ("kathryn", "catherine"),
    ("kate", "catherine"),
    ("katie", "catherine"),
    ("charlie", "charles"),
    ("chuck", "charles"),
    ("chris", "christopher"),
    ("dan", "daniel"),
    ("danny", "daniel"),
    ("dave", "david"),
    ("debbie", "deborah"),
    ("dick", "richard"),
    ("rich", "richard"),
    ("rick", "richard"),
    ("ricky", "richard"),
    ("don", "donald"),
    ("ed", "edward"),
    ("eddie", "edward"),
    ("ted", "edward"),
    ("frank", "francis"),
    ("fred", "frederick"),
    ("greg", "gregory"),
    ("hank", "henry"),
    ("harry", "henry"),
    ("jack", "john"),
    ("jon", "john"),
    ("johnny", "john"),
    ("jonathan", "john"),
    ("jim", "james"),
    ("jimmy", "james"),
    ("jamie", "james"),
    ("jen", "jennifer"),
    ("jenny", "jennifer"),
    ("jeff", "jeffrey"),
    ("jerry", "gerald"),
    ("joe", "joseph"),
    ("joey", "joseph"),
    ("josh", "joshua"),
    ("kim", "kimberly"),
    ("larry", "lawrence"),
    ("liz", "elizabeth"),
    ("lizzie", "elizabeth"),
    ("eliza", "elizabeth"),
    ("maggie", "margaret"),
    ("meg", "margaret"),
    ("peggy", "margaret"),
    ("matt", "matthew"),
    ("mike", "michael"),
    ("mikey", "michael"),
    ("nick", "nicholas"),
    ("pat", "patricia"),
    ("patty", "patricia"),
    ("pete", "peter"),
    ("phil", "philip"),
    ("ray", "raymond"),
    ("ron", "ronald"),
    ("sam", "samuel"),
    ("sandy", "sandra"),
    ("steve", "stephen"),
    ("steven", "stephen"),
    ("sue", "susan"),
    ("susie", "susan"),
    ("tim", "timothy"),
    ("tom", "thomas"),
    ("tommy", "thomas"),
    ("tony", "anthony"),
    ("vicky", "victoria"),
    ("will", "william"),
    ("willy", "william"),
    ("ty", "tyler"),
    // Spanish.
    ("pepe", "jose"),
    ("chepe", "jose"),
    ("paco", "francisco"),
    ("pancho", "francisco"),
    ("curro", "francisco"),
    ("nacho", "ignacio"),
    ("lupe", "guadalupe"),
    ("lola", "dolores"),
    ("lolita", "dolores"),
    ("concha", "concepcion"),
    ("conchita", "concepcion"),
    ("chelo", "consuelo"),
    ("charo", "rosario"),
    ("chucho", "jesus"),
    ("chuy", "jesus"),
    ("quique", "enrique"),
    ("kike", "enrique"),
    ("memo", "guillermo"),
    ("beto", "alberto"),
    ("toni", "antonio"),
    ("tono", "antonio"),
    ("manolo", "manuel"),
    ("lalo", "eduardo"),
    ("pili", "pilar"),
    ("maite", "maria teresa"),
    ("rafa", "rafael"),
    ("fer", "fernando"),
    ("nando", "fernando"),
    ("alejo", "alejandro"),
];

/// The name a given name stands for (itself when it is no diminutive).
pub fn canonical(folded_given: &str) -> &str {
    NICKNAMES
        .iter()
        .find(|(nick, _)| *nick == folded_given)
        .map(|(_, full)| *full)
        .unwrap_or(folded_given)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_and_parts() {
        assert_eq!(fold("García  López"), "garcia lopez");
        assert_eq!(fold("O'Brien-Núñez"), "obrien nunez");
        assert_eq!(fold(" ZOË "), "zoe");
        assert_eq!(fold("Strauß"), "straus");
        assert_eq!(parts("maria de la cruz"), ["maria", "cruz"]);
        assert_eq!(parts("de la"), ["de", "la"]);
        assert_eq!(canonical("jon"), "john");
        assert_eq!(canonical("pepe"), "jose");
        assert_eq!(canonical("maria"), "maria");
    }
}
