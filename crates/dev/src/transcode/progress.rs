//! A progress bar on a terminal, a line per quarter otherwise.

use super::*;

/// The terminal's progress bar (a line per quarter when not a terminal).
pub(crate) struct Progress {
    label: String,
    tty: bool,
    shown: Option<u32>,
}

impl Progress {
    pub(crate) fn new(label: &str) -> Progress {
        Progress {
            label: label.to_string(),
            tty: std::io::stderr().is_terminal(),
            shown: None,
        }
    }

    pub(crate) fn show(&mut self, percent: u32) {
        if self.tty {
            if self.shown == Some(percent) {
                return;
            }
            let filled = (percent / 5) as usize;
            eprint!(
                "\r  transcoding {} [{}{}] {percent:>3}%",
                self.label,
                "#".repeat(filled),
                "-".repeat(20 - filled)
            );
        } else {
            let step = percent / 25 * 25;
            if self.shown.is_some_and(|s| s >= step) {
                return;
            }
            eprintln!("  transcoding {}: {step}%", self.label);
            self.shown = Some(step);
            return;
        }
        self.shown = Some(percent);
    }

    pub(crate) fn finish(&mut self, word: &str) {
        if self.tty {
            eprintln!();
        }
        eprintln!("  transcoding {}: {word}", self.label);
    }
}
