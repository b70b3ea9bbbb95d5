//! `wms-server`: argument parsing and nothing else; the work is in the `wms_server` library.
#![allow(clippy::print_stdout)]

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use std::io::Read;
use std::process::ExitCode;
use wms_core::role::Role;
use wms_server::{Settings, accounts, admin_ops, build_state, db, demo, label_cli};
use zeroize::Zeroizing;

#[derive(Parser)]
#[command(name = "wms-server", version, about = "Jilian WMS central server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API over TLS (WMS_DATA_DIR, WMS_LISTEN, WMS_DATABASE_URL, WMS_CONFIG).
    Serve,
    /// Apply database migrations (as the owner role on PostgreSQL: WMS_DATABASE_OWNER_URL).
    Migrate,
    /// Tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The audit chain.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The stock ledger.
    Stock {
        #[command(subcommand)]
        command: StockCommand,
    },
    /// Retention: delete expired closed orders and audit events (the server also runs it hourly).
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Encryption keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Demo data (refused in production mode).
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Carrier labels: an example model, rendering to ZPL, PNG or PDF, A4 label sheets and packing
    /// slips (no settings or database needed).
    Label {
        #[command(subcommand)]
        command: label_cli::LabelCommand,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant with its own keys.
    Create { name: String },
    /// List tenants.
    List,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. Without --password-stdin a one-time password is printed; it must be changed at first login.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Read the password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify a tenant's hash chain; exit 0 when it holds, 1 with the first broken link otherwise.
    Verify {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand)]
