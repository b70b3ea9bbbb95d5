//! The tray icon: a menu (show the window, quit) and, when Amazon shipment feedback failed for a
//! recent dispatch at this station, the count in the icon's title (Linux's indicators show it
//! beside the icon), tooltip (Windows, macOS) and the menu's first line.
//!
//! The count is the status strip's: the status the app already sends every 15 s and after every
//! change (`station://status`, its `recent` dispatches), so no other poll is added. The menu
//! speaks the station's language (ja / en) here, not from the UI's catalogs: the UI may not be
//! showing when the tray is read.
//!
//! A desktop without a tray host (Xvfb, some window managers), or without the indicator library,
//! gets no icon: the app runs on and says so once in its log.

use std::sync::Mutex;

use tauri::menu::{Menu, MenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Runtime};

use crate::settings::Locale;

const SHOW: &str = "tray-show";
const QUIT: &str = "tray-quit";

/// The tray's words in one language.
#[derive(Debug, PartialEq, Eq)]
pub struct TrayTexts {
    pub show: &'static str,
    pub quit: &'static str,
    /// The menu's first line, and with a count the icon's title and tooltip.
    pub status: String,
    /// The icon's title (`None`: none shown) and tooltip.
    pub title: Option<String>,
    pub tooltip: String,
}

/// What the tray says for `failed` recent dispatches whose Amazon feedback failed.
#[must_use]
pub fn texts(locale: Locale, failed: usize) -> TrayTexts {
    let (show, quit, app) = match locale {
        Locale::Ja => ("ウィンドウを表示", "終了", "Jilian WMS"),
        Locale::En => ("Show window", "Quit", "Jilian WMS"),
    };
    let status = match (locale, failed) {
        (Locale::Ja, 0) => "Amazon 出荷通知の失敗はありません".to_owned(),
        (Locale::En, 0) => "No failed Amazon feedback".to_owned(),
        (Locale::Ja, n) => format!("Amazon 出荷通知の失敗: {n} 件"),
        (Locale::En, 1) => "Amazon feedback failed: 1 order".to_owned(),
        (Locale::En, n) => format!("Amazon feedback failed: {n} orders"),
    };
    TrayTexts {
        show,
        quit,
        title: (failed > 0).then(|| failed.to_string()),
        tooltip: if failed > 0 {
            format!("{app} — {status}")
        } else {
            app.to_owned()
        },
        status,
    }
}

/// How many of these feedback states (the status strip's recent dispatches) failed.
pub fn failed_count<'a>(feedback: impl IntoIterator<Item = &'a str>) -> usize {
    feedback.into_iter().filter(|f| *f == "failed").count()
}

struct Built<R: Runtime> {
    icon: TrayIcon<R>,
    status: MenuItem<R>,
    show: MenuItem<R>,
    quit: MenuItem<R>,
}

/// The app's tray, when there is one, and what it shows now.
pub struct Tray<R: Runtime> {
    built: Option<Built<R>>,
    shown: Mutex<Option<(Locale, usize)>>,
}

