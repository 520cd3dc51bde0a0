//! Messaging pages: the staff inbox or the patient's messages, one thread
//! with its reply form (multipart, with attachments), a new thread, the
//! staff's assign/close/retract buttons, and attachment downloads.

use askama::Template;
use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::response::{Redirect, Response};
use hippo_core::messaging::ThreadStatus;
use hippo_core::policy::{Action, ResourceRef};
use hippo_core::time_util::UnixMillis;
use hippo_core::{AttachmentId, Principal, ThreadId};
use hippo_store::{MessageRecord, ThreadSummary};
use serde::Deserialize;

use crate::conversations::{self, NewThread, ThreadQuery, page as thread_page, parse_staff, start};
use crate::error::{Failure, WebError};
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::scope::Scope;
use crate::state::AppState;
use crate::thread_views::attachment_response;
use crate::web::login::CsrfOnly;
use crate::web::render::{Nav, page};

/// A thread as a row of a list.
pub struct ThreadRow {
    pub id: String,
    pub subject: String,
    pub facility: String,
    pub patient: String,
    /// The status as a CSS class; `status_text` is what the reader sees.
    pub status: &'static str,
    pub status_text: String,
    pub assigned: String,
    /// When the last message came; the template shows it in the facility's time zone.
    pub at: UnixMillis,
    pub unread: i64,
}

impl ThreadRow {
    pub fn of(t: &ThreadSummary, ui: &Ui) -> Self {
        Self {
            id: t.id.to_string(),
            subject: t.subject.clone(),
            facility: t.tenant_name.clone(),
            patient: t.patient_name.clone().unwrap_or_default(),
            status: t.status.as_str(),
            status_text: status_text(t.status, ui),
            assigned: t.assigned_name.clone().unwrap_or_default(),
            at: t.last_message_at,
            unread: t.unread,
        }
    }
}

/// A thread's status in the reader's language.
fn status_text(status: ThreadStatus, ui: &Ui) -> String {
    match status {
        ThreadStatus::Open => ui.t("messaging-status-open"),
        ThreadStatus::Closed => ui.t("messaging-status-closed"),
        ThreadStatus::Retracted => ui.t("messaging-status-retracted"),
    }
}

pub struct AttachmentRow {
    pub id: String,
    pub file_name: String,
    pub size_kb: i64,
}

pub struct MessageRow {
    pub mine: bool,
    pub author: String,
    pub at: UnixMillis,
    pub body: String,
    pub new: bool,
    pub attachments: Vec<AttachmentRow>,
}

#[derive(Template)]
#[template(path = "messages.html")]
struct MessagesPage {
    ui: Ui,
    nav: Nav,
    staff_view: bool,
    can_write: bool,
    threads: Vec<ThreadRow>,
    unread_total: i64,
    filter: &'static str,
    next: Option<String>,
}

pub async fn list(
    caller: Authorized,
    query: Result<Query<ThreadQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let Query(query) = query.map_err(|e| Failure::Invalid(e.body_text()))?;
    let threads = thread_page(&caller, &query).await?;
    let filter = match (
        query.unread,
        query.status.as_deref(),
        query.assigned.as_deref(),
    ) {
        (Some(true), _, _) => "unread",
        (_, Some("open"), _) => "open",
        (_, Some("closed"), _) => "closed",
        (_, _, Some("me")) => "mine",
        _ => "all",
    };
    let next = threads.next_before.as_ref().map(|before| {
        let mut link = format!("/messages?before={before}");
        match filter {
            "unread" => link.push_str("&unread=true"),
            "open" | "closed" => link.push_str(&format!("&status={filter}")),
            "mine" => link.push_str("&assigned=me"),
            _ => {}
        }
        link
    });
    let ui = Ui::current();
    let rows = threads
        .threads
        .iter()
        .map(|t| ThreadRow::of(t, &ui))
        .collect();
    page(&MessagesPage {
        ui,
        nav: Nav::of(&caller),
        staff_view: matches!(caller.scope, Scope::Staff(_)),
        can_write: may_write(&caller),
        threads: rows,
        unread_total: threads.unread_total,
        filter,
        next,
    })
}

/// Clinical staff and patients write; tenant admins read only (the
/// route table says the same; this only hides the link).
fn may_write(caller: &Authorized) -> bool {
    match &caller.principal {
        Principal::Staff { role, .. } => *role != hippo_core::StaffRole::TenantAdmin,
        Principal::Patient { .. } => true,
        _ => false,
    }
}

pub struct FacilityChoice {
    pub id: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "thread_new.html")]
struct NewThreadPage {
    ui: Ui,
    nav: Nav,
    staff_view: bool,
    patient_id: String,
    facilities: Vec<FacilityChoice>,
}

#[derive(Deserialize)]
pub struct NewThreadQuery {
    patient: Option<String>,
}

pub async fn new_form(
    caller: Authorized,
    Query(query): Query<NewThreadQuery>,
) -> Result<Response, WebError> {
    let facilities = match &caller.scope {
        Scope::Patient(p) => p
            .correspondents()
            .await?
            .iter()
            .map(|(id, name)| FacilityChoice {
                id: id.to_string(),
                name: name.clone(),
            })
            .collect(),
        _ => Vec::new(),
    };
    page(&NewThreadPage {
        ui: Ui::current(),
        nav: Nav::of(&caller),
        staff_view: matches!(caller.scope, Scope::Staff(_)),
        patient_id: query.patient.unwrap_or_default(),
        facilities,
    })
}

