//! HL7 v2 ORU^R01 intake, pure: bytes → text by MSH-18 ([`charset`]),
//! structure by `hl7-parser`, escape sequences ([`escape`]), the mapping
//! onto Hippo's validated domain types ([`oru`]), the acknowledgement
//! ([`ack`]) and MLLP framing ([`mllp`]). No I/O: the server reads the
//! sockets, the store matches patients and writes.
//!
//! Why `hl7-parser`: it parses the structure with positions and borrows
//! from the input (no copies), has no unsafe code and only `nom` 7 as a
//! dependency (already in Hippo's tree). Its escape decoding is not used:
//! it does not know `\X..\` in the message's character set nor `\.br\`,
//! and its repeat display joins components with the wrong separator.

pub mod ack;
pub mod charset;
pub mod escape;
pub mod mllp;
pub mod oru;
mod range;

pub use ack::{AckCode, build_ack};
pub use charset::{Charset, decode_message};
pub use oru::{
    Header, IntakeFinding, OruMessage, PatientDemographics, PatientIdentifier, Rejection,
    ResultLine, Sex, parse_oru,
};
