//! Generates an `allow-…` permission for each app command (the list in `src/commands.rs`,
//! checked against `permissions/app.toml` by a unit test); only the set in that file is granted.

include!("src/commands.rs");

fn main() {
    println!("cargo:rerun-if-changed=permissions");
    let attrs = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attrs) {
        panic!("tauri build step failed: {e:#}");
    }
}
