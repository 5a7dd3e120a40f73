//! Concurrent commands on one platform (issue: the event path in real operation): commands the
//! service decides are serialised per stream in the process, so 32 clients recording services
//! on one platform are all decided, none refused for contention; a client that states the
//! version it expects still gets its conflict, as it should.

use std::sync::Arc;

use roster_domain::actor::{Actor, Role};
use roster_domain::commands::{PlatformCommand, RecordService, ServiceRecord};
use roster_domain::request::{CommandRequest, Target};
use roster_domain::samples::uscc_with_check;
use roster_domain::values::{Cny, Uscc};
use uuid::Uuid;

use crate::api::actors;
use crate::app::TestApp;
use crate::dynamic::listed_platform;

fn service(platform_id: &str, n: usize, expected_version: Option<u64>) -> CommandRequest {
    CommandRequest {
        command_id: Uuid::new_v4(),
        business_date: None,
        expected_version,
        correlation_id: None,
        causation_id: None,
        target: Target::Platform {
            platform_id: platform_id.to_string(),
            command: PlatformCommand::RecordService(RecordService {
                service_id: None,
                dated: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
                record: ServiceRecord::EnterpriseServed {
                    enterprise_uscc: Uscc::parse(&uscc_with_check(&format!(
                        "91440300{:09}",
                        700_000_000 + n
                    )))
                    .unwrap(),
                    enterprise_name: format!("示例客户 {n}"),
                    contract_cny: Cny(100_000),
                },
            }),
        },
    }
}

pub(crate) async fn thirty_two_clients_on_one_platform_are_all_decided(app: TestApp) {
    let a = actors(&app).await;
    let id = listed_platform(&app, &a, 0, "2025-12-01").await;
    app.clock.set("2026-01-10");
    let ministry = Actor {
        id: "clerk".into(),
        role: Role::Ministry,
        jurisdiction: None,
    };
    let state = Arc::new(app.state.clone());
    let before = app.all_events().await.len();
    let mut clients = Vec::new();
    for c in 0..32 {
        let (state, ministry, id) = (state.clone(), ministry.clone(), id.clone());
        clients.push(tokio::spawn(async move {
            let mut refused = Vec::new();
            for k in 0..8 {
                if let Err(r) = state
                    .service()
                    .execute(&ministry, service(&id, c * 100 + k, None))
                    .await
                {
                    refused.push(r);
                }
            }
            refused
        }));
    }
    let mut refused = Vec::new();
    for c in clients {
        refused.extend(c.await.unwrap());
    }
    assert!(
        refused.is_empty(),
        "{} refused: {:?}",
        refused.len(),
        refused.first()
    );
    assert_eq!(app.all_events().await.len(), before + 32 * 8);
    // A stated expected version still conflicts once the stream moved on.
    let r = state
        .service()
        .execute(&ministry, service(&id, 9_999, Some(3)))
        .await;
    assert_eq!(r.unwrap_err().code, "version_conflict");
}

on_every_store!(thirty_two_clients_on_one_platform_are_all_decided);
