//! `save_export`: a CSV the UI made, written into the user's Downloads directory.
//!
//! WebKitGTK (the Linux webview) ignores `<a download>` clicks, so an export the browser would
//! download does nothing in the app: the UI hands the text to this command instead. Only a plain
//! `.csv` file name is taken (no directories, nothing hidden), the text is capped, and an existing
//! file is never replaced: `stock.csv`, then `stock (2).csv`, `stock (3).csv`… The file is
//! created with `create_new`, so a file that appears between the check and the write is not
//! overwritten either.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use tauri::{AppHandle, Manager, Runtime};

use crate::error::{AppError, Result};

/// The longest file name taken, in characters.
pub const MAX_NAME_CHARS: usize = 120;
/// And in bytes: file systems take 255, and ` (999)` may be added.
const MAX_NAME_BYTES: usize = 240;
/// The largest export written (the stock list of a big warehouse is a few MiB).
pub const MAX_BYTES: usize = 32 * 1024 * 1024;
/// How many ` (n)` variants are tried before giving up.
const MAX_VARIANTS: u32 = 999;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedExport {
    /// The file written, in full.
    path: String,
    bytes: usize,
}

/// A file name as the UI may give it: one path component ending in `.csv`, printable, not hidden,
/// at most [`MAX_NAME_CHARS`] characters, and none of the characters Windows refuses.
pub fn export_name(name: &str) -> Result<&str> {
    let bad = |why: &str| Err(AppError::invalid(format!("name: {why}")));
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.len() > MAX_NAME_BYTES {
        return bad(&format!(
            "a file name of 1–{MAX_NAME_CHARS} characters is required"
        ));
    }
    if name.chars().any(|c| {
        c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
    }) {
        return bad("a plain file name is required (no directories, no control characters)");
    }
    if name.starts_with('.') || name.starts_with(' ') || name.ends_with(' ') {
        return bad("a file name may not start with '.' nor start or end with a space");
    }
    let stem_len = name.len().saturating_sub(4);
    if stem_len == 0
        || !name.is_char_boundary(stem_len)
        || !name[stem_len..].eq_ignore_ascii_case(".csv")
    {
        return bad("a .csv file name is required");
    }
    Ok(name)
}

/// The `n`th name for `name` (`n` ≥ 2): `stock (2).csv`.
fn variant(name: &str, n: u32) -> String {
    let (stem, ext) = name.split_at(name.len() - 4);
    format!("{stem} ({n}){ext}")
}

