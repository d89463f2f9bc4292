//! Routes the agent's lines to one window per session, and the windows' actions to stdout.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::os::fd::AsFd;
use std::rc::Rc;

use gtk::prelude::*;
use gtk::{gio, glib};
use gtk4 as gtk;

use crate::protocol::{self, Action, Input};
use crate::window::{Emit, SessionWindow, CSS};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(
        "cannot open a window: GTK found no display ({0}); is DISPLAY or WAYLAND_DISPLAY set?"
    )]
    NoDisplay(glib::BoolError),
    #[error("cannot read standard input: {0}")]
    Stdin(#[source] std::io::Error),
}

struct App {
    windows: RefCell<HashMap<String, Rc<SessionWindow>>>,
    /// Sessions whose window closed: their late events must not reopen anything.
    gone: RefCell<HashSet<String>>,
    emit: Emit,
}

/// GTK's display connection, retried for a moment: a display that has only just come up (a
/// session starting, a fresh Xvfb) sometimes refuses the first attempt.
fn init_gtk() -> Result<(), AppError> {
    let has_display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    let attempts = if has_display { 20 } else { 1 };
    let mut last = None;
    for _ in 0..attempts {
        match gtk::init() {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(AppError::NoDisplay(last.expect("at least one attempt")))
}

/// Runs until stdin ends (then closes every window and returns) or stdout breaks.
pub fn run() -> Result<(), AppError> {
    init_gtk()?;
    let provider = gtk::CssProvider::new();
    provider.load_from_data(CSS);
    if let Some(display) = gtk::gdk::Display::default() {
        gtk::style_context_add_provider_for_display(
            &display,
            &provider,
            gtk::STYLE_PROVIDER_PRIORITY_APPLICATION,
        );
    }

    let main_loop = glib::MainLoop::new(None, false);
    let emit: Emit = {
        let main_loop = main_loop.clone();
        Rc::new(move |action: Action| {
            let mut out = std::io::stdout().lock();
            if let Err(e) = writeln!(out, "{}", action.to_line()).and_then(|()| out.flush()) {
                // Nobody reads our answers any more: the agent is gone, so are we.
                eprintln!("cable-prompt: cannot write to standard output ({e}); the prompt agent has gone, exiting");
                main_loop.quit();
            }
        })
    };
    let app = Rc::new(App {
        windows: RefCell::default(),
        gone: RefCell::default(),
        emit,
    });

    // A duplicate of fd 0, read on the main loop: no thread, no locking around the windows.
    let fd = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(AppError::Stdin)?;
    let stdin = gio::DataInputStream::new(&gio::UnixInputStream::take_fd(fd));
    let reader = {
        let (app, main_loop) = (app.clone(), main_loop.clone());
        async move {
            loop {
                match stdin.read_line_future(glib::Priority::DEFAULT).await {
                    Ok(Some(bytes)) => app.line(&bytes),
                    Ok(None) => break,
                    Err(e) => {
                        eprintln!("cable-prompt: cannot read standard input ({e}); exiting");
                        break;
                    }
                }
            }
            app.close_all();
            main_loop.quit();
        }
    };
    glib::MainContext::default().spawn_local(reader);
    main_loop.run();
    Ok(())
}

impl App {
    fn line(self: &Rc<Self>, bytes: &[u8]) {
        let Ok(text) = std::str::from_utf8(bytes) else {
            eprintln!(
                "cable-prompt: ignored a line that is not UTF-8 ({} bytes)",
                bytes.len()
            );
            return;
        };
        match protocol::parse_line(text) {
            Ok(Some(input)) => self.input(input),
            Ok(None) => {}
            // The line itself may carry a QR secret: log what is wrong, not the line.
            Err(e) => eprintln!("cable-prompt: ignored a line: {e}"),
        }
    }

    fn input(self: &Rc<Self>, input: Input) {
        match input {
            Input::Prompt(prompt) => {
                let existing = self.windows.borrow().get(&prompt.session).cloned();
                if let Some(window) = existing {
                    window.update(prompt);
                    return;
                }
                self.gone.borrow_mut().remove(&prompt.session);
                let session = prompt.session.clone();
                let weak = Rc::downgrade(self);
                let window = SessionWindow::new(prompt, self.emit.clone(), move |session| {
                    if let Some(app) = weak.upgrade() {
                        app.windows.borrow_mut().remove(session);
                        app.gone.borrow_mut().insert(session.to_owned());
                    }
                });
                window.present();
                self.windows.borrow_mut().insert(session, window);
            }
            Input::Event { session, event } => match self.window(&session) {
                Some(window) => window.event(&event),
                None => self.unknown(&session, "an event"),
            },
            Input::End {
                session,
                outcome,
                message,
            } => match self.window(&session) {
                Some(window) => window.end(outcome, message.as_deref()),
                None => self.unknown(&session, "an end"),
            },
            Input::Unknown { kind } => {
                eprintln!("cable-prompt: ignored a line of unknown type {kind:?}")
            }
        }
    }

    fn window(&self, session: &str) -> Option<Rc<SessionWindow>> {
        self.windows.borrow().get(session).cloned()
    }

    fn unknown(&self, session: &str, what: &str) {
        // Events after the person closed the window are expected; others mean a missing prompt.
        if !self.gone.borrow().contains(session) {
            eprintln!("cable-prompt: ignored {what} for session {session:?}, which has no prompt line before it");
        }
    }

    fn close_all(&self) {
        let windows: Vec<_> = self.windows.borrow_mut().drain().map(|(_, w)| w).collect();
        for window in windows {
            window.close_quietly();
        }
    }
}
