//! `wms-station`: the workstation core without a window (headless stations, kiosks, smoke tests).

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use wms_client::desk::NewPackage;
use wms_client::label::LabelFormat;
use wms_client::secrets::StorePreference;
use wms_client::station::{Gate, LabelSource, LoginParams, SignIn, Station, StationOptions};
use wms_client::sync::SyncMode;
use wms_client::{PrinterTarget, SyncEvent};
use zeroize::Zeroizing;

#[derive(Parser)]
#[command(
    name = "wms-station",
    version,
    about = "Jilian WMS workstation (headless)"
)]
struct Cli {
    /// The station's data directory (encrypted cache, configuration; key files if no keyring).
    #[arg(long, env = "WMS_STATION_DATA")]
    data: PathBuf,
    /// Secret store for a new installation: auto (the Secret Service on a Linux desktop, else the OS
    /// keyring, else key files), secret-service, keyring or file.
    #[arg(long, env = "WMS_STATION_SECRET_STORE", default_value = "auto")]
    secret_store: StorePreference,
    /// Accept http:// to a loopback server (tests only).
    #[arg(long, hide = true)]
    allow_loopback_http: bool,
    /// TrueType font for Japanese text on labels.
    #[arg(long, env = "WMS_LABEL_FONT", default_value = wms_client::label::DEFAULT_FONT)]
    label_font: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Log in (password from stdin; TOTP when the account has MFA).
    Login {
        #[arg(long)]
        server: String,
        /// The server certificate's SHA-256, `AB:CD:…` or plain hex; omit to use the webpki roots.
        #[arg(long)]
        fingerprint: Option<String>,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// Read the password from standard input (the only way: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// An account that must change its password (new, or reset) changes it here: standard
        /// input holds the current password, then the new one, a line each.
        #[arg(long)]
        new_password_stdin: bool,
        #[arg(long)]
        totp: Option<String>,
    },
    /// Send the outbox and load the working set into the cache.
    Sync,
    /// Online/offline, outbox length, cache size, secret store in use.
    Status,
    /// Revoke the session, wipe the tokens and the cache key, delete the cache.
    Logout {
        /// Log out even though recorded actions have not reached the server (they are lost).
        #[arg(long)]
        force: bool,
    },
    /// Print an order's carrier label (no dialog): the label booked on the server (prints
    /// counted, reprints audited there), or rendered locally for a package with a carrier and
    /// tracking number but no booked label. Never resent by itself: a reprint is another run.
    PrintLabel {
        #[arg(long)]
        order: String,
        /// tcp://HOST:PORT or cups://QUEUE
        #[arg(long)]
        printer: String,
        /// Package number (default: the first with a carrier and tracking number).
        #[arg(long)]
        package: Option<i64>,
        /// zpl203 or zpl300 (raw ZPL), or pdf (one label on A6, through a cups:// queue); default:
        /// the device's printer profile, else ZPL at the station profile's resolution.
        #[arg(long)]
        format: Option<LabelFormat>,
    },
    /// Print an order's packing slip (納品書, an A4 PDF made by the server; an audited use of the
    /// recipient's data there) through the spooler, no dialog. Never resent by itself.
    PrintSlip {
        #[arg(long)]
        order: String,
        /// cups://QUEUE (default: the document printer of the device's printer profile).
        #[arg(long)]
        printer: Option<String>,
    },
    /// One item scanned at the bench (works offline: checked against the cached order with the
    /// server's rule, recorded, replayed later).
    Scan {
        #[arg(long)]
        order: String,
        /// What the scanner read (a barcode or the seller SKU).
        #[arg(long)]
        barcode: String,
        #[arg(long)]
        lot: Option<String>,
    },
    /// Add a package (works offline, as a scan does).
    Package {
        #[arg(long)]
        order: String,
        #[arg(long)]
        box_type: String,
        #[arg(long)]
        weight_g: i64,
        /// The carrier of a pre-printed label scanned at the bench (with --tracking-number).
        #[arg(long)]
        carrier: Option<String>,
        #[arg(long)]
        tracking_number: Option<String>,
    },
    /// Record a dispatch now (works offline: replayed with its real ship time).
    Dispatch {
        #[arg(long)]
        order: String,
    },
    /// Send the actions recorded offline, in order (one line per action the server took).
    Replay,
    /// Zebra ~HS status of a tcp:// printer.
    PrinterStatus {
        #[arg(long)]
        printer: String,
    },
}

