//! Progress bars for long runs (`convert`, `tables suggest`, `tables coverage`): drawn on the
//! process's standard error only when the binary enabled them and standard error is
//! a terminal; hidden otherwise (tests, pipes, golden output never see them).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Lets commands draw progress bars, if standard error is a terminal. Only the
/// `kakehashi` binary calls this; [`crate::run`] alone never draws.
pub fn enable_on_terminal() {
    ENABLED.store(std::io::stderr().is_terminal(), Ordering::Relaxed);
}

fn target() -> Option<ProgressDrawTarget> {
    ENABLED
        .load(Ordering::Relaxed)
        .then(ProgressDrawTarget::stderr)
}

/// A counter of `unit` with an unknown total (a spinner with a rate).
pub(crate) fn counter(unit: &str) -> ProgressBar {
    let Some(t) = target() else {
        return ProgressBar::hidden();
    };
    let style = ProgressStyle::with_template(&format!(
        "{{spinner}} {{pos}} {unit} ({{per_sec}}, {{elapsed}})"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_spinner());
    ProgressBar::with_draw_target(None, t).with_style(style)
}

/// A bar over `len` items of `unit`.
pub(crate) fn bar(len: u64, unit: &str) -> ProgressBar {
    let Some(t) = target() else {
        return ProgressBar::hidden();
    };
    let style =
        ProgressStyle::with_template(&format!("{{bar:40}} {{pos}}/{{len}} {unit} ({{eta}} left)"))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::with_draw_target(Some(len), t).with_style(style)
}
