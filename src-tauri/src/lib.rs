//! Jilian WMS desktop app: a thin Tauri shell. Every command is a call into `wms-client`'s
//! [`Station`]; the web UI (`../ui`) never talks to the server and never holds a token. The
//! commands, their arguments, results, error codes and events are the contract in
//! `docs/desktop-ipc.md`.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, State};
use tokio::sync::RwLock;
use wms_client::desk::{self, MovementKind, MovementQuery, StockQuery};
use wms_client::print::{self, PrinterTarget};
use wms_client::station::{LoginParams, StationOptions};
use wms_client::{Station, StationError, SyncEvent};
use zeroize::Zeroizing;

mod commands;
pub mod error;
pub mod settings;
pub mod view;

pub use commands::COMMANDS;
use error::{AppError, Result};
use settings::{DeskSettings, Locale, PrinterProfile};
use view::{LabelsRefusal, OrderView, PackView, feedback_of, labels_verified};

/// The event carrying sync progress.
pub const SYNC_PROGRESS: &str = "sync://progress";
/// The event carrying the station's status (after changes, and every 15 s).
pub const STATION_STATUS: &str = "station://status";
/// How many recent dispatches the status strip follows.
const RECENT: usize = 5;

/// The app's state: the station (when logged in), desk settings and the recent dispatches.
pub struct Desk {
    data_dir: PathBuf,
    station: RwLock<Option<Station>>,
    settings: std::sync::Mutex<DeskSettings>,
    recent: std::sync::Mutex<VecDeque<String>>,
}

impl Desk {
    /// Opens the station kept in `data_dir`, if this installation is logged in.
    pub async fn open(data_dir: PathBuf) -> Self {
        let settings = DeskSettings::load(&data_dir);
        let station = match Station::open(&data_dir, options(&settings)).await {
            Ok(s) => Some(s),
            Err(StationError::NotLoggedIn) => None,
            Err(e) => {
                tracing::warn!(error = %e, "the station could not be opened: log in again");
                None
            }
        };
        Self {
            data_dir,
            station: RwLock::new(station),
            settings: std::sync::Mutex::new(settings),
            recent: std::sync::Mutex::new(VecDeque::new()),
        }
    }

    fn settings(&self) -> DeskSettings {
        self.settings
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn update_settings(&self, f: impl FnOnce(&mut DeskSettings)) -> Result<DeskSettings> {
        let mut guard = self
            .settings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard);
        guard
            .save(&self.data_dir)
            .map_err(|e| AppError::new("io", format!("saving the desk settings failed: {e}")))?;
        Ok(guard.clone())
    }

    fn remember_dispatch(&self, order_id: &str) {
        let mut r = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        r.retain(|id| id != order_id);
        r.push_front(order_id.to_owned());
        r.truncate(RECENT);
    }

    fn recent(&self) -> Vec<String> {
        self.recent
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }
}

fn options(settings: &DeskSettings) -> StationOptions {
    let mut o = StationOptions::default();
    if let Some(font) = std::env::var_os("WMS_LABEL_FONT") {
        o.label_font = PathBuf::from(font);
    }
    o.label_dpi = Some(settings.profile.label_format.dpi());
    o
}

/// Runs the body with the logged-in station, or refuses with `not_logged_in`. When the body
/// fails with `device_wiped` / `device_revoked` (an admin erased this station), the station is
/// dropped: the next screen is the login.
macro_rules! with_station {
    ($desk:expr, |$s:ident| $body:expr) => {{
        let guard = $desk.station.read().await;
        let $s = guard.as_ref().ok_or_else(AppError::not_logged_in)?;
        let result: Result<_> = async { $body }.await;
        if let Err(e) = &result
            && is_erasure(&e.code)
        {
            drop(guard);
            *$desk.station.write().await = None;
        }
        result
    }};
}

// After `with_station!`, which its commands use.
mod connections;
mod export;
mod login_gates;
mod office;
mod privacy;
mod receiving;
mod slip;
mod tray;
pub mod updates;

/// The codes after which this station's local data is gone (see wms-client's `device`).
fn is_erasure(code: &str) -> bool {
    matches!(code, "device_wiped" | "device_revoked")
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    version: &'static str,
    logged_in: bool,
    server: Option<String>,
    tenant: Option<String>,
    email: Option<String>,
    role: Option<String>,
    secret_store: wms_client::SecretStoreKind,
    secret_store_description: &'static str,
    locale: Locale,
}

async fn app_info_of(desk: &Desk) -> AppInfo {
    let guard = desk.station.read().await;
    let mut settings = desk.settings();
    if let Some(s) = guard.as_ref()
        && let Ok(me) = s.me().await
    {
        settings = desk
            .update_settings(|st| {
                st.last_role = Some(me.role.clone());
                if me.email.is_some() {
                    st.last_email.clone_from(&me.email);
                }
            })
            .unwrap_or(settings);
    }
    // Before a login: the store a login would use (the OS keyring when it works, else the
    // key-file fallback, which the login screen warns about).
    let store = match guard.as_ref() {
        Some(s) => s.secret_store_kind(),
        // Asking the Secret Service is a D-Bus round trip (and may start the keyring daemon).
        None => {
            tauri::async_runtime::spawn_blocking(|| wms_client::secrets::auto_kind("jilian-probe"))
                .await
                .unwrap_or(wms_client::SecretStoreKind::File)
        }
    };
    AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        logged_in: guard.is_some(),
        server: guard.as_ref().map(|s| s.server().to_owned()),
        tenant: guard.as_ref().map(|s| s.tenant().to_owned()),
        email: guard.as_ref().and(settings.last_email.clone()),
        role: guard.as_ref().and(settings.last_role.clone()),
        secret_store: store,
        secret_store_description: store.describe(),
        locale: settings.locale,
    }
}