impl<R: Runtime> Tray<R> {
    /// Builds the tray icon (on the main thread: call it from `setup`). Never fails: without a
    /// tray the app runs on, and the reason is logged once.
    pub fn new(app: &AppHandle<R>, locale: Locale) -> Self {
        // The indicator library is opened on first use and its loader panics when it is missing:
        // caught here, and said once in the log below (the panic hook stays quiet for this
        // thread meanwhile, other threads' panics are reported as before).
        let previous = std::sync::Arc::new(std::panic::take_hook());
        let here = std::thread::current().id();
        let others = previous.clone();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() != here {
                others(info);
            }
        }));
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build(app, locale)))
            .unwrap_or_else(|panic| {
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("unknown");
                Err(format!(
                    "the tray's indicator library could not be loaded: {}",
                    why.lines().next().unwrap_or_default()
                ))
            });
        drop(std::panic::take_hook());
        std::panic::set_hook(Box::new(move |info| previous(info)));
        let built = match built {
            Ok(b) => Some(b),
            Err(e) => {
                tracing::warn!(error = %e, "no tray icon: the app runs without one");
                None
            }
        };
        Self {
            shown: Mutex::new(built.as_ref().map(|_| (locale, 0))),
            built,
        }
    }

    /// Shows `failed` (and the menu in `locale`), when that is not what the tray shows already.
    pub fn show(&self, locale: Locale, failed: usize) {
        let Some(b) = &self.built else { return };
        let mut shown = self
            .shown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *shown == Some((locale, failed)) {
            return;
        }
        let t = texts(locale, failed);
        let result = b
            .status
            .set_text(&t.status)
            .and_then(|()| b.show.set_text(t.show))
            .and_then(|()| b.quit.set_text(t.quit))
            .and_then(|()| b.icon.set_title(t.title.as_deref()))
            .and_then(|()| b.icon.set_tooltip(Some(&t.tooltip)));
        match result {
            Ok(()) => *shown = Some((locale, failed)),
            Err(e) => tracing::debug!(error = %e, "the tray was not updated"),
        }
    }
}

/// Shows on the app's tray (if it has one) `failed` recent dispatches with failed feedback.
pub fn show_failed<R: Runtime>(app: &AppHandle<R>, locale: Locale, failed: usize) {
    if let Some(tray) = app.try_state::<Tray<R>>() {
        tray.show(locale, failed);
    }
}

fn build<R: Runtime>(app: &AppHandle<R>, locale: Locale) -> Result<Built<R>, String> {
    let t = texts(locale, 0);
    let err = |e: tauri::Error| e.to_string();
    let status =
        MenuItem::with_id(app, "tray-status", &t.status, false, None::<&str>).map_err(err)?;
    let show = MenuItem::with_id(app, SHOW, t.show, true, None::<&str>).map_err(err)?;
    let quit = MenuItem::with_id(app, QUIT, t.quit, true, None::<&str>).map_err(err)?;
    let menu = Menu::with_items(app, &[&status, &show, &quit]).map_err(err)?;
    let mut builder = TrayIconBuilder::with_id("main")
        .menu(&menu)
        .tooltip(&t.tooltip)
        .on_menu_event(|app, event| match event.id().as_ref() {
            SHOW => show_window(app),
            QUIT => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    let icon = builder.build(app).map_err(err)?;
    Ok(Built {
        icon,
        status,
        show,
        quit,
    })
}

fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_failure_shows_no_count() {
        for locale in [Locale::Ja, Locale::En] {
            let t = texts(locale, 0);
            assert_eq!(t.title, None);
            assert_eq!(t.tooltip, "Jilian WMS");
        }
        assert_eq!(texts(Locale::En, 0).status, "No failed Amazon feedback");
    }

    #[test]
    fn failures_are_counted_in_the_title_tooltip_and_menu() {
        let t = texts(Locale::En, 2);
        assert_eq!(t.title.as_deref(), Some("2"));
        assert_eq!(t.status, "Amazon feedback failed: 2 orders");
        assert_eq!(t.tooltip, "Jilian WMS — Amazon feedback failed: 2 orders");
        assert_eq!(
            texts(Locale::En, 1).status,
            "Amazon feedback failed: 1 order"
        );
        let t = texts(Locale::Ja, 3);
        assert_eq!(t.title.as_deref(), Some("3"));
        assert_eq!(t.status, "Amazon 出荷通知の失敗: 3 件");
        assert_eq!((t.show, t.quit), ("ウィンドウを表示", "終了"));
    }

    #[test]
    fn only_failed_feedback_counts() {
        let states = [
            "failed",
            "pending",
            "sent",
            "confirmed",
            "handled",
            "failed",
            "not_required",
        ];
        assert_eq!(failed_count(states), 2);
        assert_eq!(failed_count([]), 0);
    }
}