enum StockCommand {
    /// Recompute every balance from the ledger; exit 0 when all match, 1 listing the differences.
    Verify {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Run it now for one tenant (--tenant) or for every tenant; prints the counts.
    Run {
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Without --tenant: a new master key version, and every tenant key re-wrapped under it.
    /// With --tenant: a new data-key version for that tenant (new data is sealed with it).
    Rotate {
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Create (or refresh) a demo tenant with packer, supervisor and admin users.
    Seed {
        #[arg(long)]
        tenant: String,
        /// Print a JSON summary (with passwords and TOTP seeds) on stdout.
        #[arg(long)]
        json: bool,
        /// Orders to create (status `received`).
        #[arg(long, default_value_t = 20)]
        orders: usize,
        /// SKUs to create, with stock.
        #[arg(long, default_value_t = 30)]
        skus: usize,
    },
    /// Connect a demo tenant to an Amazon seller (e.g. the sandbox's) without the API's step-up.
    /// The LWA client secret and refresh token are read from WMS_DEMO_LWA_CLIENT_SECRET and
    /// WMS_DEMO_LWA_REFRESH_TOKEN (never from the command line). Prints the authorization id.
    Amazon {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        selling_partner_id: String,
        #[arg(long)]
        lwa_client_id: String,
        /// The application was granted the restricted role for recipient PII.
        #[arg(long)]
        pii: bool,
    },
    /// Ready a demo tenant's packing bench: one Amazon sync pass, then every received order
    /// allocated and picked. Prints a JSON summary.
    Release {
        #[arg(long)]
        tenant: String,
        /// At most this many orders (1–500).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Print the current TOTP code of a base32 seed (for trying the demo without a phone).
    Totp {
        #[arg(long)]
        secret: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
        .map_err(|e: wms_core::role::UnknownRole| e.to_string())
}

fn init_tracing(settings: &Settings) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("WMS_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if settings.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Label commands only read and write files: they must work without settings or a data directory.
    if let Command::Label { command } = cli.command {
        return label_cli::run(command);
    }
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wms-server: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&settings);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wms-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.command, settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wms-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => {
            wms_server::serve(settings, shutdown_signal()).await?;
        }
        Command::Label { command } => return Ok(label_cli::run(command)),
        Command::Migrate => {
            db::migrate(&settings).await?;
            println!(
                "migrations applied ({})",
                if settings.is_postgres() {
                    "postgres"
                } else {
                    "sqlite"
                }
            );
        }
        Command::Tenant {
            command: TenantCommand::Create { name },
        } => {
            let state = build_state(settings).await?;
            let id = accounts::create_tenant(&state.db, &state.keys, &name, false, "cli").await?;
            println!("tenant {name} created: {id}");
        }
        Command::Tenant {
            command: TenantCommand::List,
        } => {
            let state = build_state(settings).await?;
            for t in state.db.list_tenants().await? {
                println!(
                    "{}\t{}{}",
                    t.id,
                    t.name,
                    if t.demo { "\t(demo)" } else { "" }
                );
            }
        }
        Command::User {
            command:
                UserCommand::Create {
                    tenant,
                    email,
                    role,
                    password_stdin,
                },
        } => {
            let password = if password_stdin {
                let mut s = Zeroizing::new(String::new());
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("reading the password from standard input")?;
                let line = Zeroizing::new(s.lines().next().unwrap_or("").to_owned());
                if line.is_empty() {
                    bail!("no password on standard input");
                }
                Some(line)
            } else {
                None
            };
            let state = build_state(settings).await?;
            let tid = accounts::tenant_named(&state.db, &tenant).await?;
            let (id, otp) = accounts::create_user(
                &state.db,
                &state.keys,
                &state.hasher,
                tid,
                &email,
                role,
                password.as_deref().map(|s| s.as_str()),
                "cli",
            )
            .await?;
            println!("user {id} created in {tenant} as {role}");
            if let Some(otp) = otp {
                println!(
                    "one-time password (must be changed at first login): {}",
                    otp.as_str()
                );
            }
            if role.requires_mfa() {
                println!("{role}s must enrol TOTP at first login (POST /api/v1/auth/mfa/enroll)");
            }
        }
        Command::Audit {
            command: AuditCommand::Verify { tenant },
        } => {
            let state = build_state(settings).await?;
            let report = admin_ops::verify_audit(&state, &tenant).await?;
            return Ok(match report.broken {
                None => {
                    println!(
                        "audit chain of {tenant} holds: {} events verified{}",
                        report.verified,
                        report
                            .anchor_seq
                            .map(|s| format!(" (events up to {s} removed by retention)"))
                            .unwrap_or_default()
                    );
                    ExitCode::SUCCESS
                }
                Some(b) => {
                    println!(
                        "audit chain of {tenant} is BROKEN at event {}: {b} ({} events verified before it)",
                        b.seq(),
                        report.verified
                    );
                    ExitCode::FAILURE
                }
            });
        }
        Command::Stock {
            command: StockCommand::Verify { tenant },
        } => {
            let state = build_state(settings).await?;
            let diffs = admin_ops::verify_stock(&state, &tenant).await?;
            if diffs.is_empty() {
                println!("stock of {tenant}: every balance equals its ledger");
                return Ok(ExitCode::SUCCESS);
            }
            for d in &diffs {
                println!(
                    "MISMATCH sku {} location {} batch {}: stored on_hand {} reserved {}, ledger on_hand {} reserved {}",
                    d.sku_id,
                    d.location_id,
                    if d.batch_key.is_empty() {
                        "-"
                    } else {
                        &d.batch_key
                    },
                    d.stored.0,
                    d.stored.1,
                    d.from_ledger.0,
                    d.from_ledger.1
                );
            }
            return Ok(ExitCode::FAILURE);
        }
        Command::Retention {
            command: RetentionCommand::Run { tenant },
        } => {
            let state = build_state(settings).await?;
            for (name, r) in admin_ops::run_retention(&state, tenant.as_deref()).await? {
                println!(
                    "tenant {name}: {} orders deleted, {} kept for outstanding Amazon feedback, {} kept for open returns, {} audit events removed",
                    r.orders_deleted,
                    r.orders_kept_feedback,
                    r.orders_kept_return,
                    r.audit_events_removed
                );
            }
        }
        Command::Keys {
            command: KeysCommand::Rotate { tenant: Some(name) },
        } => {
            let state = build_state(settings).await?;
            let v = admin_ops::rotate_data_key(&state, &name).await?;
            println!("tenant {name}: data key version {v} is now current");
        }
        Command::Keys {
            command: KeysCommand::Rotate { tenant: None },
        } => {
            let state = build_state(settings.clone()).await?;
            let (v, n) = admin_ops::rotate_master(&settings, &state).await?;
            println!(
                "master key version {v} is current; {n} tenant keys re-wrapped. Older versions in the key file are no longer used and may be removed after a backup."
            );
        }
        Command::Demo {
            command: DemoCommand::Totp { secret },
        } => {
            let seed = wms_core::totp::secret_from_base32(&secret)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs();
            println!("{}", wms_core::totp::code_at(&seed, now)?);
        }
        Command::Demo {
            command:
                DemoCommand::Amazon {
                    tenant,
                    selling_partner_id,
                    lwa_client_id,
                    pii,
                },
        } => {
            let secret = std::env::var("WMS_DEMO_LWA_CLIENT_SECRET")
                .context("WMS_DEMO_LWA_CLIENT_SECRET is not set")?;
            let refresh = std::env::var("WMS_DEMO_LWA_REFRESH_TOKEN")
                .context("WMS_DEMO_LWA_REFRESH_TOKEN is not set")?;
            let state = build_state(settings).await?;
            let id = demo::connect_amazon(
                &state,
                &tenant,
                wms_server::amazon::authz::NewAuthorization {
                    selling_partner_id,
                    marketplaces: Vec::new(),
                    lwa_client_id,
                    lwa_client_secret: secret,
                    refresh_token: refresh,
                    warehouse: None,
                    pii_recipient: pii,
                    pii_buyer_email: false,
                },
            )
            .await?;
            println!("{id}");
        }
        Command::Demo {
            command: DemoCommand::Release { tenant, limit },
        } => {
            let state = build_state(settings).await?;
            let released = demo::release_to_packing(&state, &tenant, limit).await?;
            println!("{}", serde_json::to_string(&released)?);
        }
        Command::Demo {
            command:
                DemoCommand::Seed {
                    tenant,
                    json,
                    orders,
                    skus,
                },
        } => {
            if skus == 0 && orders > 0 {
                bail!("orders need SKUs: give --skus 1 or more");
            }
            let state = build_state(settings).await?;
            let summary = demo::seed(&state, &tenant, skus, orders).await?;
            if json {
                println!("{}", serde_json::to_string(&summary)?);
            } else {
                println!(
                    "demo tenant {} ({})",
                    summary.tenant,
                    if summary.created {
                        "created"
                    } else {
                        "refreshed"
                    }
                );
                let w = &summary.warehouse;
                println!(
                    "  warehouse {}: {} locations, {} SKUs with stock, {} orders",
                    w.warehouse, w.locations, w.skus, w.orders
                );
                for u in &summary.users {
                    match &u.totp_secret {
                        Some(s) => println!(
                            "  {:<34} {:<10} password {}  TOTP seed {}",
                            u.email,
                            u.role.as_str(),
                            u.password,
                            s
                        ),
                        None => println!(
                            "  {:<34} {:<10} password {}",
                            u.email,
                            u.role.as_str(),
                            u.password
                        ),
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