#[tauri::command]
async fn app_info(desk: State<'_, Desk>) -> Result<AppInfo> {
    Ok(app_info_of(&desk).await)
}

#[tauri::command]
async fn set_locale(desk: State<'_, Desk>, locale: Locale) -> Result<()> {
    desk.update_settings(|s| s.locale = locale)?;
    Ok(())
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerProbe {
    server: String,
    fingerprint: String,
    subject: Option<String>,
}

#[tauri::command]
async fn probe_server(server: String) -> Result<ServerProbe> {
    let server = server.trim().trim_end_matches('/').to_owned();
    let fp = desk::probe_fingerprint(&server).await?;
    Ok(ServerProbe {
        server,
        fingerprint: fp.to_colon_hex(),
        subject: None,
    })
}

#[tauri::command]
#[allow(clippy::too_many_arguments)]
async fn login(
    app: AppHandle,
    desk: State<'_, Desk>,
    gates: State<'_, login_gates::Gates>,
    server: String,
    fingerprint: String,
    tenant: String,
    email: String,
    password: String,
    totp: Option<String>,
) -> Result<AppInfo> {
    let password = Zeroizing::new(password);
    for (field, v) in [("server", &server), ("tenant", &tenant), ("email", &email)] {
        if v.trim().is_empty() {
            return Err(AppError::invalid(format!("{field} is required")));
        }
    }
    if password.is_empty() {
        return Err(AppError::invalid("password is required"));
    }
    {
        let mut guard = desk.station.write().await;
        if guard.is_some() {
            return Err(AppError::new(
                "already_logged_in",
                "this station is logged in: log out first",
            ));
        }
        let params = LoginParams {
            server: server.trim().trim_end_matches('/').to_owned(),
            fingerprint: Some(fingerprint.trim().to_owned()),
            tenant: tenant.trim().to_owned(),
            email: email.trim().to_owned(),
            password,
            totp: totp.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()),
        };
        let station =
            login_gates::sign_in(&gates, &desk, &params, options(&desk.settings())).await?;
        desk.update_settings(|s| {
            s.last_email = Some(email.trim().to_owned());
            s.last_role = None;
        })?;
        *guard = Some(station);
    }
    let info = app_info_of(&desk).await;
    emit_status(&app, &desk).await;
    Ok(info)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogoutView {
    revoked_on_server: bool,
    outbox_discarded: i64,
}

#[tauri::command]
async fn logout(desk: State<'_, Desk>, force: bool) -> Result<LogoutView> {
    let mut guard = desk.station.write().await;
    let station = guard.take().ok_or_else(AppError::not_logged_in)?;
    match station.logout(force).await {
        Ok(o) => {
            desk.update_settings(|s| s.last_role = None)?;
            Ok(LogoutView {
                revoked_on_server: o.revoked_on_server,
                outbox_discarded: o.outbox_discarded,
            })
        }
        Err(e) => {
            // Refused (e.g. actions still queued): the station stays logged in.
            *guard = Station::open(&desk.data_dir, options(&desk.settings()))
                .await
                .ok();
            Err(e.into())
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrinterState {
    target: String,
    state: &'static str,
    message: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentDispatch {
    order_id: String,
    external_id: String,
    feedback: String,
    reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    online: bool,
    logged_in: bool,
    server: String,
    tenant: String,
    secret_store: wms_client::SecretStoreKind,
    secret_store_description: &'static str,
    outbox_pending: i64,
    outbox_conflicts: i64,
    cached_orders: i64,
    cached_skus: i64,
    cache_bytes: u64,
    last_sync: Option<String>,
    printer: Option<PrinterState>,
    recent: Vec<RecentDispatch>,
}

async fn printer_state(target: &str) -> PrinterState {
    let (state, message) = match target.parse::<PrinterTarget>() {
        Err(e) => ("offline", Some(e.to_string())),
        Ok(t @ PrinterTarget::Tcp { .. }) => match print::host_status(&t).await {
            Ok(s) if s.ready() => ("ready", None),
            Ok(s) if s.paper_out => ("paper_out", None),
            Ok(s) if s.head_open => ("head_open", None),
            Ok(s) if s.paused => ("paused", None),
            Ok(_) => ("unknown", None),
            Err(e) => ("offline", Some(e.to_string())),
        },
        // The spooler queues jobs whatever the printer's state.
        Ok(PrinterTarget::Cups { .. }) => ("unknown", None),
    };
    PrinterState {
        target: target.to_owned(),
        state,
        message,
    }
}

async fn status_of(desk: &Desk) -> Result<StatusView> {
    let profile = effective_profile(desk).await;
    with_station!(desk, |s| {
        let st = s.status().await?;
        let printer = match profile.label_printer.as_deref() {
            Some(t) => Some(printer_state(t).await),
            None => None,
        };
        let mut recent = Vec::new();
        for id in desk.recent() {
            let order = if st.online {
                s.find_order(&id).await
            } else {
                s.order(&id).await
            };
            if let Ok(o) = order {
                let worst = o
                    .packages
                    .iter()
                    .map(|p| feedback_of(p.feedback.as_ref()))
                    .max_by_key(|(f, _)| match f.as_str() {
                        "failed" => 4,
                        "pending" | "sent" => 3,
                        "confirmed" | "handled" => 2,
                        _ => 1,
                    })
                    .unwrap_or_else(|| ("pending".to_owned(), None));
                recent.push(RecentDispatch {
                    order_id: o.id.clone(),
                    external_id: o.external_id.clone(),
                    feedback: worst.0,
                    reason: worst.1,
                });
            }
        }
        Ok(StatusView {
            online: st.online,
            logged_in: st.logged_in,
            server: st.server,
            tenant: st.tenant,
            secret_store: st.secret_store,
            secret_store_description: st.secret_store_description,
            outbox_pending: st.outbox_pending,
            outbox_conflicts: st.outbox_conflicts,
            cached_orders: st.cached_orders,
            cached_skus: st.cached_skus,
            cache_bytes: st.cache_bytes,
            last_sync: st.last_sync,
            printer,
            recent,
        })
    })
}

async fn emit_status(app: &AppHandle, desk: &Desk) {
    match status_of(desk).await {
        Ok(s) => {
            let failed = tray::failed_count(s.recent.iter().map(|r| r.feedback.as_str()));
            tray::show_failed(app, desk.settings().locale, failed);
            let _ = app.emit(STATION_STATUS, s);
        }
        // Logged out: no dispatches of this station to warn about.
        Err(e) if e.code == "not_logged_in" => {
            tray::show_failed(app, desk.settings().locale, 0);
        }
        Err(_) => {}
    }
}

#[tauri::command]
async fn status(desk: State<'_, Desk>) -> Result<StatusView> {
    status_of(&desk).await
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Progress {
    phase: &'static str,
    done: i64,
    total: Option<i64>,
}

fn progress_of(e: &SyncEvent) -> Option<Progress> {
    let p = |phase, done: usize, total: Option<usize>| Progress {
        phase,
        done: i64::try_from(done).unwrap_or(i64::MAX),
        total: total.map(|t| i64::try_from(t).unwrap_or(i64::MAX)),
    };
    Some(match e {
        SyncEvent::Started => p("orders", 0, None),
        SyncEvent::Skus { loaded } => p("skus", *loaded, None),
        SyncEvent::OrdersListed { listed } => p("orders", 0, Some(*listed)),
        SyncEvent::Orders { loaded, total } => p("orders", *loaded, Some(*total)),
        SyncEvent::Feed { cursor, head } => Progress {
            phase: "changes",
            done: *cursor,
            total: Some(*head),
        },
        SyncEvent::Finished(_) => p("done", 1, Some(1)),
        SyncEvent::Removed { .. } => return None,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncView {
    mode: wms_client::SyncMode,
    orders: usize,
    skus: usize,
    removed: usize,
    ms: u128,
}

#[tauri::command]
async fn sync(app: AppHandle, desk: State<'_, Desk>) -> Result<SyncView> {
    let started = std::time::Instant::now();
    let report = with_station!(desk, |s| {
        let app2 = app.clone();
        let mut on = move |e: &SyncEvent| {
            if let Some(p) = progress_of(e) {
                let _ = app2.emit(SYNC_PROGRESS, p);
            }
        };
        Ok(s.sync(&mut on).await?)
    })?;
    emit_status(&app, &desk).await;
    Ok(SyncView {
        mode: report.mode,
        orders: report.orders,
        skus: report.skus,
        removed: report.removed_orders + report.removed_skus,
        ms: started.elapsed().as_millis(),
    })
}

async fn view_of(s: &Station, o: &wms_client::model::Order) -> OrderView {
    OrderView::new(o, &s.line_skus(o).await)
}

#[tauri::command]
async fn open_order(desk: State<'_, Desk>, code: String) -> Result<OrderView> {
    with_station!(desk, |s| {
        let o = s.find_order(&code).await?;
        Ok(view_of(s, &o).await)
    })
}

#[tauri::command]
async fn scan_item(
    app: AppHandle,
    desk: State<'_, Desk>,
    order_id: String,
    barcode: String,
    lot: Option<String>,
) -> Result<PackView> {
    if barcode.trim().is_empty() {
        return Err(AppError::invalid("empty scan"));
    }
    let out = with_station!(desk, |s| {
        let (r, o) = s
            .scan_item(
                &order_id,
                &barcode,
                lot.as_deref().filter(|l| !l.is_empty()),
            )
            .await?;
        Ok(pack_view(s, &o, r.recorded_offline).await)
    })?;
    after_pack(&app, &desk, &out).await;
    Ok(out)
}

/// A package; with `carrier` and `tracking_number` (both or neither) a pre-printed label's, the
/// only label there can be while the server is unreachable.
#[tauri::command]
async fn add_package(
    app: AppHandle,
    desk: State<'_, Desk>,
    order_id: String,
    box_type: String,
    weight_g: i64,
    carrier: Option<String>,
    tracking_number: Option<String>,
) -> Result<PackView> {
    if box_type.trim().is_empty() {
        return Err(AppError::invalid("choose a box type"));
    }
    if !(1..=50_000).contains(&weight_g) {
        return Err(AppError::invalid("the weight is 1–50,000 g"));
    }
    let p = desk::NewPackage {
        box_type: box_type.trim().to_owned(),
        weight_g,
        carrier: office::given(carrier),
        tracking_number: office::given(tracking_number),
    };
    let out = with_station!(desk, |s| {
        let added = s.add_package_noting(&order_id, &p).await?;
        Ok(pack_view(s, &added.order, added.recorded_offline).await)
    })?;
    after_pack(&app, &desk, &out).await;
    Ok(out)
}

async fn pack_view(s: &Station, o: &wms_client::model::Order, recorded_offline: bool) -> PackView {
    PackView {
        order: view_of(s, o).await,
        recorded_offline,
    }
}

/// An action recorded offline grew the outbox: the status strip shows it at once.
async fn after_pack(app: &AppHandle, desk: &Desk, out: &PackView) {
    if out.recorded_offline {
        emit_status(app, desk).await;
    }
}

#[tauri::command]
async fn book_label(
    desk: State<'_, Desk>,
    order_id: String,
    seq: i64,
    carrier: String,
) -> Result<OrderView> {
    if !matches!(carrier.as_str(), "yamato" | "sagawa") {
        return Err(AppError::invalid("carrier is yamato or sagawa"));
    }
    with_station!(desk, |s| {
        let (_, o) = s.book(&order_id, seq, &carrier).await.map_err(|e| {
            let e = AppError::from(e);
            if e.code != "offline" {
                return e;
            }
            // Booking needs the server (it holds the carrier account): say so, and what works.
            AppError::new(
                "label_unavailable_offline",
                "the server is unreachable: a label can only be booked through the server; use a pre-printed label, or wait for the connection",
            )
        })?;
        Ok(view_of(s, &o).await)
    })
}

#[derive(Debug, Serialize)]
pub struct Preview {
    png: String,
}

#[tauri::command]
async fn label_preview(desk: State<'_, Desk>, order_id: String, seq: i64) -> Result<Preview> {
    with_station!(desk, |s| {
        let png = s.label_preview(&order_id, seq).await?;
        Ok(Preview {
            png: base64::engine::general_purpose::STANDARD.encode(png),
        })
    })
}

/// The printers this station uses: the profile an admin set for this device on the server (as
/// the station last read it), else the one chosen here.
async fn effective_profile(desk: &Desk) -> PrinterProfile {
    let guard = desk.station.read().await;
    if let Some(s) = guard.as_ref()
        && let Ok(Some(info)) = s.device_info().await
        && let Some(p) = info.printer_profile.as_ref()
        && p.label_printer.is_some()
    {
        return desk_profile(p);
    }
    desk.settings().profile
}

async fn label_printer(desk: &Desk) -> Result<PrinterTarget> {
    let target = effective_profile(desk).await.label_printer.ok_or_else(|| {
        AppError::new(
            "printer_not_configured",
            "no label printer is chosen for this station",
        )
    })?;
    Ok(target.parse::<PrinterTarget>()?)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintView {
    order_id: String,
    package_seq: i64,
    printer: String,
    bytes: usize,
    sha256: String,
    source: wms_client::LabelSource,
    prints: Option<i64>,
}

#[tauri::command]
async fn print_label(
    app: AppHandle,
    desk: State<'_, Desk>,
    order_id: String,
    seq: Option<i64>,
    reprint_reason: Option<String>,
) -> Result<PrintView> {
    let printer = label_printer(&desk).await?;
    let reason = reprint_reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let out = with_station!(desk, |s| {
        Ok(s.print_label_because(&order_id, seq, &printer, reason)
            .await?)
    })?;
    emit_status(&app, &desk).await;
    Ok(PrintView {
        order_id: out.order_id,
        package_seq: out.package_seq,
        printer: out.printer,
        bytes: out.bytes,
        sha256: out.sha256,
        source: out.source,
        prints: out.prints,
    })
}

#[tauri::command]
async fn void_label(
    desk: State<'_, Desk>,
    order_id: String,
    seq: i64,
    reason: String,
) -> Result<OrderView> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(AppError::invalid(
            "a reason of 1–200 characters is required",
        ));
    }
    with_station!(desk, |s| {
        let o = s.void_label(&order_id, seq, reason).await?;
        Ok(view_of(s, &o).await)
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DispatchView {
    order_id: String,
    ship_time: String,
    queued: bool,
}

#[tauri::command]
async fn dispatch(
    app: AppHandle,
    desk: State<'_, Desk>,
    order_id: String,
    label_scan: String,
    label_scans: Option<Vec<String>>,
) -> Result<DispatchView> {
    let out = with_station!(desk, |s| {
        let order = match s.find_order(&order_id).await {
            Ok(o) => o,
            Err(StationError::OrderUnavailable(_)) => s.order(&order_id).await?,
            Err(e) => return Err(e.into()),
        };
        // Every package's label scanned back at the bench (`label_scans`, one per parcel); a
        // one-package order needs only `label_scan`.
        let scans = label_scans.iter().flatten().map(String::as_str);
        match labels_verified(&order, scans.chain([label_scan.as_str()])) {
            Ok(()) => {}
            Err(LabelsRefusal::Mismatch) => {
                return Err(AppError::new(
                    "label_mismatch",
                    "the scanned label is not this order's: scan the label on this parcel",
                ));
            }
            Err(LabelsRefusal::Unverified(missing)) => {
                let mut e = AppError::new(
                    "labels_unverified",
                    "not every package's label was scanned back: scan each parcel's label",
                );
                e.detail = Some(serde_json::json!({ "packages": missing }));
                return Err(e);
            }
        }
        Ok(s.dispatch(&order.id).await?)
    })?;
    desk.remember_dispatch(&out.order_id);
    emit_status(&app, &desk).await;
    Ok(DispatchView {
        queued: out.replay.pending > 0 || out.replay.offline,
        order_id: out.order_id,
        ship_time: out.ship_time,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrinterInfo {
    name: String,
    target: String,
    kind: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintersView {
    printers: Vec<PrinterInfo>,
    profile: PrinterProfile,
}

/// The CUPS queues (`lpstat -e`); none when CUPS is not installed or not running.
async fn cups_queues() -> Vec<String> {
    let out = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::process::Command::new("lpstat").arg("-e").output(),
    )
    .await;
    match out {
        Ok(Ok(o)) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

#[tauri::command]
async fn printers(desk: State<'_, Desk>) -> Result<PrintersView> {
    let profile = effective_profile(&desk).await;
    let mut printers: Vec<PrinterInfo> = cups_queues()
        .await
        .into_iter()
        .map(|q| PrinterInfo {
            target: format!("cups://{q}"),
            name: q,
            kind: "cups",
        })
        .collect();
    for t in [&profile.label_printer, &profile.document_printer]
        .into_iter()
        .flatten()
    {
        if t.starts_with("tcp://") && !printers.iter().any(|p| &p.target == t) {
            printers.push(PrinterInfo {
                name: t.trim_start_matches("tcp://").to_owned(),
                target: t.clone(),
                kind: "tcp",
            });
        }
    }
    Ok(PrintersView { printers, profile })
}

#[tauri::command]
async fn set_printer_profile(
    desk: State<'_, Desk>,
    profile: PrinterProfile,
) -> Result<PrinterProfile> {
    for t in [&profile.label_printer, &profile.document_printer]
        .into_iter()
        .flatten()
    {
        t.parse::<PrinterTarget>()?;
    }
    let saved = desk.update_settings(|s| s.profile = profile.clone())?;
    if let Some(s) = desk.station.write().await.as_mut() {
        s.set_label_dpi(Some(saved.profile.label_format.dpi()));
    }
    Ok(saved.profile)
}

#[derive(Debug, Serialize)]
pub struct TestPrint {
    printer: String,
    bytes: usize,
}

/// A test label: the station's name and the time, in a box, at the profile's resolution.
pub fn test_label(when: &str) -> Vec<u8> {
    format!(
        "^XA^CI28^PW812^LL600^FO30,30^GB752,540,4^FS\
         ^FO60,80^A0N,60,60^FDJilian WMS^FS\
         ^FO60,170^A0N,40,40^FDTest label / テスト^FS\
         ^FO60,240^A0N,30,30^FD{when}^FS\
         ^FO60,320^BY3^BCN,120,Y,N,N^FD1234567890^FS^XZ\n"
    )
    .into_bytes()
}

#[tauri::command]
async fn test_print(desk: State<'_, Desk>) -> Result<TestPrint> {
    if effective_profile(&desk).await.label_format == settings::LabelFormat::Pdf {
        // The test label is ZPL, which a PDF printer would print as text.
        return Err(AppError::new(
            "test_print_zpl_only",
            "the test label is ZPL and this station's labels are PDF: print a packing slip to test the printer",
        ));
    }
    let target = label_printer(&desk).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let bytes = test_label(&format!("unix {now}"));
    print::probe(&target).await?;
    print::send_raw(&target, &bytes).await?;
    Ok(TestPrint {
        printer: target.to_string(),
        bytes: bytes.len(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockArgs {
    sku: Option<String>,
    location: Option<String>,
    lot: Option<String>,
    expiring_before: Option<String>,
    low_stock: Option<bool>,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StockView {
    sku: String,
    seller_sku: String,
    name: String,
    warehouse: String,
    location: String,
    lot: Option<String>,
    expiry: Option<String>,
    on_hand: i64,
    allocated: i64,
    available: i64,
}

#[tauri::command]
async fn stock(
    desk: State<'_, Desk>,
    sku: Option<String>,
    location: Option<String>,
    lot: Option<String>,
    expiring_before: Option<String>,
    low_stock: Option<bool>,
    limit: Option<u32>,
) -> Result<Vec<StockView>> {
    let a = StockArgs {
        sku,
        location,
        lot,
        expiring_before,
        low_stock,
        limit,
    };
    let q = StockQuery {
        sku: a.sku,
        location: a.location,
        batch: a.lot,
        expiring_before: a.expiring_before,
        low_stock: a.low_stock,
        limit: a.limit,
    };
    with_station!(desk, |s| {
        Ok(s.stock(&q)
            .await?
            .into_iter()
            .map(|r| StockView {
                seller_sku: r.sku.clone(),
                sku: r.sku,
                name: r.sku_name,
                warehouse: r.warehouse,
                location: r.location,
                lot: r.lot,
                expiry: r.expiry,
                on_hand: r.on_hand,
                allocated: r.reserved,
                available: r.available,
            })
            .collect())
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MovementView {
    id: String,
    at: String,
    kind: MovementKind,
    sku: String,
    from: Option<String>,
    to: Option<String>,
    lot: Option<String>,
    quantity: i64,
    reason: String,
    user: String,
    reference: Option<String>,
}

/// A movement kind from the UI: taken as text so that an unknown one is refused with the
/// contract's `validation_failed`, not a bare deserialisation error. Empty means any kind.
fn movement_kind(kind: Option<&str>) -> Result<Option<MovementKind>> {
    kind.filter(|k| !k.is_empty())
        .map(|k| {
            k.parse()
                .map_err(|_| AppError::invalid(format!("kind: no movement kind {k:?}")))
        })
        .transpose()
}

/// The stock ledger, newest first.
#[tauri::command]
async fn movements(
    desk: State<'_, Desk>,
    sku: Option<String>,
    kind: Option<String>,
    since_ms: Option<i64>,
    before: Option<String>,
    limit: Option<u32>,
) -> Result<Vec<MovementView>> {
    let q = MovementQuery {
        sku,
        kind: movement_kind(kind.as_deref())?,
        since_ms,
        before,
        limit,
    };
    with_station!(desk, |s| {
        Ok(s.movements(&q)
            .await?
            .into_iter()
            .map(|m| MovementView {
                id: m.id,
                at: m.at,
                kind: m.kind,
                sku: m.sku,
                from: m.from,
                to: m.to,
                lot: m.lot,
                quantity: m.quantity,
                reason: m.reason_code,
                user: m.user_id,
                reference: m.reference,
            })
            .collect())
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionItem {
    kind: &'static str,
    order_id: String,
    external_id: Option<String>,
    /// The package of a failed feedback (for `feedback_retry`).
    seq: Option<i64>,
    detail: String,
    /// An outbox conflict's code (the server's refusal, or `depends_on_conflict`): the UI shows
    /// its catalog message.
    code: Option<String>,
    since: Option<String>,
}

#[tauri::command]
async fn exceptions(desk: State<'_, Desk>) -> Result<Vec<ExceptionItem>> {
    with_station!(desk, |s| {
        let mut out = Vec::new();
        for r in s.feedback("failed").await? {
            let (_, reason) = feedback_of(Some(&r.feedback));
            out.push(ExceptionItem {
                kind: "feedback_failed",
                order_id: r.order_id,
                external_id: Some(r.external_id),
                seq: Some(r.package_seq),
                detail: reason.unwrap_or_default(),
                code: None,
                since: Some(r.updated_at),
            });
        }
        for r in s.at_risk().await? {
            out.push(ExceptionItem {
                kind: "at_risk",
                order_id: r.order_id,
                external_id: Some(r.amazon_order_id),
                seq: None,
                detail: r.reason,
                code: None,
                since: r.ship_by,
            });
        }
        for r in s
            .cache()
            .outbox_rows("conflict")
            .await
            .map_err(StationError::from)?
        {
            out.push(ExceptionItem {
                kind: "outbox_conflict",
                order_id: r.order_id,
                external_id: None,
                seq: None,
                detail: format!(
                    "{}: {}",
                    r.kind,
                    r.last_error.as_deref().unwrap_or_default()
                ),
                code: r.last_error,
                since: None,
            });
        }
        Ok(out)
    })
}

#[tauri::command]
async fn feedback_retry(desk: State<'_, Desk>, order_id: String, seq: i64) -> Result<()> {
    with_station!(desk, |s| Ok(s.feedback_retry(&order_id, seq).await?))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRow {
    id: String,
    email: String,
    role: String,
    mfa: bool,
    locked: bool,
}

#[tauri::command]
async fn users(desk: State<'_, Desk>) -> Result<Vec<UserRow>> {
    with_station!(desk, |s| {
        Ok(s.users()
            .await?
            .into_iter()
            .map(|u| UserRow {
                id: u.id,
                email: u.email,
                role: u.role,
                mfa: u.mfa_enrolled,
                locked: u.locked_until.is_some(),
            })
            .collect())
    })
}

#[tauri::command]
async fn step_up(desk: State<'_, Desk>, totp: String) -> Result<()> {
    if totp.trim().len() != 6 || !totp.trim().chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::invalid("a TOTP code is 6 digits"));
    }
    with_station!(desk, |s| Ok(s.step_up(&totp).await?))
}

#[tauri::command]
async fn mfa_reset(desk: State<'_, Desk>, user_id: String) -> Result<()> {
    with_station!(desk, |s| Ok(s.mfa_reset(&user_id).await?))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRow {
    id: String,
    name: Option<String>,
    first_seen: String,
    last_seen: String,
    active_sessions: i64,
    revoked: bool,
    revoked_at: Option<String>,
    wipe_pending: bool,
    wiped_at: Option<String>,
    current: bool,
    printer_profile: Option<PrinterProfile>,
    update_channel: Option<String>,
}

fn desk_profile(p: &wms_client::device::PrinterProfile) -> PrinterProfile {
    PrinterProfile {
        label_printer: p.label_printer.clone(),
        label_format: settings::LabelFormat::from_server(&p.label_format),
        document_printer: p.document_printer.clone(),
    }
}

#[tauri::command]
async fn devices(desk: State<'_, Desk>) -> Result<Vec<DeviceRow>> {
    with_station!(desk, |s| {
        let me = s.device_id().ok().flatten();
        Ok(s.devices()
            .await?
            .into_iter()
            .map(|d| DeviceRow {
                current: me.as_deref() == Some(d.id.as_str()),
                printer_profile: d.printer_profile.as_ref().map(desk_profile),
                update_channel: d.update_channel,
                id: d.id,
                name: d.name,
                first_seen: d.first_seen,
                last_seen: d.last_seen,
                active_sessions: d.active_sessions,
                revoked: d.revoked,
                revoked_at: d.revoked_at,
                wipe_pending: d.wipe_pending,
                wiped_at: d.wiped_at,
            })
            .collect())
    })
}

fn reason_of(reason: &str) -> Result<&str> {
    let r = reason.trim();
    if r.is_empty() || r.chars().count() > 200 {
        return Err(AppError::invalid(
            "a reason of 1–200 characters is required",
        ));
    }
    Ok(r)
}

#[tauri::command]
async fn device_revoke(desk: State<'_, Desk>, device_id: String, reason: String) -> Result<()> {
    let reason = reason_of(&reason)?;
    with_station!(desk, |s| Ok(s.device_revoke(&device_id, reason).await?))
}

#[tauri::command]
async fn device_wipe(desk: State<'_, Desk>, device_id: String, reason: String) -> Result<()> {
    let reason = reason_of(&reason)?;
    with_station!(desk, |s| Ok(s.device_wipe(&device_id, reason).await?))
}

#[tauri::command]
async fn set_device_printer_profile(
    desk: State<'_, Desk>,
    device_id: String,
    profile: PrinterProfile,
) -> Result<()> {
    for t in [&profile.label_printer, &profile.document_printer]
        .into_iter()
        .flatten()
    {
        t.parse::<PrinterTarget>()?;
    }
    let p = wms_client::device::PrinterProfile {
        label_printer: profile.label_printer,
        label_format: profile.label_format.as_str().into(),
        document_printer: profile.document_printer,
    };
    with_station!(desk, |s| Ok(s
        .set_device_printer_profile(&device_id, &p)
        .await?))
}

/// Puts a device on a release channel; null or blank: the server's default (`stable`).
#[tauri::command]
async fn set_device_update_channel(
    desk: State<'_, Desk>,
    device_id: String,
    channel: Option<String>,
) -> Result<()> {
    let channel = desk::update_channel(channel.as_deref())
        .map_err(|e| AppError::invalid(format!("channel: {e}")))?;
    with_station!(desk, |s| {
        s.set_device_update_channel(&device_id, channel).await?;
        Ok(())
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    ok: bool,
    checked: i64,
    broken_at: Option<String>,
}

#[tauri::command]
async fn audit_verify(desk: State<'_, Desk>) -> Result<AuditView> {
    with_station!(desk, |s| {
        let v = s.audit_verify().await?;
        Ok(AuditView {
            ok: v.intact,
            checked: v.verified,
            broken_at: v.broken_at_seq.map(|n| n.to_string()),
        })
    })
}

/// What of the window is kept between runs: its size, its place on the screen and whether it was
/// maximised. Visibility, decorations and full screen stay as `tauri.conf.json` sets them.
pub fn window_state_flags() -> tauri_plugin_window_state::StateFlags {
    use tauri_plugin_window_state::StateFlags;
    StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED
}

/// The official window-state plugin: the state is saved in the app's config directory
/// (`.window-state.json`) when the app exits and applied when the window opens (a place no longer
/// on any monitor is not restored). It runs in Rust only: the main window's capability grants
/// none of its commands.
fn window_state<R: tauri::Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri_plugin_window_state::Builder::new()
        .with_state_flags(window_state_flags())
        .build()
}

/// Where the station keeps its data: `JILIAN_DATA_DIR`, else the OS's app data directory.
fn data_dir(app: &AppHandle) -> std::result::Result<PathBuf, Box<dyn std::error::Error>> {
    if let Some(d) = std::env::var_os("JILIAN_DATA_DIR") {
        return Ok(PathBuf::from(d));
    }
    Ok(app.path().app_data_dir()?)
}

/// Builds and runs the app.
pub fn run() {
    // Before any other thread exists: every thread then shares this session keyring.
    wms_client::secrets::join_session_keyring();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("JILIAN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let result = tauri::Builder::default()
        .plugin(window_state())
        // Rust-side only: the UI is granted none of its commands (updates::update_* are the way).
        .plugin(tauri_plugin_updater::Builder::new().build())
        .manage(updates::Updates::default())
        .manage(login_gates::Gates::default())
        .setup(|app| {
            let handle = app.handle().clone();
            let dir = data_dir(&handle)?;
            let desk = tauri::async_runtime::block_on(Desk::open(dir));
            let tray = tray::Tray::new(&handle, desk.settings().locale);
            app.manage(tray);
            app.manage(desk);
            tauri::async_runtime::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(15)).await;
                    let desk = handle.state::<Desk>();
                    emit_status(&handle, &desk).await;
                }
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            app_info,
            set_locale,
            probe_server,
            login,
            logout,
            status,
            sync,
            open_order,
            scan_item,
            add_package,
            book_label,
            label_preview,
            print_label,
            void_label,
            dispatch,
            printers,
            set_printer_profile,
            test_print,
            stock,
            movements,
            exceptions,
            feedback_retry,
            users,
            step_up,
            mfa_reset,
            devices,
            device_revoke,
            device_wipe,
            set_device_printer_profile,
            audit_verify,
            office::adjustments,
            office::adjust,
            office::adjustment_decide,
            office::count_create,
            office::count_get,
            office::count_enter,
            office::count_decide,
            office::audit_log,
            privacy::retention,
            privacy::set_retention,
            privacy::data_requests,
            privacy::data_request_create,
            connections::amazon_authorizations,
            connections::amazon_connect,
            connections::amazon_revoke,
            connections::amazon_purge_pii,
            connections::amazon_sync,
            connections::amazon_feedback,
            connections::carrier_accounts,
            connections::carrier_connect,
            connections::carrier_update,
            connections::carrier_remove,
            connections::feedback_handled,
            updates::update_check,
            updates::update_install,
            updates::releases_list,
            updates::release_publish,
            updates::release_set,
            receiving::locations,
            receiving::sku_lookup,
            receiving::inbound_shipments,
            receiving::inbound_get,
            receiving::inbound_create,
            receiving::receive,
            receiving::putaway,
            receiving::returns,
            receiving::return_get,
            receiving::return_create,
            receiving::return_receive,
            receiving::counts,
            slip::print_packing_slip,
            login_gates::login_enrol_start,
            login_gates::login_enrol_confirm,
            login_gates::login_enrol_sign_in,
            login_gates::login_change_password,
            login_gates::login_gate_cancel,
            export::save_export,
            set_device_update_channel,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!(error = %e, "the app stopped with an error");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_movement_kind_is_one_of_the_ledgers_or_none() {
        assert_eq!(movement_kind(None).unwrap(), None);
        assert_eq!(movement_kind(Some("")).unwrap(), None);
        for k in MovementKind::ALL {
            assert_eq!(movement_kind(Some(k.as_str())).unwrap(), Some(k));
        }
        let e = movement_kind(Some("teleport")).unwrap_err();
        assert_eq!(e.code, "validation_failed");
        assert!(e.message.contains("teleport"), "{}", e.message);
    }

    #[test]
    fn the_permission_set_grants_exactly_the_commands() {
        let toml = include_str!("../permissions/app.toml");
        for c in COMMANDS {
            assert!(
                toml.contains(&format!("\"allow-{}\"", c.replace('_', "-"))),
                "permissions/app.toml lacks allow-{c}"
            );
        }
        let listed = toml.matches("\n  \"allow-").count();
        assert_eq!(
            listed,
            COMMANDS.len(),
            "permissions/app.toml grants extra commands"
        );
    }

    #[test]
    fn the_window_keeps_its_size_place_and_maximised_state_only() {
        use tauri_plugin_window_state::StateFlags;
        let f = window_state_flags();
        assert!(f.contains(StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED));
        for other in [
            StateFlags::VISIBLE,
            StateFlags::DECORATIONS,
            StateFlags::FULLSCREEN,
        ] {
            assert!(!f.intersects(other), "{other:?} is not kept");
        }
    }

    #[test]
    fn the_ui_is_granted_no_window_state_command() {
        let cap: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/default.json")).unwrap();
        let granted: Vec<&str> = cap["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str())
            .collect();
        assert!(!granted.is_empty());
        assert!(
            granted.iter().all(|p| !p.starts_with("window-state:")),
            "{granted:?}"
        );
    }

    #[test]
    fn test_label_is_one_zpl_job() {
        let z = String::from_utf8(test_label("now")).unwrap_or_default();
        assert!(z.starts_with("^XA") && z.trim_end().ends_with("^XZ"));
        assert_eq!(z.matches("^XA").count(), 1);
    }

    #[test]
    fn an_update_channel_is_a_channel_name_or_the_default() {
        assert_eq!(desk::update_channel(Some(" beta ")).unwrap(), Some("beta"));
        assert_eq!(
            desk::update_channel(Some("pilot-2")).unwrap(),
            Some("pilot-2")
        );
        for default in [None, Some(""), Some("  ")] {
            assert_eq!(desk::update_channel(default).unwrap(), None);
        }
        for bad in ["Beta", "beta ring", "b/../c", &"b".repeat(33)] {
            assert!(desk::update_channel(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn sync_events_become_progress() {
        let p = progress_of(&SyncEvent::Orders {
            loaded: 5,
            total: 10,
        });
        let p = p.map(|p| (p.phase, p.done, p.total));
        assert_eq!(p, Some(("orders", 5, Some(10))));
        assert!(progress_of(&SyncEvent::Removed { orders: 1, skus: 0 }).is_none());
    }
}
