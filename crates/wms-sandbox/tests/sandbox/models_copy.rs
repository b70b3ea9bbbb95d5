//! The embedded models are byte-identical copies of the shared reference, when it is present.

use std::path::PathBuf;

#[test]
fn models_match_the_shared_reference() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let reference = manifest.join("../../../shared/reference/amazon-sp-api");
    if !reference.is_dir() {
        eprintln!("SKIP: {} not found", reference.display());
        return;
    }
    let mut compared = 0;
    for entry in std::fs::read_dir(manifest.join("models")).expect("models dir") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path.file_name().expect("name");
        let ours = std::fs::read(&path).expect("ours");
        let theirs = std::fs::read(reference.join(name)).expect("reference copy");
        assert!(
            ours == theirs,
            "{} differs from the reference",
            path.display()
        );
        compared += 1;
    }
    assert_eq!(compared, 2);
    assert!(manifest.join("models/NOTICE").is_file());
}
