//! Login with Amazon: good, wrong secret, unknown and revoked refresh tokens; SP-API token checks.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::start;

const PATH: &str = "/orders/2026-01-01/orders/503-0000000-0000000";

#[tokio::test]
async fn refresh_grant_and_its_failures() {
    let env = start().await;
    let token = env.seller("A1LWA", false).await;
    assert!(token.starts_with("Atza|"));
    let (s, b) = env
        .lwa(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "Atzr|A1LWA"),
            ("client_id", "app-1"),
            ("client_secret", "app-secret"),
        ])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["token_type"], "bearer");
    assert_eq!(b["expires_in"], 3600);
    assert_eq!(b["refresh_token"], "Atzr|A1LWA");

    let (s, b) = env
        .lwa(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "Atzr|A1LWA"),
            ("client_id", "app-1"),
            ("client_secret", "wrong"),
        ])
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(b["error"], "invalid_client");
    assert!(b["error_description"].is_string());

    let (s, b) = env
        .lwa(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "Atzr|unknown"),
            ("client_id", "app-1"),
            ("client_secret", "app-secret"),
        ])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "invalid_grant");

    let (s, b) = env.lwa(&[("grant_type", "client_credentials")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "unsupported_grant_type");

    // The issued token works (404: no such order, but authenticated).
    assert_eq!(env.get(&token, PATH).await.status, 404);

    // Revocation: LWA answers invalid_grant and the issued token stops working.
    let (s, _) = env
        .ctl_post("/amazon/sellers/A1LWA/revoke", json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = env
        .lwa(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "Atzr|A1LWA"),
            ("client_id", "app-1"),
            ("client_secret", "app-secret"),
        ])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"], "invalid_grant");
    let r = env.get(&token, PATH).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.first_error_code(), "Unauthorized");
    assert!(r.request_id.is_some() && r.rate_limit.is_none());
}

#[tokio::test]
async fn expired_and_missing_tokens_are_403() {
    let env = start().await;
    let token = env.seller("A1EXP", false).await;
    let (s, b) = env
        .ctl_post("/amazon/sellers/A1EXP/expire-tokens", json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["expired"], 1);
    let r = env.get(&token, PATH).await;
    assert_eq!(r.status, 403);
    assert!(
        r.json()["errors"][0]["details"]
            .as_str()
            .is_some_and(|d| d.contains("expired"))
    );
    let r = env.get("", PATH).await;
    assert_eq!(r.status, 403);

    // A configurable lifetime: a token of 1 s is refused 1.2 s later.
    let (s, _) = env
        .ctl_post_put_settings(json!({"accessTokenLifetimeSecs": 1}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let token = env.seller("A1EXP2", false).await;
    assert_eq!(env.get(&token, PATH).await.status, 404);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(env.get(&token, PATH).await.status, 403);
}

impl crate::common::Env {
    pub async fn ctl_post_put_settings(
        &self,
        body: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        let r = self
            .http
            .put(self.control_url("/settings"))
            .json(&body)
            .send()
            .await
            .expect("settings");
        (r.status(), r.json().await.expect("json"))
    }
}
