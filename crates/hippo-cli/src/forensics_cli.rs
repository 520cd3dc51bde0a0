//! `hippo forensics …`: accesses and blast radius as a table, JSON or
//! Markdown, with a timeline picture (SVG) of the accesses.

use std::fmt::Write as _;
use std::path::Path;

use crate::settings::DataArgs;
use crate::store_cli::with_store;
use anyhow::Context;
use clap::Subcommand;
use clap::{Args, ValueEnum};
use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::forensic_purpose::{ForensicPurpose, MIN_REASON_CHARS};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::time_util::{human, parse_rfc3339, rfc3339};
use hippo_store::forensics::AccessRecord;
use hippo_store::{BlastRadius, ForensicFilter, Store};

/// `hippo forensics …`.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum ForensicsCommand {
    /// Accesses by actor, patient, tenant, action, route or build, in a window.
    Accesses {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        purpose: PurposeArgs,
    },
    /// Every access in the window by someone who was neither the patient's
    /// own account nor staff of the patient's facility, by tenant and patient.
    BlastRadius {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        purpose: PurposeArgs,
    },
    /// Run the anomaly rules over history (window by window) and list the
    /// alerts they raise (also stored for the operator API).
    Anomalies {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        purpose: PurposeArgs,
    },
}

/// Which forensic query a command runs; all take the same arguments.
#[derive(Clone, Copy)]
enum Query {
    Accesses,
    BlastRadius,
    Anomalies,
}

pub async fn run(command: ForensicsCommand) -> anyhow::Result<()> {
    let (query, data, filter, purpose) = match command {
        ForensicsCommand::Accesses {
            data,
            filter,
            purpose,
        } => (Query::Accesses, data, filter, purpose),
        ForensicsCommand::BlastRadius {
            data,
            filter,
            purpose,
        } => (Query::BlastRadius, data, filter, purpose),
        ForensicsCommand::Anomalies {
            data,
            filter,
            purpose,
        } => (Query::Anomalies, data, filter, purpose),
    };
    // Refused before the store is opened: no purpose, no query.
    let purpose = purpose.parse()?;
    let report = with_store(&data, async |store, _| match query {
        Query::Accesses => accesses(store, &filter, &purpose).await,
        Query::BlastRadius => blast_radius(store, &filter, &purpose).await,
        Query::Anomalies => anomalies(store, &filter, &purpose).await,
    })
    .await?;
    println!("{report}");
    Ok(())
}

/// Purpose binding: what the query serves, kept in its audit record.
#[derive(Debug, Clone, Args)]
pub struct PurposeArgs {
    /// The incident this query serves (its ID, from `hippo incident open`).
    #[arg(long)]
    pub incident: Option<String>,
    /// Or the reason, at least 10 characters (e.g. a ticket and what is checked).
    #[arg(long)]
    pub reason: Option<String>,
}

impl PurposeArgs {
    pub fn parse(&self) -> anyhow::Result<ForensicPurpose> {
        ForensicPurpose::parse(self.incident.as_deref(), self.reason.as_deref()).map_err(|e| {
            anyhow::anyhow!(
                "{e}: every forensic query names --incident <ID> or --reason <text, at least {MIN_REASON_CHARS} characters>"
            )
        })
    }
}

/// The query's own audit record, durable before the answer is printed
/// (as on the server); a named incident must exist.
async fn record_query(
    store: &Store,
    purpose: &ForensicPurpose,
    command: &str,
    detail: String,
) -> anyhow::Result<()> {
    if let Some(incident) = purpose.incident() {
        store
            .unscoped_incidents()
            .get(&incident.to_string())
            .await
            .with_context(|| format!("no incident {incident}"))?;
    }
    store
        .audit_log()
        .append(
            AuditActor::operator_cli(std::env::var("USER").ok()),
            AuditEvent::new(
                Action::ForensicsQuery,
                ResourceKind::AuditRecord,
                Outcome::Success,
            )
            .detail(format!("{purpose} {detail}")),
            &RequestOrigin::cli(command),
        )
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Args)]
pub struct FilterArgs {
    /// Start of the window (RFC 3339, e.g. 2026-11-23T13:00:00Z).
    #[arg(long)]
    pub from: Option<String>,
    /// End of the window (RFC 3339).
    #[arg(long)]
    pub to: Option<String>,
    /// Actor ID (staff, account, operator or API key).
    #[arg(long)]
    pub actor: Option<String>,
    #[arg(long)]
    pub patient: Option<String>,
    #[arg(long)]
    pub tenant: Option<String>,
    /// Action, e.g. finding_pdf_download (repeatable).
    #[arg(long = "action")]
    pub actions: Vec<String>,
    /// Route as in the route table, e.g. "GET /api/v1/findings/{id}/pdf" (repeatable).
    #[arg(long = "route")]
    pub routes: Vec<String>,
    /// Build version (repeatable).
    #[arg(long = "build")]
    pub builds: Vec<String>,
    #[arg(long)]
    pub outcome: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Also write a timeline picture of the accesses to this SVG file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<std::path::PathBuf>,
}

