//! Ctrl-C with a real signal: SIGINT raised in this process reaches the
//! installed handler, and the training observer's answer becomes
//! `Control::Stop`. (One signal only: a second one exits the process by
//! design, with status 130; the counting is tested in `src/interrupt.rs`.)

#[cfg(unix)]
#[test]
fn sigint_asks_the_training_loop_to_stop() {
    use std::time::{Duration, Instant};

    use snn_ipu::interrupt::Interrupt;
    use snn_ipu::train::Control;

    let interrupt = Interrupt::new();
    interrupt.install().expect("the first handler installs");
    let again = Interrupt::new().install().unwrap_err();
    assert!(
        again.to_string().starts_with("cannot handle Ctrl-C: "),
        "{again}"
    );
    assert_eq!(interrupt.control(), Control::Continue);
    // SAFETY: raise only sends a signal to this process; the handler
    // installed above catches it (no default action, which would end the
    // test process).
    assert_eq!(unsafe { libc::raise(libc::SIGINT) }, 0);
    let started = Instant::now();
    while !interrupt.requested() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(interrupt.control(), Control::Stop);
}
