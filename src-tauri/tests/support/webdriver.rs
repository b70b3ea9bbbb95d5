//! A minimal W3C WebDriver client over HTTP (reqwest), enough to drive the real app window
//! through `tauri-driver`: sessions, finding elements, typing, clicking, reading text, key
//! actions on the focused document (a barcode scanner is a keyboard).

use std::time::Duration;

use serde_json::{Value, json};

pub const ENTER: char = '\u{E007}';
pub const F2: char = '\u{E032}';

/// The W3C element key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Session {
    http: reqwest::Client,
    base: String,
    id: String,
}

#[derive(Debug, Clone)]
pub struct Element(String);

fn value(v: Value) -> Result<Value, String> {
    if let Some(err) = v.get("value").and_then(|v| v.get("error")) {
        return Err(format!(
            "{}: {}",
            err,
            v["value"]["message"].as_str().unwrap_or_default()
        ));
    }
    Ok(v.get("value").cloned().unwrap_or(Value::Null))
}

impl Session {
    /// Starts the app at `application` through the driver at `driver` (e.g. `http://127.0.0.1:4444`).
    pub async fn start(driver: &str, application: &str) -> Result<Self, String> {
        // reqwest is built without a default TLS provider in this workspace (plain HTTP here).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| e.to_string())?;
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            // A form's submit button is handled in-page (no navigation): do not wait for one.
            "pageLoadStrategy": "none",
            "tauri:options": {"application": application}
        }}});
        let r: Value = http
            .post(format!("{driver}/session"))
            .json(&caps)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let v = value(r)?;
        let id = v["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session id in {v}"))?
            .to_owned();
        let s = Self {
            http,
            base: driver.to_owned(),
            id,
        };
        // A form submitted in-page looks like a navigation to WebKitWebDriver, which would wait
        // for it (up to the page-load timeout) before answering: keep that wait short.
        s.post(
            "/timeouts",
            json!({"pageLoad": 1000, "script": 30000, "implicit": 0}),
        )
        .await?;
        Ok(s)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = format!("{}/session/{}{}", self.base, self.id, path);
        let t0 = std::time::Instant::now();
        let what = format!("{method} {path}");
        let req = self.http.request(method, url);
        let req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        let r: Value = req
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if t0.elapsed() > Duration::from_secs(2) {
            eprintln!("webdriver: {what} took {:?}", t0.elapsed());
        }
        value(r)
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// The first element matching a CSS selector, if any.
    pub async fn find(&self, css: &str) -> Option<Element> {
        let v = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await
            .ok()?;
        v.get(ELEMENT)
            .and_then(Value::as_str)
            .map(|s| Element(s.to_owned()))
    }

    /// Waits up to `secs` for an element matching `css`.
    pub async fn wait_for(&self, css: &str, secs: u64) -> Result<Element, String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(e) = self.find(css).await {
                return Ok(e);
            }
            if std::time::Instant::now() > deadline {
                return Err(format!("no `{css}` within {secs} s"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits up to `secs` for the page's text to contain `needle`.
    pub async fn wait_text(&self, css: &str, needle: &str, secs: u64) -> Result<String, String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        let mut last = String::new();
        loop {
            if let Some(e) = self.find(css).await {
                last = self.text(&e).await.unwrap_or_default();
                if last.contains(needle) {
                    return Ok(last);
                }
            }
            if std::time::Instant::now() > deadline {
                return Err(format!("`{css}` never showed `{needle}`; last: {last}"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn text(&self, e: &Element) -> Result<String, String> {
        Ok(self
            .get(&format!("/element/{}/text", e.0))
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    pub async fn click(&self, e: &Element) -> Result<(), String> {
        self.post(&format!("/element/{}/click", e.0), json!({}))
            .await?;
        Ok(())
    }

    pub async fn clear(&self, e: &Element) -> Result<(), String> {
        self.post(&format!("/element/{}/clear", e.0), json!({}))
            .await?;
        Ok(())
    }

    pub async fn type_into(&self, e: &Element, text: &str) -> Result<(), String> {
        self.post(&format!("/element/{}/value", e.0), json!({"text": text}))
            .await?;
        Ok(())
    }

    /// Types `text` as key presses on whatever has focus — what a keyboard-wedge scanner does —
    /// followed by Enter.
    pub async fn scan(&self, text: &str) -> Result<(), String> {
        self.keys(&format!("{text}{ENTER}")).await
    }

    /// Presses these keys (WebDriver key codes such as [`ENTER`], [`F2`]) on whatever has focus.
    /// Unlike an element click, this never waits for a navigation that an in-page form does not
    /// make.
    pub async fn keys(&self, text: &str) -> Result<(), String> {
        let mut actions = Vec::new();
        for c in text.chars() {
            actions.push(json!({"type": "keyDown", "value": c.to_string()}));
            actions.push(json!({"type": "keyUp", "value": c.to_string()}));
        }
        match self
            .post(
                "/actions",
                json!({"actions": [{"type": "key", "id": "scanner", "actions": actions}]}),
            )
            .await
        {
            // The keys were delivered; only the wait for a navigation ran out (see `start`).
            Err(e) if e.contains("timeout") => {}
            other => {
                other?;
            }
        }
        self.call(reqwest::Method::DELETE, "/actions", None).await?;
        Ok(())
    }

    /// Runs a script in the window and returns its value (for what WebDriver cannot do through
    /// the native widgets, e.g. choosing an option of a `<select>`).
    pub async fn execute(&self, script: &str) -> Result<Value, String> {
        self.post("/execute/sync", json!({"script": script, "args": []}))
            .await
    }

    /// Ends the session (closes the app).
    pub async fn quit(self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.id))
            .send()
            .await;
    }
}
