//! `hippo incident …`: open an incident from a blast-radius query, keep its
//! timeline, and draft the notices (per affected facility, the controller)
//! and letters (per affected patient) in German and English.

use std::fmt::Write as _;
use std::path::Path;

use crate::forensics_cli::FilterArgs;
use crate::settings::DataArgs;
use crate::store_cli::with_store;
use anyhow::Context;
use clap::Subcommand;
use hippo_core::time_util::parse_rfc3339;
use hippo_core::time_util::{human, now_millis};
use hippo_store::incidents::{AffectedRecord, Incident};
use std::path::PathBuf;

/// `hippo incident …`.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum IncidentCommand {
    /// Open an incident; its affected tenants and patients are the blast
    /// radius of the given filter (window, routes, actions, builds).
    Open {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        title: String,
        /// When the incident was detected (RFC 3339); default now. The
        /// 72-hour notification deadline runs from here.
        #[arg(long)]
        detected_at: Option<String>,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Add a timeline entry.
    Note {
        #[command(flatten)]
        data: DataArgs,
        id: String,
        text: String,
    },
    /// Show the incident: deadline clock, timeline, affected records.
    Show {
        #[command(flatten)]
        data: DataArgs,
        id: String,
    },
    /// Draft notices per affected facility and letters per affected patient,
    /// in German and English, into a directory.
    Notices {
        #[command(flatten)]
        data: DataArgs,
        id: String,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

pub async fn run(command: IncidentCommand) -> anyhow::Result<()> {
    match command {
        IncidentCommand::Open {
            data,
            title,
            detected_at,
            filter,
        } => {
            let detected = match detected_at {
                Some(t) => parse_rfc3339(&t)
                    .with_context(|| format!("--detected-at {t:?} is not an RFC 3339 time"))?,
                None => now_millis(),
            };
            let filter = filter.filter()?;
            let (id, radius) = with_store(&data, async |store, _| {
                Ok(store
                    .unscoped_incidents()
                    .open(&title, detected, &filter)
                    .await?)
            })
            .await?;
            let patients: usize = radius.tenants.iter().map(|t| t.patients.len()).sum();
            println!(
                "opened incident {id}: {} unauthorised accesses to {patients} patients in {} facilities",
                radius.accesses,
                radius.tenants.len()
            );
        }
        IncidentCommand::Note { data, id, text } => {
            with_store(&data, async |store, _| {
                Ok(store.unscoped_incidents().add_event(&id, &text).await?)
            })
            .await?;
            println!("added to the timeline of {id}");
        }
        IncidentCommand::Show { data, id } => {
            let incident = with_store(&data, async |store, _| {
                Ok(store.unscoped_incidents().get(&id).await?)
            })
            .await?;
            println!("{}", show(&incident));
        }
        IncidentCommand::Notices { data, id, out } => {
            let incident = with_store(&data, async |store, _| {
                Ok(store.unscoped_incidents().get(&id).await?)
            })
            .await?;
            let drafts = write_notices(&incident, &out)?;
            println!("wrote {drafts} drafts to {}", out.display());
        }
    }
    Ok(())
}

fn hours_left(deadline: i64) -> String {
    let ms = deadline - now_millis();
    if ms <= 0 {
        format!("OVERDUE by {:.1} h", -ms as f64 / 3_600_000.0)
    } else {
        format!("{:.1} h left", ms as f64 / 3_600_000.0)
    }
}

pub fn show(incident: &Incident) -> String {
    let mut out = format!(
        "# Incident {}\n\n{}\n\n- Detected: {}\n- Authority deadline (GDPR Art. 33, 72 h): {} ({})\n- Bounded by: `{}`\n- Affected patients: {} in {} facilities\n\n## Timeline\n\n",
        incident.id,
        incident.title,
        human(incident.detected_at),
        human(incident.deadline_at),
        hours_left(incident.deadline_at),
        incident.query,
        incident.affected.len(),
        facilities(incident).len(),
    );
    for e in &incident.timeline {
        let _ = writeln!(out, "- {} — {}", human(e.at), e.text);
    }
    out.push_str("\n## Affected\n\n| facility | patient | accesses | first | last |\n|---|---|---|---|---|\n");
    for a in &incident.affected {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            a.tenant_name,
            a.patient_id,
            a.accesses,
            human(a.first_at),
            human(a.last_at)
        );
    }
    out
}

fn facilities(incident: &Incident) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = incident
        .affected
        .iter()
        .map(|a| (a.tenant_id.clone(), a.tenant_name.clone()))
        .collect();
    list.sort();
    list.dedup();
    list
}

fn window(records: &[&AffectedRecord]) -> (i64, i64, i64) {
    let first = records.iter().map(|a| a.first_at).min().unwrap_or(0);
    let last = records.iter().map(|a| a.last_at).max().unwrap_or(0);
    let accesses = records.iter().map(|a| a.accesses).sum();
    (first, last, accesses)
}

fn measures(incident: &Incident) -> String {
    incident
        .timeline
        .iter()
        .map(|e| format!("- {} — {}\n", human(e.at), e.text))
        .collect()
}