impl FilterArgs {
    pub fn filter(&self) -> anyhow::Result<ForensicFilter> {
        let time = |name: &str, v: &Option<String>| -> anyhow::Result<Option<i64>> {
            v.as_deref()
                .map(|t| {
                    parse_rfc3339(t)
                        .with_context(|| format!("--{name} {t:?} is not an RFC 3339 time"))
                })
                .transpose()
        };
        Ok(ForensicFilter {
            from: time("from", &self.from)?,
            to: time("to", &self.to)?,
            actor: self.actor.clone(),
            patient: self.patient.clone(),
            tenant: self.tenant.clone(),
            actions: self.actions.clone(),
            routes: self.routes.clone(),
            builds: self.builds.clone(),
            outcome: self.outcome.clone(),
            limit: None,
            after: None,
        })
    }
}

pub async fn accesses(
    store: &Store,
    args: &FilterArgs,
    purpose: &ForensicPurpose,
) -> anyhow::Result<String> {
    let filter = args.filter()?;
    let records = store.unscoped_forensics().accesses(&filter).await?;
    record_query(
        store,
        purpose,
        "hippo forensics accesses",
        format!("accesses={} {filter:?}", records.len()),
    )
    .await?;
    if let Some(path) = &args.svg {
        write_svg(path, &records, "Accesses")?;
    }
    Ok(match args.format {
        Format::Json => serde_json::to_string_pretty(&records)?,
        Format::Table | Format::Markdown => {
            let mut out = String::from(
                "| time | actor | action | route | patient | tenant | outcome | build |\n|---|---|---|---|---|---|---|---|\n",
            );
            for r in &records {
                let _ = writeln!(
                    out,
                    "| {} | {}:{} | {} | {} | {} | {} | {} | {} |",
                    rfc3339(r.at),
                    r.actor_kind,
                    r.actor_id.as_deref().unwrap_or("-"),
                    r.action,
                    r.route.as_deref().unwrap_or("-"),
                    r.patient_id.as_deref().unwrap_or("-"),
                    r.tenant_id.as_deref().unwrap_or("-"),
                    r.outcome,
                    r.build
                );
            }
            let _ = writeln!(
                out,
                "\n{} records; first {}, last {}",
                records.len(),
                records.first().map_or("-".into(), |r| rfc3339(r.at)),
                records.last().map_or("-".into(), |r| rfc3339(r.at))
            );
            out
        }
    })
}

pub async fn blast_radius(
    store: &Store,
    args: &FilterArgs,
    purpose: &ForensicPurpose,
) -> anyhow::Result<String> {
    let filter = args.filter()?;
    let report = store.unscoped_forensics().blast_radius(&filter).await?;
    record_query(
        store,
        purpose,
        "hippo forensics blast-radius",
        format!("blast_radius={} {filter:?}", report.accesses),
    )
    .await?;
    if let Some(path) = &args.svg {
        write_svg(path, &report.records, "Unauthorised accesses")?;
    }
    Ok(match args.format {
        Format::Json => serde_json::to_string_pretty(&report)?,
        Format::Markdown => blast_markdown(&report),
        Format::Table => blast_table(&report),
    })
}

fn when(t: Option<i64>) -> String {
    t.map_or_else(|| "-".into(), rfc3339)
}

pub fn blast_markdown(r: &BlastRadius) -> String {
    let mut out = String::from("# Blast radius\n\n");
    let _ = writeln!(
        out,
        "- Window: {} – {}",
        when(r.filter_from),
        when(r.filter_to)
    );
    let _ = writeln!(out, "- Unauthorised accesses: **{}**", r.accesses);
    let _ = writeln!(
        out,
        "- First: {}  \n- Last: {}",
        when(r.first),
        when(r.last)
    );
    let _ = writeln!(
        out,
        "- Affected tenants: {}, patients: {}\n",
        r.tenants.len(),
        r.tenants.iter().map(|t| t.patients.len()).sum::<usize>()
    );
    out.push_str("## Actors\n\n| actor | accesses |\n|---|---|\n");
    for (actor, n) in &r.actors {
        let _ = writeln!(out, "| {actor} | {n} |");
    }
    for t in &r.tenants {
        let _ = writeln!(
            out,
            "\n## {} ({})\n\n| patient | accesses | first | last | actors |\n|---|---|---|---|---|",
            t.tenant_name, t.tenant_id
        );
        for p in &t.patients {
            let actors: Vec<&str> = p.actors.iter().map(String::as_str).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                p.patient_id,
                p.accesses,
                rfc3339(p.first),
                rfc3339(p.last),
                actors.join(", ")
            );
        }
    }
    out
}

