//! Stopping a training run cleanly on Ctrl-C: the first interrupt asks the
//! loop to stop after the batch in progress (the observer returns
//! [`Control::Stop`], the command writes its checkpoint and exits); a
//! second one, for a user who will not wait, ends the process at once with
//! status 130 (the shell's code for SIGINT). Checkpoints are replaced
//! atomically, so even that leaves the previous checkpoint whole.
//!
//! ```no_run
//! use snn_ipu::interrupt::Interrupt;
//! let interrupt = Interrupt::new();
//! interrupt.install().expect("a Ctrl-C handler");
//! // in the training observer:
//! let control = interrupt.control();
//! ```

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::train::Control;

/// The exit status after a second interrupt.
pub const EXIT_STATUS: i32 = 130;

/// What an interrupt asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Stop after the current batch, save, exit (the first interrupt).
    Stop,
    /// Exit now (any later one).
    Exit,
}

/// Interrupts received so far, shared between the handler and the loop.
#[derive(Clone, Debug, Default)]
pub struct Interrupt {
    count: Arc<AtomicUsize>,
}

/// A handler could not be installed (one is already installed in this
/// process, or the system refused).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallError(pub String);

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot handle Ctrl-C: {}", self.0)
    }
}

impl std::error::Error for InstallError {}

impl Interrupt {
    /// No interrupt yet.
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    /// Records an interrupt (what the handler does); says what it asks for.
    pub fn request(&self) -> Request {
        if self.count.fetch_add(1, Ordering::SeqCst) == 0 {
            Request::Stop
        } else {
            Request::Exit
        }
    }

    /// True once an interrupt came.
    pub fn requested(&self) -> bool {
        self.count.load(Ordering::SeqCst) > 0
    }

    /// What the training observer returns: [`Control::Stop`] once an
    /// interrupt came.
    pub fn control(&self) -> Control {
        if self.requested() {
            Control::Stop
        } else {
            Control::Continue
        }
    }

    /// Makes Ctrl-C (SIGINT; on Windows, Ctrl-C and Ctrl-Break) call
    /// [`Interrupt::request`], and exit with [`EXIT_STATUS`] on the second.
    /// Once per process.
    pub fn install(&self) -> Result<(), InstallError> {
        let this = self.clone();
        ctrlc::set_handler(move || {
            if this.request() == Request::Exit {
                eprintln!("interrupted again: exiting now");
                std::process::exit(EXIT_STATUS);
            }
            eprintln!(
                "interrupted: stopping after this batch and saving (Ctrl-C again to exit now)"
            );
        })
        .map_err(|e| InstallError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_interrupt_stops_the_loop_and_the_second_exits() {
        let interrupt = Interrupt::new();
        let observer_side = interrupt.clone();
        assert!(!observer_side.requested());
        assert_eq!(observer_side.control(), Control::Continue);
        assert_eq!(interrupt.request(), Request::Stop);
        assert!(observer_side.requested());
        assert_eq!(observer_side.control(), Control::Stop);
        assert_eq!(interrupt.request(), Request::Exit);
        assert_eq!(interrupt.request(), Request::Exit);
        assert_eq!(observer_side.control(), Control::Stop);
    }

    #[test]
    fn an_interrupt_from_another_thread_is_seen() {
        let interrupt = Interrupt::new();
        let handler = interrupt.clone();
        std::thread::spawn(move || handler.request())
            .join()
            .unwrap();
        assert_eq!(interrupt.control(), Control::Stop);
    }
}
