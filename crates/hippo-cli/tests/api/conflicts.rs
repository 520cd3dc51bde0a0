//! Races on uniqueness rules answer "conflict", never a database failure:
//! many concurrent creations with one e-mail give exactly one success and
//! a clear conflict for every other, on SQLite and on PostgreSQL (this
//! file runs in both passes).

use futures_util::future::join_all;
use hippo_core::StaffRole;
use hippo_store::StoreError;

use crate::helpers::spawn_app;

const RACERS: usize = 32;

fn assert_one_winner<T: std::fmt::Debug>(results: Vec<Result<T, StoreError>>) {
    let mut won = 0;
    for result in results {
        match result {
            Ok(_) => won += 1,
            Err(StoreError::Conflict(message)) => assert_eq!(message, "e-mail already in use"),
            Err(other) => panic!("a race answered {other:?}, not a conflict"),
        }
    }
    assert_eq!(won, 1, "exactly one creation wins");
}

#[tokio::test]
async fn concurrent_creations_with_one_email_give_one_success_and_conflicts() {
    let app = spawn_app().await;
    let provisioning = app.store.unscoped_provisioning();
    let tenant = app.world.tenants[0].id;

    let staff = join_all((0..RACERS).map(|n| {
        let provisioning = provisioning.clone();
        async move {
            provisioning
                .create_staff(
                    tenant,
                    "Race@Staff.example",
                    &format!("Racer {n}"),
                    StaffRole::Assistant,
                    "unused",
                )
                .await
        }
    }))
    .await;
    assert_one_winner(staff);

    let accounts = join_all((0..RACERS).map(|n| {
        let provisioning = provisioning.clone();
        async move {
            provisioning
                .create_account("race@patient.example", &format!("Racer {n}"), "unused")
                .await
        }
    }))
    .await;
    assert_one_winner(accounts);
}
