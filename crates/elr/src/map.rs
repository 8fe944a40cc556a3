//! An ORU^R01 message mapped to lab results: one per order (`OBR`) that
//! carries a SARS-CoV-2 molecular or antigen test, each remembering which
//! segment and field every value came from, so a value intake refuses is
//! reported at its place in the message.
//!
//! Where each value comes from (HL7 v2.5.1 ELR implementation guide):
//!
//! | lab result       | from                                                  |
//! |------------------|-------------------------------------------------------|
//! | last, first name | `PID-5.1`, `PID-5.2` (the legal name when several)    |
//! | date of birth    | `PID-7`                                               |
//! | phone, email     | `PID-13` (`XTN`: area code and number, or `.1`; `.4`) |
//! | address          | `PID-11` (street, other, city, state, postal code)    |
//! | language         | `PID-15.1` (ISO 639 codes)                            |
//! | accession        | `OBR-3.1`, else `SPM-2`'s filler id, else `ORC-3.1`   |
//! | specimen date    | `SPM-17.1`, else `OBR-7`, else `OBX-14`               |
//! | result           | `OBX-5` (SNOMED CT codes or words), else `OBX-8`      |
//! | test type        | `OBX-3.1`, a LOINC code in [`SARS_COV_2_TESTS`]       |
//! | lab              | `OBX-23.1` (performing organization), else `MSH-4.1`  |
//! | ordering provider| `OBR-16`, else `ORC-12` (name and NPI)                 |

use tracedesk_casework::LabResultInput;
pub use tracedesk_domain::lab_codes::SARS_COV_2_TESTS;
use tracedesk_domain::lab_codes::{language, result_of_snomed as snomed, result_of_word as word};
use tracedesk_hl7::{Ack, AckCode, ErrorCode, Field, Location, Message, Segment, date_of};

/// HL7 versions whose PID, OBR, OBX and SPM carry these fields where this
/// mapping reads them.
const VERSIONS: &[&str] = &[
    "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8",
];

/// One lab result read from a message, and where each of its fields came
/// from (by `LAB_FIELDS` name).
#[derive(Debug, Clone)]
pub struct Mapped {
    pub input: LabResultInput,
    pub sources: Vec<(&'static str, Location)>,
}

impl Mapped {
    /// Where `field` came from (the patient segment when not recorded).
    pub fn source(&self, field: &str) -> Location {
        self.sources
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| Location::field("PID", 1, 3))
    }
}

/// A segment and its sequence among segments of its name (from 1).
#[derive(Clone, Copy)]
struct Seg<'m, 'a> {
    seg: &'m Segment<'a>,
    seq: usize,
}

impl<'a> Seg<'_, 'a> {
    fn at(&self, field: usize) -> Location {
        Location::field(self.seg.id, self.seq, field)
    }
    fn at_component(&self, field: usize, component: usize) -> Location {
        Location::component(self.seg.id, self.seq, field, component)
    }
    fn field(&self, n: usize) -> Field<'a> {
        self.seg.field(n)
    }
}

/// One order: its `ORC` (when sent), `OBR`, the `OBX`es and `SPM` after it.
#[derive(Default)]
struct Order<'m, 'a> {
    orc: Option<Seg<'m, 'a>>,
    obr: Option<Seg<'m, 'a>>,
    obx: Vec<Seg<'m, 'a>>,
    spm: Option<Seg<'m, 'a>>,
}

fn reject(code: ErrorCode, at: Location, reason: &str) -> Ack {
    Ack::fault(AckCode::Reject, Some(at), code, reason)
}

fn error(code: ErrorCode, at: Location, reason: &str) -> Ack {
    Ack::fault(AckCode::Error, Some(at), code, reason)
}

