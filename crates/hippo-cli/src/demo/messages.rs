//! Demo conversations: threads both ways between the facilities and some
//! of their patients — one with a PDF attached, some unread on either
//! side, one closed and one retracted — so every messaging page has
//! something to show.

use anyhow::Context;
use hippo_core::audit::RequestOrigin;
use hippo_core::file_kind::{FileKind, classify};
use hippo_core::policy::Action;
use hippo_core::{AccountId, PatientId, Principal, StaffId, TenantId, ThreadId};
use hippo_policy::Policy;
use hippo_store::{LoginSubject, NewAttachment, PatientScope, StaffScope, Store};

/// Who may read which demo thread: staff of `tenant` always, the patient
/// (`account`) unless it was retracted.
pub struct SeededThread {
    pub id: ThreadId,
    pub tenant: TenantId,
    pub account: AccountId,
    pub retracted: bool,
}

/// One conversation partner's scopes, step by step under the action the
/// matching route declares.
struct Party<'a> {
    store: &'a Store,
    policy: &'a std::sync::Arc<Policy>,
    principal: Principal,
}

impl<'a> Party<'a> {
    async fn of(
        store: &'a Store,
        policy: &'a std::sync::Arc<Policy>,
        subject: LoginSubject,
    ) -> anyhow::Result<Self> {
        let principal = store
            .unscoped_auth()
            .principal(subject)
            .await?
            .context("demo user vanished")?;
        Ok(Self {
            store,
            policy,
            principal,
        })
    }

    fn origin() -> RequestOrigin {
        RequestOrigin {
            request_id: "demo-seed".into(),
            route: None,
            client_addr: None,
            user_agent: Some("hippo demo".into()),
        }
    }

    fn staff(&self, action: Action) -> anyhow::Result<StaffScope> {
        let gate = self.policy.gate(&self.principal);
        self.store
            .staff_scope(&self.principal, Self::origin(), gate, action)
            .context("no staff scope")
    }

    fn patient(&self, action: Action) -> anyhow::Result<PatientScope> {
        let gate = self.policy.gate(&self.principal);
        self.store
            // Seeding happens before anything can be switched off.
            .patient_scope(
                &self.principal,
                Self::origin(),
                gate,
                action,
                Default::default(),
            )
            .context("no patient scope")
    }
}

/// A demo conversation: facility (by index), the clinician there, the
/// patient's account and record there.
pub struct Correspondents {
    pub tenant: TenantId,
    pub clinician: StaffId,
    pub account: AccountId,
    pub patient: PatientId,
}

/// Seed the demo threads; `report` is a real PDF to attach.
pub async fn seed(
    store: &Store,
    lab: &Correspondents,
    centre: &Correspondents,
    report: Vec<u8>,
) -> anyhow::Result<Vec<SeededThread>> {
    let policy = std::sync::Arc::new(Policy::load()?);
    let lab_staff = Party::of(store, &policy, LoginSubject::Staff(lab.clinician)).await?;
    let lab_patient = Party::of(store, &policy, LoginSubject::Account(lab.account)).await?;
    let centre_staff = Party::of(store, &policy, LoginSubject::Staff(centre.clinician)).await?;
    let centre_patient = Party::of(store, &policy, LoginSubject::Account(centre.account)).await?;
    let mut seeded = Vec::new();

    // 1. The lab writes with the report attached; the patient reads and
    //    answers; the lab reads, answers once more (unread for the
    //    patient) and closes the conversation.
    let thread = lab_staff
        .staff(Action::ThreadCreate)?
        .start_thread(
            lab.patient,
            "Ihr Befund: Rückfragen".into(),
            "Guten Tag, Ihr Befund liegt vor. Bitte sehen Sie sich den Bericht im Anhang an \
             und melden Sie sich bei Fragen."
                .into(),
        )
        .await?
        .id;
    let kind = classify(&report).map_err(|e| anyhow::anyhow!("demo report refused: {e}"))?;
    anyhow::ensure!(kind == FileKind::Pdf, "demo report is not a PDF");
    lab_staff
        .staff(Action::MessagePost)?
        .post_message(
            thread,
            "Hier der Bericht als PDF.".into(),
            vec![NewAttachment {
                kind,
                file_name: "Befundbericht.pdf".into(),
                bytes: report,
            }],
        )
        .await?;
    lab_patient
        .patient(Action::ThreadRead)?
        .thread(thread)
        .await?;
    lab_patient
        .patient(Action::MessagePost)?
        .post_message(
            thread,
            "Danke! Ist der erhöhte Wert bedenklich?".into(),
            Vec::new(),
        )
        .await?;
    lab_staff.staff(Action::ThreadRead)?.thread(thread).await?;
    lab_staff
        .staff(Action::MessagePost)?
        .post_message(
            thread,
            "Der Wert ist leicht erhöht und sollte in drei Monaten kontrolliert werden.".into(),
            Vec::new(),
        )
        .await?;
    lab_staff
        .staff(Action::ThreadClose)?
        .close_thread(thread)
        .await?;
    seeded.push(SeededThread {
        id: thread,
        tenant: lab.tenant,
        account: lab.account,
        retracted: false,
    });

    // 2. A patient asks the test centre; unread for the staff.
    let thread = centre_patient
        .patient(Action::ThreadCreate)?
        .start_thread(
            centre.tenant,
            "Frage zum Testergebnis".into(),
            "Wann kann ich mit meinem Ergebnis rechnen?".into(),
        )
        .await?
        .id;
    seeded.push(SeededThread {
        id: thread,
        tenant: centre.tenant,
        account: centre.account,
        retracted: false,
    });

    // 3. The test centre answers in another thread: unread for the patient.
    let thread = centre_staff
        .staff(Action::ThreadCreate)?
        .start_thread(
            centre.patient,
            "Ihr Termin".into(),
            "Ihr Termin zur Nachtestung ist am Montag um 9 Uhr.".into(),
        )
        .await?
        .id;
    seeded.push(SeededThread {
        id: thread,
        tenant: centre.tenant,
        account: centre.account,
        retracted: false,
    });

    // 4. One sent by mistake and retracted: the patient no longer sees it.
    let thread = centre_staff
        .staff(Action::ThreadCreate)?
        .start_thread(
            centre.patient,
            "Versehentlich gesendet".into(),
            "Diese Nachricht war für jemand anderen bestimmt.".into(),
        )
        .await?
        .id;
    centre_staff
        .staff(Action::ThreadRetract)?
        .retract_thread(thread)
        .await?;
    seeded.push(SeededThread {
        id: thread,
        tenant: centre.tenant,
        account: centre.account,
        retracted: true,
    });
    Ok(seeded)
}