pub fn blast_table(r: &BlastRadius) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "unauthorised accesses: {} (first {}, last {})",
        r.accesses,
        when(r.first),
        when(r.last)
    );
    let _ = writeln!(
        out,
        "{:<20} {:<38} {:>8}  {:<25} {:<25}",
        "tenant", "patient", "accesses", "first", "last"
    );
    for t in &r.tenants {
        for p in &t.patients {
            let _ = writeln!(
                out,
                "{:<20} {:<38} {:>8}  {:<25} {:<25}",
                t.tenant_name,
                p.patient_id,
                p.accesses,
                rfc3339(p.first),
                rfc3339(p.last)
            );
        }
    }
    let _ = writeln!(out, "actors:");
    for (actor, n) in &r.actors {
        let _ = writeln!(out, "  {actor}: {n}");
    }
    out
}

/// A histogram of accesses over time: 48 bars across the span of the
/// records, with the first and last access marked. Hand-written SVG: a
/// plotting crate would cost more build time than these few shapes.
pub fn timeline_svg(records: &[AccessRecord], title: &str) -> String {
    const W: f64 = 720.0;
    const H: f64 = 220.0;
    const BINS: usize = 48;
    let (left, right, top, bottom) = (50.0, 20.0, 40.0, 40.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n<text x=\"{left}\" y=\"22\" font-size=\"14\" font-weight=\"bold\">{title} ({} in total)</text>\n",
        records.len()
    );
    let (Some(first), Some(last)) = (records.first().map(|r| r.at), records.last().map(|r| r.at))
    else {
        svg.push_str("<text x=\"50\" y=\"110\">no accesses in the window</text>\n</svg>\n");
        return svg;
    };
    let span = (last - first).max(1) as f64;
    let mut bins = [0usize; BINS];
    for r in records {
        let i = (((r.at - first) as f64 / span) * (BINS as f64 - 1.0)).round() as usize;
        bins[i.min(BINS - 1)] += 1;
    }
    let max = *bins.iter().max().unwrap_or(&1) as f64;
    let plot_w = W - left - right;
    let plot_h = H - top - bottom;
    let bar_w = plot_w / BINS as f64;
    for (i, n) in bins.iter().enumerate() {
        if *n == 0 {
            continue;
        }
        let h = plot_h * (*n as f64) / max;
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#b3261e\"><title>{n}</title></rect>",
            left + i as f64 * bar_w + 1.0,
            top + plot_h - h,
            (bar_w - 2.0).max(1.0),
            h
        );
    }
    let base = top + plot_h;
    let _ = writeln!(
        svg,
        "<line x1=\"{left}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#1d2733\"/>",
        W - right
    );
    let _ = writeln!(
        svg,
        "<text x=\"{left}\" y=\"{}\">first {}</text>",
        base + 16.0,
        human(first)
    );
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">last {}</text>",
        W - right,
        base + 16.0,
        human(last)
    );
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        left - 6.0,
        top + 4.0,
        max as usize
    );
    svg.push_str("</svg>\n");
    svg
}

fn write_svg(path: &Path, records: &[AccessRecord], title: &str) -> anyhow::Result<()> {
    std::fs::write(path, timeline_svg(records, title))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Run the anomaly rules window by window over the filter's time span.
pub async fn anomalies(
    store: &Store,
    args: &FilterArgs,
    purpose: &ForensicPurpose,
) -> anyhow::Result<String> {
    let filter = args.filter()?;
    let thresholds = hippo_store::AnomalyThresholds::default();
    let anomalies = store.unscoped_anomalies();
    let first = match filter.from {
        Some(from) => from,
        None => store
            .unscoped_forensics()
            .accesses(&ForensicFilter {
                limit: Some(1),
                ..Default::default()
            })
            .await?
            .first()
            .map_or(0, |r| r.at),
    };
    let last = filter.to.unwrap_or_else(hippo_core::time_util::now_millis);
    let step = thresholds.window_ms;
    let windows = ((last - first) / (step / 2).max(1) + 1).max(1) as usize;
    let mut progress = crate::progress::Progress::new("scanning", windows);
    let mut raised = Vec::new();
    let mut from = first;
    while from <= last {
        // Overlapping windows so a burst across a boundary is still seen.
        raised.extend(anomalies.scan(from, from + step, thresholds).await?);
        progress.step();
        from += step / 2;
    }
    let alerts = anomalies.alerts(10_000).await?;
    record_query(
        store,
        purpose,
        "hippo forensics anomalies",
        format!("raised={} alerts={} {filter:?}", raised.len(), alerts.len()),
    )
    .await?;
    Ok(match args.format {
        Format::Json => serde_json::to_string_pretty(&alerts)?,
        Format::Table | Format::Markdown => {
            let mut out = format!(
                "{} new alert(s); all alerts:\n| raised | rule | actor | patient | count | detail |\n|---|---|---|---|---|---|\n",
                raised.len()
            );
            for a in &alerts {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    rfc3339(a.raised_at),
                    a.rule,
                    a.actor.as_deref().unwrap_or("-"),
                    a.patient_id.as_deref().unwrap_or("-"),
                    a.count,
                    a.detail
                );
            }
            out
        }
    })
}
