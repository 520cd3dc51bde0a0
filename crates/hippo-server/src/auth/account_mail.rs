//! The texts of the mails about one's own account (issue 12), in the
//! language the person uses Hippo in: a login from a new device (time,
//! device label, shortened network, the link to the sessions list) and a
//! password reset (only the link). No health data, no facility name
//! (invariant 8).

use hippo_core::time_util::UnixMillis;
use hippo_store::{AccountMail, AccountMailKind, SessionDevice};

use crate::i18n::{Lang, Ui};
use crate::state::AppState;

/// An absolute link into the portal when its public address is configured
/// (the notification settings' base URL), else the path alone.
pub fn portal_link(state: &AppState, path_and_query: &str) -> String {
    match &state.config().notifications {
        Some(notify) => notify
            .base_url
            .join(path_and_query.trim_start_matches('/'))
            .map(|u| u.to_string())
            .unwrap_or_else(|_| path_and_query.to_owned()),
        None => path_and_query.to_owned(),
    }
}

pub fn new_device(
    state: &AppState,
    lang: Lang,
    subject_id: String,
    recipient: String,
    when: UnixMillis,
    device: &SessionDevice,
) -> AccountMail {
    let ui = Ui::new(lang, "/");
    let mut body = ui.t("mail-new-device-greeting");
    body.push_str("\r\n\r\n");
    body.push_str(&ui.t("mail-new-device-intro"));
    body.push_str("\r\n\r\n");
    body.push_str(&ui.t1("mail-new-device-time", "time", ui.date_time(&when)));
    body.push_str("\r\n");
    body.push_str(&ui.t1("mail-new-device-device", "device", &device.label));
    body.push_str("\r\n");
    body.push_str(&ui.t1("mail-new-device-network", "network", &device.network));
    body.push_str("\r\n\r\n");
    body.push_str(&ui.t("mail-new-device-check"));
    body.push_str("\r\n\r\n");
    body.push_str(&portal_link(state, "/account/sessions"));
    body.push_str("\r\n");
    AccountMail {
        kind: AccountMailKind::NewDevice,
        subject_id,
        recipient,
        mail_subject: ui.t("mail-new-device-subject"),
        body,
    }
}

pub fn password_reset(
    state: &AppState,
    lang: Lang,
    subject_id: String,
    recipient: String,
    token: &str,
) -> AccountMail {
    let ui = Ui::new(lang, "/");
    let link = portal_link(state, &format!("/password/reset?token={token}"));
    let mut body = ui.t("mail-reset-greeting");
    body.push_str("\r\n\r\n");
    body.push_str(&ui.t("mail-reset-intro"));
    body.push_str("\r\n\r\n");
    body.push_str(&link);
    body.push_str("\r\n\r\n");
    body.push_str(&ui.t("mail-reset-not-you"));
    body.push_str("\r\n");
    AccountMail {
        kind: AccountMailKind::PasswordReset,
        subject_id,
        recipient,
        mail_subject: ui.t("mail-reset-subject"),
        body,
    }
}