/// Checks the header: an ORU^R01 in production (`P`) of a known version.
fn check_header(m: &Message<'_>) -> Result<(), Ack> {
    let (code, event) = m.kind();
    if code != "ORU" {
        return Err(reject(
            ErrorCode::UnsupportedMessageType,
            Location::component("MSH", 1, 9, 1),
            "only ORU messages (lab results) are taken",
        ));
    }
    if event != "R01" {
        return Err(reject(
            ErrorCode::UnsupportedEvent,
            Location::component("MSH", 1, 9, 2),
            "only the R01 event (unsolicited observation) is taken",
        ));
    }
    let msh = m.header();
    if msh.field(10).is_empty() {
        return Err(reject(
            ErrorCode::RequiredFieldMissing,
            Location::field("MSH", 1, 10),
            "the message control id is required",
        ));
    }
    match msh.field(11).component(1).as_ref() {
        "P" => {}
        "" => {
            return Err(reject(
                ErrorCode::RequiredFieldMissing,
                Location::field("MSH", 1, 11),
                "the processing id is required",
            ));
        }
        _ => {
            return Err(reject(
                ErrorCode::UnsupportedProcessingId,
                Location::field("MSH", 1, 11),
                "only production messages (P) are recorded; training and debugging ones are not",
            ));
        }
    }
    let version = msh.field(12).component(1);
    if !VERSIONS.contains(&version.as_ref()) {
        return Err(reject(
            ErrorCode::UnsupportedVersion,
            Location::field("MSH", 1, 12),
            "the HL7 version is not one of 2.3 to 2.8",
        ));
    }
    Ok(())
}

/// Maps an ORU^R01 message to lab results, or the acknowledgement that
/// refuses it.
pub fn map_oru(m: &Message<'_>, jurisdiction: Option<&str>) -> Result<Vec<Mapped>, Ack> {
    check_header(m)?;
    let mut counts: Vec<(&str, usize)> = Vec::new();
    let mut pid: Option<Seg> = None;
    let mut orders: Vec<Order> = Vec::new();
    let mut pending_orc: Option<Seg> = None;
    for seg in m.segments() {
        let seq = match counts.iter_mut().find(|(s, _)| *s == seg.id) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                counts.push((seg.id, 1));
                1
            }
        };
        let s = Seg { seg, seq };
        match seg.id {
            "PID" if pid.is_none() => pid = Some(s),
            "PID" => {
                return Err(error(
                    ErrorCode::SegmentSequence,
                    Location {
                        segment: "PID".into(),
                        sequence: seq,
                        field: None,
                        component: None,
                    },
                    "one patient per message: send each patient's results in their own message",
                ));
            }
            "ORC" => pending_orc = Some(s),
            "OBR" => orders.push(Order {
                orc: pending_orc.take(),
                obr: Some(s),
                ..Order::default()
            }),
            "OBX" => match orders.last_mut() {
                Some(o) => o.obx.push(s),
                None => {
                    return Err(error(
                        ErrorCode::SegmentSequence,
                        s.at(1),
                        "an OBX segment must follow its OBR",
                    ));
                }
            },
            "SPM" => {
                if let Some(o) = orders.last_mut() {
                    o.spm.get_or_insert(s);
                }
            }
            // MSH, SFT, PD1, NK1, PV1, PV2, NTE, TQ1, Z-segments and the
            // like: nothing a lab result keeps.
            _ => {}
        }
    }
    let Some(pid) = pid else {
        return Err(error(
            ErrorCode::SegmentSequence,
            Location {
                segment: "PID".into(),
                sequence: 1,
                field: None,
                component: None,
            },
            "the message has no PID segment",
        ));
    };
    let patient = patient(&pid)?;
    let sending_lab = m.header().field(4).component(1).into_owned();
    let mut out = Vec::new();
    let mut first_obx: Option<Location> = None;
    for o in &orders {
        first_obx = first_obx.or_else(|| o.obx.first().map(|x| x.at_component(3, 1)));
        if let Some(r) = order(o, &patient, &sending_lab, jurisdiction)? {
            out.push(r);
        }
    }
    if out.is_empty() {
        return Err(error(
            ErrorCode::TableValueNotFound,
            first_obx.unwrap_or_else(|| Location::field("OBR", 1, 4)),
            "no SARS-CoV-2 molecular or antigen test result (by LOINC code) with a final, \
             corrected or preliminary status",
        ));
    }
    Ok(out)
}

