//! Golden files: `fixtures/hls/golden/NAME.m3u8` must rewrite to
//! `NAME.signed.m3u8` with the report `NAME.report.json`. Files named
//! `nobase-*` are rewritten without a base URL.
//!
//! After a deliberate change, `HLSGATE_BLESS=1 cargo test -p hlsgate-core --test it golden`
//! rewrites the expected files; review their diff like code.

use std::collections::BTreeSet;
use std::path::PathBuf;

use hlsgate_core::hls::{Report, Rewriter, SkipReason, UriSource};

use super::{BASE, CHILD, MEDIA, insertions, rewriter, unbased};
use crate::common::fixtures;

fn golden_inputs() -> Vec<PathBuf> {
    let dir = fixtures().join("hls/golden");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".m3u8") && !name.ends_with(".signed.m3u8")
        })
        .collect();
    files.sort();
    files
}

fn rewriter_for(name: &str) -> Rewriter {
    if name.starts_with("nobase-") {
        unbased()
    } else {
        rewriter(BASE)
    }
}

#[test]
fn golden_files_match() {
    let bless = std::env::var_os("HLSGATE_BLESS").is_some();
    let inputs = golden_inputs();
    assert!(inputs.len() >= 15, "golden inputs missing: {inputs:?}");
    let mut mismatches = Vec::new();
    let mut reports: Vec<Report> = Vec::new();
    for path in &inputs {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(path).unwrap();
        let rw = rewriter_for(&name);
        let (out, report) = rw.rewrite(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
        let json = serde_json::to_string_pretty(&report).unwrap() + "\n";
        let signed_path = path.with_file_name(format!("{name}.signed.m3u8"));
        let report_path = path.with_file_name(format!("{name}.report.json"));
        if bless {
            std::fs::write(&signed_path, &out).unwrap();
            std::fs::write(&report_path, &json).unwrap();
        } else {
            if std::fs::read(&signed_path).ok().as_deref() != Some(&out[..]) {
                mismatches.push(format!(
                    "{name}: output differs from {}; got:\n{}",
                    signed_path.display(),
                    String::from_utf8_lossy(&out)
                ));
            }
            if std::fs::read_to_string(&report_path).ok().as_deref() != Some(&json[..]) {
                mismatches.push(format!("{name}: report differs; got:\n{json}"));
            }
        }

        // Checks that do not trust the expected files.
        if !name.starts_with("replace-") {
            assert_eq!(
                insertions(&input, &out, &[MEDIA, CHILD]),
                Ok(report.rewritten),
                "{name}: output is not the input plus one parameter set per signed URI"
            );
        }
        let (again, _) = rw.rewrite(&out).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&again),
            String::from_utf8_lossy(&out),
            "{name}: a second rewrite changed the playlist"
        );
        assert_eq!(report.output_bytes, out.len(), "{name}");
        assert_eq!(report.input_bytes, input.len(), "{name}");
        reports.push(report);
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));

    // Together the golden files sign every URI-bearing tag and hit every
    // reason to skip one.
    let signed: BTreeSet<UriSource> = UriSource::all()
        .filter(|&s| reports.iter().any(|r| r.tag(s).rewritten > 0))
        .collect();
    let missing: Vec<_> = UriSource::all().filter(|s| !signed.contains(s)).collect();
    assert!(missing.is_empty(), "no golden file signs {missing:?}");
    let missing: Vec<_> = SkipReason::all()
        .filter(|&r| reports.iter().all(|rep| rep.skipped_for(r) == 0))
        .collect();
    assert!(missing.is_empty(), "no golden file skips for {missing:?}");
}
