//! The text of every notification e-mail, German and English in one mail
//! (we do not know which language the patient reads). It says that
//! something is waiting and where to log in, and nothing else: not what
//! it is (a finding or a message: both kinds read the same, since "a new
//! finding from your lab" already tells something), not a value, not a
//! name, and the facility only if the tenant chose so (invariant 8). The
//! languages are parted by a rule, not by "-- ", which mail programs
//! take for the start of a signature and fade out.

use hippo_store::ClaimedNotice;

/// Neutral on purpose: a subject line is shown in every inbox listing.
pub const NOTICE_SUBJECT: &str = "Neue Nachricht in Hippo / New notification in Hippo";

/// The plain-text body for `notice`, linking to `login_url`.
pub fn notice_text(notice: &ClaimedNotice, login_url: &str) -> String {
    let (von, from) = match &notice.facility_name {
        Some(name) => (format!(" von {name}"), format!(" from {name}")),
        None => (String::new(), String::new()),
    };
    format!(
        "Guten Tag,\r\n\
         \r\n\
         in Hippo liegt eine neue Nachricht{von} für Sie bereit.\r\n\
         Bitte melden Sie sich an, um sie zu lesen:\r\n\
         \r\n\
         {login_url}\r\n\
         \r\n\
         Zum Schutz Ihrer Daten enthält diese E-Mail keine Inhalte.\r\n\
         \r\n\
         ------------------------------------------------------------\r\n\
         \r\n\
         Hello,\r\n\
         \r\n\
         there is a new notification{from} waiting for you in Hippo.\r\n\
         Please log in to read it:\r\n\
         \r\n\
         {login_url}\r\n\
         \r\n\
         To protect your data, this e-mail contains no content.\r\n"
    )
}

/// The subject of a staff invitation: it names no facility and no person.
pub const INVITATION_SUBJECT: &str = "Einladung zu Hippo / Invitation to Hippo";

/// The plain-text body of a staff invitation (issue 12), linking to
/// `invitation_url` (which carries the one-time token). No health data,
/// no name: whoever reads the mail learns only that an account awaits a
/// password. The facility's name only if the tenant chose so.
pub fn invitation_text(notice: &ClaimedNotice, invitation_url: &str) -> String {
    let (von, from) = match &notice.facility_name {
        Some(name) => (format!(" von {name}"), format!(" by {name}")),
        None => (String::new(), String::new()),
    };
    format!(
        "Guten Tag,\r\n\
         \r\n\
         Sie wurden{von} als Mitarbeiterin oder Mitarbeiter zu Hippo eingeladen.\r\n\
         Bitte legen Sie über diesen Link Ihr Passwort fest; er gilt sieben Tage\r\n\
         und nur einmal:\r\n\
         \r\n\
         {invitation_url}\r\n\
         \r\n\
         Wenn Sie keine Einladung erwartet haben, ignorieren Sie diese E-Mail.\r\n\
         \r\n\
         ------------------------------------------------------------\r\n\
         \r\n\
         Hello,\r\n\
         \r\n\
         you have been invited to Hippo as a staff member{from}.\r\n\
         Please set your password with this link; it works for seven days\r\n\
         and only once:\r\n\
         \r\n\
         {invitation_url}\r\n\
         \r\n\
         If you did not expect an invitation, please ignore this e-mail.\r\n"
    )
}