/// Writes `text` into `dir` under `name` (checked first), or under the first ` (n)` variant no
/// file has, and answers the file's path. Nothing is written for a refused name or text.
pub fn save_into(dir: &Path, name: &str, text: &str) -> Result<PathBuf> {
    let name = export_name(name)?;
    if text.len() > MAX_BYTES {
        return Err(AppError::new(
            "export_too_large",
            format!("an export is at most {} MiB", MAX_BYTES / 1024 / 1024),
        ));
    }
    let io = |e: std::io::Error| AppError::new("io", format!("writing the export failed: {e}"));
    std::fs::create_dir_all(dir).map_err(io)?;
    for n in 1..=MAX_VARIANTS {
        let candidate = if n == 1 {
            dir.join(name)
        } else {
            dir.join(variant(name, n))
        };
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(mut f) => {
                if let Err(e) = f.write_all(text.as_bytes()).and_then(|()| f.sync_all()) {
                    // Not a half-written export left behind under a name the user would open.
                    drop(f);
                    let _ = std::fs::remove_file(&candidate);
                    return Err(io(e));
                }
                return Ok(candidate);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
    }
    Err(AppError::new(
        "export_name_taken",
        format!("{name} and {MAX_VARIANTS} numbered copies exist already: tidy the folder"),
    ))
}

/// The user's Downloads directory, else their home directory.
fn export_dir<R: Runtime>(app: &AppHandle<R>) -> Result<PathBuf> {
    let path = app.path();
    path.download_dir()
        .ok()
        .filter(|d| d.is_dir())
        .or_else(|| path.home_dir().ok())
        .ok_or_else(|| AppError::new("io", "neither a Downloads nor a home directory was found"))
}

/// Saves an export the UI made (a CSV) into the user's Downloads directory, never over a file.
#[tauri::command]
pub async fn save_export<R: Runtime>(
    app: AppHandle<R>,
    name: String,
    text: String,
) -> Result<SavedExport> {
    let dir = export_dir(&app)?;
    let bytes = text.len();
    let path = tauri::async_runtime::spawn_blocking(move || save_into(&dir, &name, &text))
        .await
        .map_err(|e| AppError::new("internal", format!("the export did not finish: {e}")))??;
    tracing::info!(bytes, "export saved");
    Ok(SavedExport {
        path: path.to_string_lossy().into_owned(),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_plain_csv_name_is_taken() {
        for ok in [
            "stock-2026-11-29.csv",
            "在庫 一覧.CSV",
            "a.csv",
            "x (2).csv",
        ] {
            assert_eq!(export_name(ok).unwrap(), ok);
        }
        let long = format!("{}.csv", "a".repeat(MAX_NAME_CHARS - 4));
        assert!(export_name(&long).is_ok());
    }

    #[test]
    fn anything_else_is_refused() {
        let long = format!("{}.csv", "a".repeat(MAX_NAME_CHARS - 3));
        for bad in [
            "",
            ".csv",
            "../stock.csv",
            "dir/stock.csv",
            "dir\\stock.csv",
            "/etc/stock.csv",
            "C:stock.csv",
            ".hidden.csv",
            " stock.csv",
            "stock.csv ",
            "stock.txt",
            "stock.csv.sh",
            "stock\n.csv",
            "stock\0.csv",
            "st|ock.csv",
            "csv",
            long.as_str(),
            &format!("{}.csv", "在".repeat(80)),
        ] {
            let e = export_name(bad).unwrap_err();
            assert_eq!(e.code, "validation_failed", "{bad:?}");
        }
    }

    #[test]
    fn an_existing_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let first = save_into(dir.path(), "stock.csv", "one").unwrap();
        let second = save_into(dir.path(), "stock.csv", "two").unwrap();
        let third = save_into(dir.path(), "stock.csv", "three").unwrap();
        assert_eq!(first, dir.path().join("stock.csv"));
        assert_eq!(second, dir.path().join("stock (2).csv"));
        assert_eq!(third, dir.path().join("stock (3).csv"));
        assert_eq!(std::fs::read_to_string(first).unwrap(), "one");
        assert_eq!(std::fs::read_to_string(second).unwrap(), "two");
        assert_eq!(std::fs::read_to_string(third).unwrap(), "three");
    }

    #[test]
    fn the_text_is_written_as_given() {
        let dir = tempfile::tempdir().unwrap();
        let text = "\u{feff}sku,name\r\nsku-a,静岡煎茶\r\n";
        let p = save_into(&dir.path().join("Downloads"), "在庫.csv", text).unwrap();
        assert_eq!(std::fs::read(p).unwrap(), text.as_bytes());
    }

    #[test]
    fn refused_input_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let e = save_into(dir.path(), "../x.csv", "a").unwrap_err();
        assert_eq!(e.code, "validation_failed");
        let big = "a".repeat(MAX_BYTES + 1);
        let e = save_into(dir.path(), "big.csv", &big).unwrap_err();
        assert_eq!(e.code, "export_too_large");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(!dir.path().parent().unwrap().join("x.csv").exists());
    }

    #[test]
    fn numbered_names_keep_the_extension() {
        assert_eq!(variant("stock.CSV", 2), "stock (2).CSV");
        assert_eq!(variant("在庫.csv", 10), "在庫 (10).csv");
    }
}