#[derive(Deserialize)]
pub struct NewThreadForm {
    csrf: String,
    subject: String,
    body: String,
    patient_id: Option<String>,
    tenant_id: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    caller: Authorized,
    Form(form): Form<NewThreadForm>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let new = NewThread {
        subject: form.subject,
        body: form.body,
        patient_id: form.patient_id,
        tenant_id: form.tenant_id,
    };
    let thread = start(&caller, &state.config().messaging, new).await?;
    Ok(Redirect::to(&format!("/messages/{}", thread.id)))
}

#[derive(Template)]
#[template(path = "thread.html")]
struct ThreadPage {
    ui: Ui,
    nav: Nav,
    staff_view: bool,
    thread: ThreadRow,
    messages: Vec<MessageRow>,
    can_reply: bool,
    can_manage: bool,
    is_open: bool,
    is_retracted: bool,
    attachments_label: String,
}

fn message_row(m: &MessageRecord, reader_is_staff: bool, facility: &str, ui: &Ui) -> MessageRow {
    let mine = (m.author_side == hippo_core::messaging::Side::Staff) == reader_is_staff;
    let author = match (&m.author_name, mine, reader_is_staff) {
        (_, true, false) => ui.t("messaging-author-you"),
        (Some(name), _, _) => name.clone(),
        (None, _, false) => facility.to_owned(),
        (None, _, true) => ui.t("messaging-author-patient"),
    };
    MessageRow {
        mine,
        author,
        at: m.created_at,
        body: m.body.clone(),
        new: !mine && m.read_at.is_none(),
        attachments: m
            .attachments
            .iter()
            .map(|a| AttachmentRow {
                id: a.id.to_string(),
                file_name: a.file_name.clone(),
                size_kb: (a.size + 1023) / 1024,
            })
            .collect(),
    }
}

pub async fn detail(
    State(state): State<AppState>,
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let id: ThreadId = caller.parse_id(&raw).await?;
    let detail = conversations::thread(&caller, id).await?;
    let t = &detail.thread;
    let staff_view = matches!(caller.scope, Scope::Staff(_));
    let resource = ResourceRef::Thread {
        tenant: t.tenant_id,
        patient: t.patient_id,
        thread: t.id,
        status: t.status,
    };
    let limits = state.config().messaging;
    let ui = Ui::current();
    let attachments_label = ui.t2(
        "messaging-attachments",
        ("count", &limits.max_attachments),
        ("mb", &(limits.max_attachment_bytes / (1024 * 1024))),
    );
    page(&ThreadPage {
        nav: Nav::of(&caller),
        staff_view,
        thread: ThreadRow::of(t, &ui),
        messages: detail
            .messages
            .iter()
            .map(|m| message_row(m, staff_view, &t.tenant_name, &ui))
            .collect(),
        can_reply: t.status == ThreadStatus::Open && caller.may(Action::MessagePost, &resource),
        can_manage: caller.may(Action::ThreadClose, &resource),
        is_open: t.status == ThreadStatus::Open,
        is_retracted: t.status == ThreadStatus::Retracted,
        attachments_label,
        ui,
    })
}

pub async fn reply(
    State(state): State<AppState>,
    caller: Authorized,
    Path(raw): Path<String>,
    request: Request,
) -> Result<Redirect, WebError> {
    let message = conversations::read_message(request, &state.config().messaging).await?;
    caller.verify_csrf(message.csrf.as_deref().unwrap_or_default())?;
    let id: ThreadId = caller.parse_id(&raw).await?;
    conversations::post(&caller, id, message).await?;
    Ok(Redirect::to(&format!("/messages/{id}")))
}

#[derive(Deserialize)]
pub struct AssignForm {
    csrf: String,
    staff_id: Option<String>,
}

pub async fn assign(
    caller: Authorized,
    Path(raw): Path<String>,
    Form(form): Form<AssignForm>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let id: ThreadId = caller.parse_id(&raw).await?;
    let staff = parse_staff(form.staff_id.as_deref())?;
    caller.staff()?.assign_thread(id, staff).await?;
    Ok(Redirect::to(&format!("/messages/{id}")))
}

pub async fn close(
    caller: Authorized,
    Path(raw): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let id: ThreadId = caller.parse_id(&raw).await?;
    caller.staff()?.close_thread(id).await?;
    Ok(Redirect::to(&format!("/messages/{id}")))
}

pub async fn retract(
    caller: Authorized,
    Path(raw): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let id: ThreadId = caller.parse_id(&raw).await?;
    caller.staff()?.retract_thread(id).await?;
    Ok(Redirect::to(&format!("/messages/{id}")))
}

pub async fn attachment(caller: Authorized, Path(raw): Path<String>) -> Result<Response, WebError> {
    let id: AttachmentId = caller.parse_id(&raw).await?;
    let (meta, bytes) = conversations::attachment(&caller, id).await?.into_parts();
    Ok(attachment_response(&meta, bytes))
}
