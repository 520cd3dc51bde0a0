//! The patient's access history, grouped so that list views do not drown
//! single reads: consecutive records of one kind of look by the same
//! actor at the same facility on the same day become one line with a
//! count; a read of one object (a finding, a PDF) always stays its own line.

use hippo_core::time_util::UnixMillis;
use hippo_store::AccessEntry;

/// One line of the history: one record, or a run of list-like ones.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessLine<'a> {
    /// The newest record of the line (its proof is offered).
    pub newest: &'a AccessEntry,
    /// When the oldest record of the run happened.
    pub oldest_at: UnixMillis,
    pub count: usize,
}

/// A look at many things at once (a list) or at no one object, rather
/// than at one finding or report.
fn list_like(e: &AccessEntry) -> bool {
    matches!(
        e.action.as_str(),
        "own_findings_list" | "patient_findings_list" | "retrieval_code_list"
    ) || (e.resource_id.is_none() && e.outcome == "success")
}

fn same_run(a: &AccessEntry, b: &AccessEntry, day: &impl Fn(UnixMillis) -> String) -> bool {
    list_like(a)
        && list_like(b)
        && a.action == b.action
        && a.outcome == b.outcome
        && a.facility == b.facility
        && a.actor_kind == b.actor_kind
        && a.by_self == b.by_self
        && a.staff_name == b.staff_name
        && day(a.at) == day(b.at)
}

/// Group `entries` (newest first); `day` names the calendar day of a time
/// in the facility's time zone. A run of list-like records (uninterrupted
/// by a single read) folds into one line per actor, facility, kind and
/// day: a list across two facilities writes one record per facility, so
/// their records interleave.
pub fn group<'a>(
    entries: impl IntoIterator<Item = &'a AccessEntry>,
    day: impl Fn(UnixMillis) -> String,
) -> Vec<AccessLine<'a>> {
    let mut lines: Vec<AccessLine<'a>> = Vec::new();
    let mut run_start = 0;
    for entry in entries {
        if !list_like(entry) {
            lines.push(AccessLine {
                newest: entry,
                oldest_at: entry.at,
                count: 1,
            });
            run_start = lines.len();
            continue;
        }
        match lines[run_start..]
            .iter_mut()
            .find(|line| same_run(line.newest, entry, &day))
        {
            Some(line) => {
                line.count += 1;
                line.oldest_at = entry.at;
            }
            None => lines.push(AccessLine {
                newest: entry,
                oldest_at: entry.at,
                count: 1,
            }),
        }
    }
    lines
}