fn tenant_notice(
    incident: &Incident,
    name: &str,
    records: &[&AffectedRecord],
    german: bool,
) -> String {
    let (first, last, accesses) = window(records);
    let mut patients = String::new();
    for a in records {
        let _ = writeln!(
            patients,
            "| {} {} | {} | {} | {} – {} |",
            a.given_name,
            a.family_name,
            a.patient_id,
            a.accesses,
            human(a.first_at),
            human(a.last_at)
        );
    }
    if german {
        format!(
            "# Meldung einer Verletzung des Schutzes personenbezogener Daten\n\nAn: {name} (Verantwortlicher)  \nVon: Hippo-Betrieb (Auftragsverarbeiter)  \nVorfall: {id} — {title}\n\n\
             Wir haben am {detected} festgestellt, dass Unbefugte auf Befunddaten Ihrer Einrichtung zugreifen konnten. \
             Nach Art. 33 DSGVO ist die Aufsichtsbehörde binnen 72 Stunden nach Bekanntwerden zu unterrichten; \
             für diesen Vorfall endet die Frist am {deadline}.\n\n## Fakten aus dem Audit-Log\n\n\
             - Unbefugte Zugriffe: {accesses}\n- Erster Zugriff: {first}\n- Letzter Zugriff: {last}\n- Betroffene Patientinnen und Patienten: {n}\n- Abgrenzung: `{query}`\n\n\
             | Name | Patienten-ID | Zugriffe | Zeitraum |\n|---|---|---|---|\n{patients}\n## Bisherige Maßnahmen\n\n{measures}\n\
             Das Audit-Log ist manipulationsgeschützt (Merkle-Log mit signierten Baumköpfen); jede Zahl hier lässt sich mit `hippo audit verify` und Einschlussbeweisen nachprüfen.\n",
            id = incident.id,
            title = incident.title,
            detected = human(incident.detected_at),
            deadline = human(incident.deadline_at),
            first = human(first),
            last = human(last),
            n = records.len(),
            query = incident.query,
            measures = measures(incident)
        )
    } else {
        format!(
            "# Notification of a personal data breach\n\nTo: {name} (controller)  \nFrom: Hippo operations (processor)  \nIncident: {id} — {title}\n\n\
             On {detected} we found that unauthorised persons could access findings of your facility. \
             Under GDPR Art. 33 the supervisory authority must be notified within 72 hours of becoming aware; \
             for this incident the deadline is {deadline}.\n\n## Facts from the audit log\n\n\
             - Unauthorised accesses: {accesses}\n- First access: {first}\n- Last access: {last}\n- Patients affected: {n}\n- Bounded by: `{query}`\n\n\
             | Name | Patient ID | Accesses | Period |\n|---|---|---|---|\n{patients}\n## Measures taken\n\n{measures}\n\
             The audit log is tamper-evident (a Merkle log with signed tree heads); every figure here can be checked with `hippo audit verify` and inclusion proofs.\n",
            id = incident.id,
            title = incident.title,
            detected = human(incident.detected_at),
            deadline = human(incident.deadline_at),
            first = human(first),
            last = human(last),
            n = records.len(),
            query = incident.query,
            measures = measures(incident)
        )
    }
}

fn patient_letter(incident: &Incident, a: &AffectedRecord, german: bool) -> String {
    if german {
        format!(
            "# Information über einen unbefugten Zugriff auf Ihre Daten\n\nGuten Tag {given} {family},\n\n\
             bei {facility} werden Ihre Befunde über das Portal Hippo bereitgestellt. Zwischen {first} und {last} \
             wurde {n}-mal unbefugt auf Ihre Befunddaten zugegriffen. Wir haben den Fehler am {detected} festgestellt.\n\n\
             Was wir getan haben:\n\n{measures}\nIm Portal sehen Sie unter „Wer hat auf meine Daten zugegriffen“ jeden Zugriff einzeln, mit kryptografischem Nachweis.\n\n\
             Bei Fragen wenden Sie sich bitte an {facility}. Vorfall {id}.\n",
            given = a.given_name,
            family = a.family_name,
            facility = a.tenant_name,
            first = human(a.first_at),
            last = human(a.last_at),
            n = a.accesses,
            detected = human(incident.detected_at),
            measures = measures(incident),
            id = incident.id
        )
    } else {
        format!(
            "# Information about unauthorised access to your data\n\nDear {given} {family},\n\n\
             {facility} provides your findings through the Hippo portal. Between {first} and {last} your findings \
             were accessed without authorisation {n} time(s). We found the fault on {detected}.\n\n\
             What we have done:\n\n{measures}\nIn the portal, \"Who accessed my data\" lists every single access, with a cryptographic proof.\n\n\
             If you have questions, please contact {facility}. Incident {id}.\n",
            given = a.given_name,
            family = a.family_name,
            facility = a.tenant_name,
            first = human(a.first_at),
            last = human(a.last_at),
            n = a.accesses,
            detected = human(incident.detected_at),
            measures = measures(incident),
            id = incident.id
        )
    }
}

/// Write the notices and letters; returns the number of files written.
/// File names carry IDs only, never names.
pub fn write_notices(incident: &Incident, dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir.join("patients"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = 0;
    for (tenant_id, name) in facilities(incident) {
        let records: Vec<&AffectedRecord> = incident
            .affected
            .iter()
            .filter(|a| a.tenant_id == tenant_id)
            .collect();
        for (lang, german) in [("de", true), ("en", false)] {
            std::fs::write(
                dir.join(format!("facility-{tenant_id}.{lang}.md")),
                tenant_notice(incident, &name, &records, german),
            )?;
            written += 1;
        }
    }
    for a in &incident.affected {
        for (lang, german) in [("de", true), ("en", false)] {
            std::fs::write(
                dir.join("patients")
                    .join(format!("{}.{lang}.md", a.patient_id)),
                patient_letter(incident, a, german),
            )?;
            written += 1;
        }
    }
    Ok(written)
}