/// The person fields of `PID`, each with its place.
struct Patient {
    input: LabResultInput,
    sources: Vec<(&'static str, Location)>,
}

fn patient(pid: &Seg<'_, '_>) -> Result<Patient, Ack> {
    let mut input = LabResultInput::default();
    let mut sources = Vec::new();
    // The legal name when several are sent.
    let names = pid.field(5);
    let name = names
        .repetitions()
        .find(|r| r.component(7) == "L")
        .unwrap_or_else(|| names.repetition(1));
    input.last_name = nonempty(name.subcomponent(1, 1).into_owned());
    input.first_name = nonempty(name.component(2).into_owned());
    sources.push(("last_name", pid.at_component(5, 1)));
    sources.push(("first_name", pid.at_component(5, 2)));
    let dob = pid.field(7).component(1);
    if !dob.is_empty() {
        match date_of(&dob) {
            Ok(d) => input.dob = Some(d.to_string()),
            Err(e) => {
                return Err(error(
                    ErrorCode::DataType,
                    pid.at(7),
                    &format!("the date of birth {e}"),
                ));
            }
        }
    }
    sources.push(("dob", pid.at(7)));
    for rep in pid.field(13).repetitions() {
        let equipment = rep.component(3);
        let email = rep.component(4);
        if !email.is_empty() || equipment.eq_ignore_ascii_case("internet") {
            if input.email.is_none() {
                input.email = nonempty(email.trim().to_string());
            }
            continue;
        }
        if matches!(equipment.as_ref(), "FX" | "BP" | "X.400") || input.phone.is_some() {
            continue;
        }
        let (cc, area, local) = (rep.component(5), rep.component(6), rep.component(7));
        let number = if !area.is_empty() || !local.is_empty() {
            let cc = cc.trim_start_matches('+');
            let prefix = if cc.is_empty() {
                String::new()
            } else {
                format!("+{cc}")
            };
            format!("{prefix}{area}{local}")
        } else {
            rep.component(1).into_owned()
        };
        input.phone = nonempty(number);
    }
    sources.push(("phone", pid.at(13)));
    sources.push(("email", pid.at_component(13, 4)));
    let addr = pid.field(11).repetition(1);
    let street = [addr.subcomponent(1, 1), addr.component(2)]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let state_zip = [addr.component(4), addr.component(5)]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let address = [street, addr.component(3).trim().to_string(), state_zip]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    input.address = nonempty(truncate(address, 300));
    sources.push(("address", pid.at(11)));
    input.language = language(&pid.field(15).component(1));
    sources.push(("language", pid.at(15)));
    Ok(Patient { input, sources })
}

/// The lab result of one order, if it carries a SARS-CoV-2 test.
fn order(
    o: &Order<'_, '_>,
    patient: &Patient,
    sending_lab: &str,
    jurisdiction: Option<&str>,
) -> Result<Option<Mapped>, Ack> {
    let tests: Vec<(&Seg, &str)> = o
        .obx
        .iter()
        .filter(|x| !matches!(x.field(11).component(1).as_ref(), "X" | "D" | "W" | "N"))
        .filter_map(|x| {
            let code = x.field(3);
            let known = |c: &str| {
                SARS_COV_2_TESTS
                    .iter()
                    .find(|(l, _)| *l == c)
                    .map(|(_, n)| *n)
            };
            known(&code.component(1))
                .or_else(|| known(&code.component(4)))
                .map(|n| (x, n))
        })
        .collect();
    let Some((first, test_type)) = tests.first().copied() else {
        return Ok(None);
    };
    let mut outcomes = Vec::new();
    for (x, _) in &tests {
        match interpret(x) {
            Some(r) => outcomes.push(r),
            None => {
                return Err(error(
                    ErrorCode::TableValueNotFound,
                    x.at(5),
                    "the result is not one of detected, not detected, positive, negative or \
                     inconclusive (SNOMED CT or words), and OBX-8 gives no flag",
                ));
            }
        }
    }
    // One specimen, one result: detected by any target is positive.
    let result = ["positive", "negative", "inconclusive"]
        .into_iter()
        .find(|r| outcomes.contains(r))
        .unwrap_or("inconclusive");
    let mut m = Mapped {
        input: patient.input.clone(),
        sources: patient.sources.clone(),
    };
    m.input.result = Some(result.into());
    m.sources.push(("result", first.at(5)));
    m.input.test_type = Some(test_type.into());
    m.sources.push(("test_type", first.at_component(3, 1)));
    let obr = o.obr.as_ref();
    let accession = obr
        .map(|b| (b.field(3).component(1), b.at_component(3, 1)))
        .filter(|(a, _)| !a.is_empty())
        .or_else(|| {
            o.spm
                .as_ref()
                .map(|s| (s.field(2).subcomponent(2, 1), s.at_component(2, 2)))
                .filter(|(a, _)| !a.is_empty())
        })
        .or_else(|| {
            o.orc
                .as_ref()
                .map(|c| (c.field(3).component(1), c.at_component(3, 1)))
                .filter(|(a, _)| !a.is_empty())
        });
    match accession {
        Some((a, at)) => {
            m.input.accession = Some(a.trim().to_string());
            m.sources.push(("accession", at));
        }
        None => {
            return Err(error(
                ErrorCode::RequiredFieldMissing,
                obr.map(|b| b.at_component(3, 1))
                    .unwrap_or_else(|| Location::field("OBR", 1, 3)),
                "the filler order number (the lab's accession) is required",
            ));
        }
    }
    let dates = [
        o.spm
            .as_ref()
            .map(|s| (s.field(17).subcomponent(1, 1), s.at(17))),
        obr.map(|b| (b.field(7).component(1), b.at(7))),
        Some((first.field(14).component(1), first.at(14))),
    ];
    match dates.into_iter().flatten().find(|(d, _)| !d.is_empty()) {
        Some((d, at)) => match date_of(&d) {
            Ok(d) => {
                m.input.specimen_date = Some(d.to_string());
                m.sources.push(("specimen_date", at));
            }
            Err(e) => {
                return Err(error(
                    ErrorCode::DataType,
                    at,
                    &format!("the specimen collection date {e}"),
                ));
            }
        },
        None => {
            return Err(error(
                ErrorCode::RequiredFieldMissing,
                o.spm
                    .as_ref()
                    .map(|s| s.at(17))
                    .unwrap_or_else(|| Location::field("SPM", 1, 17)),
                "the specimen collection date is required (SPM-17 or OBR-7)",
            ));
        }
    }
    let performing = first.field(23).component(1);
    let (lab, at) = if performing.trim().is_empty() {
        (sending_lab.to_string(), Location::component("MSH", 1, 4, 1))
    } else {
        (performing.into_owned(), first.at_component(23, 1))
    };
    m.input.lab = nonempty(truncate(lab.trim().to_string(), 200));
    m.sources.push(("lab", at));
    let provider = obr
        .map(|b| (b.field(16), b.at(16)))
        .filter(|(f, _)| !f.is_empty())
        .or_else(|| {
            o.orc
                .as_ref()
                .map(|c| (c.field(12), c.at(12)))
                .filter(|(f, _)| !f.is_empty())
        });
    if let Some((f, at)) = provider {
        m.input.ordering_provider = nonempty(truncate(provider_name(&f), 200));
        m.sources.push(("ordering_provider", at));
    }
    m.input.jurisdiction = jurisdiction.map(str::to_string);
    Ok(Some(m))
}

/// An `XCN` (person and identifier) as one line: `Dr Chidi Okafor (NPI
/// 1245319599)`.
fn provider_name(f: &Field<'_>) -> String {
    let name = [f.component(6), f.component(3), f.subcomponent(2, 1)]
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let id = f.component(1);
    let id = id.trim();
    if id.is_empty() {
        return name;
    }
    let npi = f.component(13) == "NPI" || f.subcomponent(9, 1) == "NPI";
    let label = if npi { "NPI" } else { "id" };
    if name.is_empty() {
        format!("{label} {id}")
    } else {
        format!("{name} ({label} {id})")
    }
}

/// What an `OBX` says: `positive`, `negative` or `inconclusive`.
fn interpret(x: &Seg<'_, '_>) -> Option<&'static str> {
    let value = x.field(5);
    let coded = matches!(x.field(2).text().as_ref(), "CWE" | "CE" | "CNE");
    let mut words = vec![
        value.component(2).into_owned(),
        value.component(1).into_owned(),
    ];
    if !coded {
        words.insert(0, value.text().into_owned());
    }
    if coded && let Some(r) = snomed(&value.component(1)) {
        return Some(r);
    }
    for w in words {
        if let Some(r) = word(&w) {
            return Some(r);
        }
    }
    match x.field(8).component(1).to_ascii_uppercase().as_str() {
        "A" | "AA" | "POS" | "DET" => Some("positive"),
        "N" | "NEG" | "ND" => Some("negative"),
        _ => None,
    }
}

