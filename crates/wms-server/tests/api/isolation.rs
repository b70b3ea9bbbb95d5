//! Tenant isolation: the cross-tenant matrix over every endpoint that takes an id, and on
//! PostgreSQL the row-level-security guard rails, checked as the application role.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wms_core::role::Role;

use crate::both_backends;
use crate::harness::{Backend, TestServer, fresh_pg_database, pg_urls};

both_backends!(foreign_ids_are_not_found_change_nothing_and_are_audited);

async fn foreign_ids_are_not_found_change_nothing_and_are_audited(b: Backend) {
    let s = TestServer::start(b).await;
    let ta = s.tenant("alpha").await;
    let tb = s.tenant("bravo").await;
    let admin_a = s
        .mfa_user("alpha", ta, "admin@alpha.example", Role::Admin)
        .await;
    let packer_a = s.user(ta, "packer@alpha.example", Role::Packer).await;
    let admin_b = s
        .mfa_user("bravo", tb, "admin@bravo.example", Role::Admin)
        .await;
    let tok_a = s.login("alpha", &admin_a).await;
    let tok_b = s.login("bravo", &admin_b).await;
    let packer_tok = s.login("alpha", &packer_a).await;
    let sessions = s.get("/api/v1/sessions", &tok_a.access).await;
    let session_a = sessions.body[0]["id"].as_str().expect("session").to_owned();

    let denied_before = s
        .audit_actions(tb)
        .await
        .iter()
        .filter(|a| *a == "access_denied")
        .count();
    let matrix: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/v1/users/{}", packer_a.id), None),
        (
            Method::PUT,
            format!("/api/v1/users/{}/role", packer_a.id),
            Some(json!({"role": "admin"})),
        ),
        (
            Method::POST,
            format!("/api/v1/users/{}/mfa/reset", admin_a.id),
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/sessions/{session_a}"),
            None,
        ),
    ];
    for (method, path, body) in &matrix {
        let r = s
            .call(method.clone(), path, Some(&tok_b.access), body.clone())
            .await;
        r.assert_problem(StatusCode::NOT_FOUND, "not_found");
    }
    let denied_after = s
        .audit_actions(tb)
        .await
        .iter()
        .filter(|a| *a == "access_denied")
        .count();
    assert_eq!(
        denied_after - denied_before,
        matrix.len(),
        "one access_denied event per attempt"
    );

    // Nothing changed in tenant A: the packer is still a packer, A's admin still has MFA and a
    // working session, and A's audit log has no trace of B's attempts.
    let me = s.get("/api/v1/me", &packer_tok.access).await;
    assert_eq!(me.body["role"], "packer");
    let a_users = s.get("/api/v1/users", &tok_a.access).await;
    let admin_row = a_users
        .body
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["email"] == "admin@alpha.example")
        .cloned()
        .expect("admin");
    assert_eq!(admin_row["mfa_enrolled"], true);
    assert!(
        !s.audit_actions(ta)
            .await
            .contains(&"access_denied".to_owned())
    );
    // And B cannot list A's users.
    let b_users = s.get("/api/v1/users", &tok_b.access).await;
    assert!(b_users.body.as_array().expect("users").iter().all(|u| {
        u["email"]
            .as_str()
            .unwrap_or("")
            .ends_with("@bravo.example")
    }));
}

/// The guard tests of the design: every table with a tenant_id has RLS enabled and forced; the
/// application role is neither superuser nor BYPASSRLS; a query without a tenant filter, run as
/// the application role, sees nothing foreign; the application role cannot rewrite the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_row_level_security_holds_for_the_application_role() {
    use sqlx::{Connection, Row};
    if pg_urls().is_none() {
        return;
    }
    let (owner_url, app_url) = fresh_pg_database().await;
    let s = TestServer::start_with(Backend::Postgres, |st| {
        st.database_owner_url = Some(owner_url.clone());
        st.database_url = Some(app_url.clone());
    })
    .await;
    let ta = s.tenant("alpha").await;
    let tb = s.tenant("bravo").await;
    s.user(ta, "a@alpha.example", Role::Packer).await;
    s.user(tb, "b@bravo.example", Role::Packer).await;

    let mut app = sqlx::PgConnection::connect(&app_url)
        .await
        .expect("app role");
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut app)
            .await
            .expect("role");
    assert!(
        !superuser && !bypass,
        "the application role must not bypass RLS"
    );
    let owns: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pg_tables WHERE tableowner = current_user")
            .fetch_one(&mut app)
            .await
            .expect("owns");
    assert_eq!(owns, 0, "the application role owns nothing");

    let unguarded: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' \
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) \
           AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
    )
    .fetch_all(&mut app)
    .await
    .expect("catalog");
    assert!(
        unguarded.is_empty(),
        "tables with tenant_id but without ENABLE + FORCE ROW LEVEL SECURITY: {unguarded:?}"
    );
    let policies: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pg_policies WHERE schemaname = 'public'")
            .fetch_one(&mut app)
            .await
            .expect("policies");
    assert!(policies >= 7);

    // No tenant set: nothing at all. A forgotten WHERE returns nothing foreign.
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut app)
        .await
        .expect("count");
    assert_eq!(n, 0);
    let mut tx = app.begin().await.expect("begin");
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(ta.to_string())
        .execute(&mut *tx)
        .await
        .expect("set");
    let rows = sqlx::query("SELECT tenant_id FROM users")
        .fetch_all(&mut *tx)
        .await
        .expect("users");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<String, _>(0), ta.to_string());
    // Writing a row for another tenant is refused by the policy's WITH CHECK.
    let foreign = sqlx::query("UPDATE users SET tenant_id = $1")
        .bind(tb.to_string())
        .execute(&mut *tx)
        .await;
    assert!(foreign.is_err(), "moving a row to another tenant must fail");
    tx.rollback().await.ok();

    // Append-only audit log for the application role.
    let mut tx = app.begin().await.expect("begin");
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(ta.to_string())
        .execute(&mut *tx)
        .await
        .expect("set");
    let upd = sqlx::query("UPDATE audit_events SET detail = 'x'")
        .execute(&mut *tx)
        .await;
    assert!(
        upd.is_err(),
        "the application role must not update audit events"
    );
    tx.rollback().await.ok();
    let mut tx = app.begin().await.expect("begin");
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(ta.to_string())
        .execute(&mut *tx)
        .await
        .expect("set");
    let del = sqlx::query("DELETE FROM audit_events")
        .execute(&mut *tx)
        .await;
    assert!(
        del.is_err(),
        "the application role must not delete audit events"
    );
    tx.rollback().await.ok();
}