fn out(line: &str) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WMS_STATION_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let options = StationOptions {
        secret_store: cli.secret_store,
        allow_loopback_http: cli.allow_loopback_http,
        label_font: cli.label_font.clone(),
        ..StationOptions::default()
    };
    match cli.cmd {
        Cmd::Login {
            server,
            fingerprint,
            tenant,
            email,
            password_stdin: _,
            new_password_stdin,
            totp,
        } => {
            let mut raw = Zeroizing::new(String::new());
            std::io::stdin()
                .read_to_string(&mut raw)
                .context("reading the password from stdin")?;
            let (password, new_password) = if new_password_stdin {
                let mut lines = raw
                    .lines()
                    .map(|l| Zeroizing::new(l.trim_end_matches('\r').to_owned()));
                match (lines.next(), lines.next()) {
                    (Some(current), Some(new)) if !current.is_empty() && !new.is_empty() => {
                        (current, Some(new))
                    }
                    _ => anyhow::bail!(
                        "--new-password-stdin: standard input must hold the current password, then the new one, a line each"
                    ),
                }
            } else {
                (
                    Zeroizing::new(raw.trim_end_matches(['\r', '\n']).to_owned()),
                    None,
                )
            };
            let params = LoginParams {
                server,
                fingerprint,
                tenant,
                email,
                password,
                totp,
            };
            let station = match Station::sign_in(&cli.data, &params, options).await? {
                SignIn::SignedIn(s) => *s,
                SignIn::Gate(mut pending) => match (&new_password, pending.gate()) {
                    (Some(new), Gate::PasswordChange) => {
                        let station = pending.change_password(&params.password, new, new).await?;
                        out("password changed");
                        station
                    }
                    _ => return Err(pending.refusal().into()),
                },
            };
            out(&format!(
                "logged in; secrets in: {}",
                station.secret_store_kind().describe()
            ));
        }
        Cmd::Sync => {
            let station = Station::open(&cli.data, options).await?;
            let report = station
                .sync(&mut |e: &SyncEvent| match e {
                    SyncEvent::Orders { loaded, total } => {
                        tracing::info!(loaded, total, "orders");
                    }
                    SyncEvent::Skus { loaded } => tracing::info!(loaded, "skus"),
                    SyncEvent::Feed { cursor, head } => tracing::info!(cursor, head, "feed"),
                    _ => {}
                })
                .await?;
            out(&format!(
                "synced: {} orders, {} skus loaded; {} orders and {} skus removed; outbox: {} sent, {} conflicts, {} pending",
                report.orders,
                report.skus,
                report.removed_orders,
                report.removed_skus,
                report.outbox.sent,
                report.outbox.conflicts,
                report.outbox.pending
            ));
            let cursor = report.cursor.map_or_else(
                || "none (the server has no change feed)".to_owned(),
                |c| c.to_string(),
            );
            match report.mode {
                SyncMode::Full => out(&format!(
                    "{}: {} orders fetched; cursor {cursor}",
                    report.mode.as_str(),
                    report.fetched_orders
                )),
                SyncMode::Delta => out(&format!(
                    "{}: {} changes read, {} orders fetched; cursor {cursor}",
                    report.mode.as_str(),
                    report.changes,
                    report.fetched_orders
                )),
            }
        }
        Cmd::Status => {
            let station = Station::open(&cli.data, options).await?;
            let s = station.status().await?;
            out(&format!("server: {}", s.server));
            out(&format!("tenant: {}", s.tenant));
            out(&format!(
                "online: {}",
                if s.online { "online" } else { "offline" }
            ));
            out(&format!("logged in: {}", s.logged_in));
            out(&format!(
                "outbox: {} pending, {} conflicts",
                s.outbox_pending, s.outbox_conflicts
            ));
            out(&format!(
                "cache: {} bytes ({} orders, {} skus, {} recipients)",
                s.cache_bytes, s.cached_orders, s.cached_skus, s.cached_recipients
            ));
            out(&format!("keyring backend: {}", s.secret_store_description));
            out(&format!(
                "last sync: {}",
                s.last_sync.as_deref().unwrap_or("never")
            ));
            out(&format!(
                "device: {}",
                s.device_id.as_deref().unwrap_or("none (never logged in)")
            ));
            let checked = s.device_checked_at.as_deref().unwrap_or("never");
            out(&format!(
                "wipe pending: {}",
                match s.wipe_pending {
                    Some(true) => format!("yes (as of {checked})"),
                    Some(false) => format!("no (as of {checked})"),
                    None => "unknown (not yet checked with the server)".to_owned(),
                }
            ));
        }
        Cmd::Logout { force } => {
            let station = Station::open(&cli.data, options).await?;
            let o = station.logout(force).await?;
            out(&format!(
                "logged out; session revoked on the server: {}; cache and keys wiped",
                o.revoked_on_server
            ));
        }
        Cmd::PrintLabel {
            order,
            printer,
            package,
            format,
        } => {
            let target: PrinterTarget = printer.parse()?;
            let station = Station::open(&cli.data, options).await?;
            let format = match format {
                Some(f) => f,
                None => station.label_format().await?,
            };
            let o = station
                .print_label_as(&order, package, &target, format, None)
                .await?;
            let source = match (o.source, o.prints) {
                (LabelSource::Server, Some(n)) if n > 1 => {
                    format!("label booked on the server, print {n}: a reprint, audited there")
                }
                (LabelSource::Server, _) => "label booked on the server, first print".to_owned(),
                (LabelSource::LocalFallback, _) => {
                    "rendered locally: the package has a carrier and tracking number but no label booked on the server".to_owned()
                }
            };
            out(&format!(
                "printed order {} package {} to {} ({} bytes, sha256 {}); {source}; format {}",
                o.order_id, o.package_seq, o.printer, o.bytes, o.sha256, o.format
            ));
        }
        Cmd::PrintSlip { order, printer } => {
            let target = printer.map(|p| p.parse::<PrinterTarget>()).transpose()?;
            let station = Station::open(&cli.data, options).await?;
            let o = station.print_packing_slip(&order, target.as_ref()).await?;
            out(&format!(
                "printed the packing slip of order {} to {} ({} bytes of PDF, sha256 {})",
                o.order_id, o.printer, o.bytes, o.sha256
            ));
        }
        Cmd::Scan {
            order,
            barcode,
            lot,
        } => {
            let station = Station::open(&cli.data, options).await?;
            let (r, o) = station.scan_item(&order, &barcode, lot.as_deref()).await?;
            let how = if r.recorded_offline {
                "recorded offline"
            } else {
                "sent"
            };
            out(&format!(
                "line {}: {} of {} packed; order {}: {how}",
                r.line_no, r.packed, r.quantity, o.status
            ));
        }
        Cmd::Package {
            order,
            box_type,
            weight_g,
            carrier,
            tracking_number,
        } => {
            let station = Station::open(&cli.data, options).await?;
            let p = NewPackage {
                box_type,
                weight_g,
                carrier,
                tracking_number,
            };
            let o = station.add_package_with(&order, &p).await?;
            out(&format!(
                "order {}: {} package(s)",
                o.status,
                o.packages.len()
            ));
        }
        Cmd::Replay => {
            let station = Station::open(&cli.data, options).await?;
            let r = station
                .replay_outbox_with(&mut |row| out(&format!("sent {} {}", row.seq, row.kind)))
                .await?;
            out(&format!(
                "outbox: {} sent, {} conflicts, {} pending{}",
                r.sent,
                r.conflicts,
                r.pending,
                if r.offline { " (offline)" } else { "" }
            ));
        }
        Cmd::Dispatch { order } => {
            let station = Station::open(&cli.data, options).await?;
            let o = station.dispatch(&order).await?;
            let state = if o.replay.pending == 0 {
                "sent"
            } else {
                "queued (offline)"
            };
            out(&format!(
                "dispatch of {} at {} recorded: {state}",
                o.order_id, o.ship_time
            ));
        }
        Cmd::PrinterStatus { printer } => {
            let target: PrinterTarget = printer.parse()?;
            let s = wms_client::print::host_status(&target).await?;
            out(&format!(
                "ready: {}; paper out: {}; paused: {}; head open: {}; ribbon out: {}",
                s.ready(),
                s.paper_out,
                s.paused,
                s.head_open,
                s.ribbon_out
            ));
        }
    }
    Ok(())
}