fn nonempty(s: String) -> Option<String> {
    if s.trim().is_empty() { None } else { Some(s) }
}

/// At most `max` bytes, cut at a character boundary.
fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receive::text_of;
    use tracedesk_hl7::split_batch;

    const NORTHWIND: &[u8] = include_bytes!("../samples/northwind-pcr-positive.hl7");
    const MERCY: &[u8] = include_bytes!("../samples/mercy-pcr-positive.hl7");
    const HARBOR: &[u8] = include_bytes!("../samples/harbor-antigen-negative.hl7");
    const EASTSIDE: &[u8] = include_bytes!("../samples/eastside-batch.hl7");

    fn one(bytes: &[u8]) -> LabResultInput {
        let text = text_of(bytes);
        let m = Message::parse(&text).unwrap();
        let mut r = map_oru(&m, None).unwrap();
        assert_eq!(r.len(), 1);
        r.remove(0).input
    }

    fn s(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or("")
    }

    #[test]
    fn a_reference_labs_full_elr_message() {
        let r = one(NORTHWIND);
        assert_eq!(s(&r.last_name), "Alvarez");
        assert_eq!(s(&r.first_name), "Maria");
        assert_eq!(s(&r.dob), "1985-02-14");
        assert_eq!(s(&r.phone), "+12125550147");
        assert_eq!(s(&r.email), "m.alvarez@example.org");
        assert_eq!(s(&r.address), "412 Hudson St, Apt 5C, New York, NY 10014");
        assert_eq!(s(&r.result), "positive");
        assert_eq!(s(&r.accession), "NW-2011-55431");
        assert_eq!(s(&r.specimen_date), "2026-11-01");
        assert_eq!(s(&r.lab), "Northwind Reference Lab");
        assert_eq!(s(&r.test_type), "SARS-CoV-2 RNA (NAA)");
        assert_eq!(r.language, None);
        assert_eq!(s(&r.ordering_provider), "Dr Chidi Okafor (NPI 1245319599)");
    }

    #[test]
    fn a_hospital_lis_in_latin_1_with_escapes_and_no_spm() {
        let r = one(MERCY);
        assert_eq!(s(&r.last_name), "O'BRIEN-NUÑEZ");
        assert_eq!(s(&r.first_name), "SEÁN");
        assert_eq!(s(&r.phone), "(718)555-0199");
        assert_eq!(s(&r.result), "positive");
        assert_eq!(s(&r.specimen_date), "2026-11-03");
        assert_eq!(s(&r.accession), "MG55120");
        assert_eq!(s(&r.lab), "MERCY GENERAL");
        assert_eq!(s(&r.ordering_provider), "ANNA LEE (id 8834)");
    }

    #[test]
    fn a_point_of_care_antigen_site() {
        let r = one(HARBOR);
        assert_eq!(
            s(&r.first_name),
            "Tyler",
            "the legal name, not the nickname"
        );
        assert_eq!(s(&r.email), "tyler.chen@example.net");
        assert_eq!(r.phone, None);
        assert_eq!(s(&r.language), "es");
        assert_eq!(s(&r.result), "negative");
        assert_eq!(s(&r.test_type), "SARS-CoV-2 antigen (rapid)");
        assert_eq!(s(&r.lab), "Harbor Testing Site");
    }

    #[test]
    fn a_batch_maps_message_by_message() {
        let text = text_of(EASTSIDE);
        let b = split_batch(&text);
        assert_eq!(b.messages.len(), 3);
        assert_eq!(b.count_mismatches().count(), 0);
        let out: Vec<_> = b
            .messages
            .iter()
            .map(|m| map_oru(&Message::parse(m.text).unwrap(), Some("bronx")))
            .collect();
        assert_eq!(s(&out[0].as_ref().unwrap()[0].input.jurisdiction), "bronx");
        let bad = out[1].as_ref().unwrap_err();
        assert_eq!(bad.code, AckCode::Error);
        assert_eq!(bad.faults[0].code, ErrorCode::DataType);
        assert_eq!(bad.faults[0].location.as_ref().unwrap().label(), "PID-7");
        assert!(
            !bad.faults[0].reason.contains("1332"),
            "no values in reasons"
        );
        assert_eq!(s(&out[2].as_ref().unwrap()[0].input.result), "negative");
    }

    /// Each kind of fault gets its code and place.
    #[test]
    fn faults_are_answered_with_their_codes() {
        let base = text_of(HARBOR);
        let cases = |pairs: &[(&str, &str)]| {
            let mut t = base.clone();
            for (from, to) in pairs {
                assert!(t.contains(from), "{from}");
                t = t.replacen(from, to, 1);
            }
            let m = Message::parse(&t).unwrap();
            let a = map_oru(&m, None).expect_err(&format!("{pairs:?}"));
            let f = &a.faults[0];
            (
                a.code,
                f.code,
                f.location.as_ref().map(|l| l.label()).unwrap_or_default(),
            )
        };
        let case = |from: &str, to: &str| cases(&[(from, to)]);
        use AckCode::{Error as AE, Reject as AR};
        assert_eq!(
            case("ORU^R01^ORU_R01", "ADT^A01^ADT_A01"),
            (AR, ErrorCode::UnsupportedMessageType, "MSH-9.1".into())
        );
        assert_eq!(
            case("ORU^R01^ORU_R01", "ORU^R30^ORU_R30"),
            (AR, ErrorCode::UnsupportedEvent, "MSH-9.2".into())
        );
        assert_eq!(
            case("|HTS-4471|P|", "|HTS-4471|T|"),
            (AR, ErrorCode::UnsupportedProcessingId, "MSH-11".into())
        );
        assert_eq!(
            case("|P|2.5.1", "|P|2.1"),
            (AR, ErrorCode::UnsupportedVersion, "MSH-12".into())
        );
        assert_eq!(
            case("|HTS-4471|", "||"),
            (AR, ErrorCode::RequiredFieldMissing, "MSH-10".into())
        );
        assert_eq!(
            case("PID|1|", "ZZZ|1|"),
            (AE, ErrorCode::SegmentSequence, "PID".into())
        );
        assert_eq!(
            case("CWE|94558-4^", "CWE|12345-6^"),
            (AE, ErrorCode::TableValueNotFound, "OBX-3.1".into())
        );
        assert_eq!(
            case("260415000^Not detected^SCT|||N", "99^Maybe^L|||"),
            (AE, ErrorCode::TableValueNotFound, "OBX-5".into())
        );
        assert_eq!(
            cases(&[
                ("|HTS-AG-0031|94558-4", "||94558-4"),
                ("^HTS-AG-0031|", "|")
            ]),
            (AE, ErrorCode::RequiredFieldMissing, "OBR-3.1".into())
        );
        assert_eq!(
            case(
                "SCT|||||||||||||20261105113000-0500",
                "SCT|||||||||||||2020-11-05"
            ),
            (AE, ErrorCode::DataType, "SPM-17".into())
        );
        assert_eq!(
            case("OBR|1||HTS-AG-0031", "NTE|1||HTS-AG-0031"),
            (AE, ErrorCode::SegmentSequence, "OBX-1".into())
        );
    }
}
