//! A one-line progress indicator on stderr for long CLI operations. Small
//! enough that a crate (indicatif) would cost more build time than it saves.

use std::io::Write;

pub struct Progress {
    label: &'static str,
    total: usize,
    done: usize,
}

impl Progress {
    pub fn new(label: &'static str, total: usize) -> Self {
        Self {
            label,
            total,
            done: 0,
        }
    }

    pub fn step(&mut self) {
        self.set(self.done + 1);
    }

    pub fn set(&mut self, done: usize) {
        self.done = done;
        let width = 30;
        let filled = (self.done * width).checked_div(self.total).unwrap_or(width);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{:<18} [{}{}] {}/{}",
            self.label,
            "#".repeat(filled.min(width)),
            " ".repeat(width - filled.min(width)),
            self.done,
            self.total
        );
        if self.done >= self.total {
            let _ = writeln!(err);
        }
        let _ = err.flush();
    }
}
