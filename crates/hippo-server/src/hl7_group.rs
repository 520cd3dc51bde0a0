//! Group commit for the MLLP listener: one writer task takes the messages
//! of all connections that wait for storage and stores what is queued (up
//! to [`MAX_GROUP`]) in one transaction, one savepoint per message, one
//! commit and so one fsync for all (`hippo_store::store_hl7_group`). Each
//! connection is answered only after the commit that holds its message.
//!
//! Before, every connection opened its own write transaction; on SQLite
//! they queued for the one write lock by sleeping in the busy handler
//! (1–100 ms naps) and each paid its own fsync. The queue is bounded by
//! the listener's in-flight limit (a message holds its permit until
//! answered), so it never holds more than that.

use hippo_store::{Admitted, IntakeReceipt, PreparedIntake, StaffScope, StoreError};
use tokio::sync::{mpsc, oneshot};

/// The most messages one transaction takes: enough to spread a commit's
/// fsync thin, small enough that one group holds the write lock briefly.
pub const MAX_GROUP: usize = 64;

type Answer = Result<Admitted<IntakeReceipt>, StoreError>;

struct Job {
    scope: StaffScope,
    prepared: PreparedIntake,
    reply: oneshot::Sender<Answer>,
}

/// The handle connections send their prepared messages to.
#[derive(Clone)]
pub struct GroupWriter {
    jobs: mpsc::Sender<Job>,
}

impl GroupWriter {
    /// Start the writer task; `capacity` bounds the queue (use the
    /// listener's in-flight limit).
    pub fn spawn(capacity: usize) -> Self {
        let (jobs, queue) = mpsc::channel(capacity.max(1));
        tokio::spawn(write_groups(queue));
        Self { jobs }
    }

    /// Store `prepared` in the next group; returns once its group has
    /// committed (or failed).
    pub async fn store(&self, scope: StaffScope, prepared: PreparedIntake) -> Answer {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            scope,
            prepared,
            reply,
        };
        if let Err(refused) = self.jobs.send(job).await {
            let job = refused.0;
            job.scope.abandon_hl7(&job.prepared).await;
            return Err(StoreError::Overloaded("hl7 group writer stopped"));
        }
        answer
            .await
            .unwrap_or(Err(StoreError::Overloaded("hl7 group writer stopped")))
    }
}

async fn write_groups(mut queue: mpsc::Receiver<Job>) {
    let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
        let batch: Vec<(&StaffScope, &PreparedIntake)> = group
            .iter()
            .map(|job| (&job.scope, &job.prepared))
            .collect();
        let answers = hippo_store::store_hl7_group(&batch).await;
        drop(batch);
        // A connection gone meanwhile drops its receiver; its message is
        // stored and the lab's retry is answered as a duplicate.
        for (job, answer) in group.drain(..).zip(answers) {
            let _ = job.reply.send(answer);
        }
    }
}
