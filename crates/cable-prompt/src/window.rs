//! One session's window: who asks, the QR code and its link, the timeline, the linked phones,
//! errors and the outcome, and the Cancel button.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use gtk::prelude::*;
use gtk::{gdk, glib};
use gtk4 as gtk;

use crate::protocol::{Action, Device, Operation, Outcome, Prompt, SessionEvent};
use crate::qr_image;
use crate::timeline::{self, Tone};

/// How long a success (or a cancel from elsewhere) stays on screen before the window closes.
pub const CLOSE_AFTER: Duration = Duration::from_millis(1500);

/// Where the window's actions go (stdout in the binary).
pub type Emit = Rc<dyn Fn(Action)>;

pub struct SessionWindow {
    session: String,
    window: gtk::Window,
    heading: gtk::Label,
    asker: gtk::Label,
    banner: gtk::Box,
    banner_title: gtk::Label,
    banner_text: gtk::Label,
    /// "Bluetooth is off — turn it on to continue", while the session waits for Bluetooth.
    radio_notice: gtk::Label,
    qr_box: gtk::Box,
    qr_picture: gtk::Picture,
    link: gtk::Label,
    timeline: gtk::Box,
    devices_box: gtk::Box,
    cancel: gtk::Button,
    prompt: RefCell<Prompt>,
    url: RefCell<Option<String>>,
    /// The session is over (ended by the agent, or cancelled here): no more `cancel` actions.
    finished: Cell<bool>,
    emit: Emit,
}

impl SessionWindow {
    /// Builds the window for `prompt`; `on_closed` runs once the window is gone.
    pub fn new(prompt: Prompt, emit: Emit, on_closed: impl Fn(&str) + 'static) -> Rc<Self> {
        let window = gtk::Window::builder()
            .modal(true)
            .default_width(420)
            .build();
        let root = gtk::Box::new(gtk::Orientation::Vertical, 10);
        root.set_margin_top(18);
        root.set_margin_bottom(18);
        root.set_margin_start(22);
        root.set_margin_end(22);

        let heading = label("", &["title-2"]);
        let asker = label("", &["dim-label"]);
        root.append(&heading);
        root.append(&asker);

        let banner = gtk::Box::new(gtk::Orientation::Vertical, 4);
        banner.add_css_class("banner");
        let banner_title = label("", &["banner-title"]);
        let banner_text = label("", &[]);
        banner_text.set_selectable(true);
        // A focused selectable label selects all its text: select with the mouse only.
        banner_text.set_focusable(false);
        banner.append(&banner_title);
        banner.append(&banner_text);
        banner.set_visible(false);
        root.append(&banner);

        let radio_notice = label("", &["radio-notice"]);
        radio_notice.set_visible(false);
        root.append(&radio_notice);

        let qr_box = gtk::Box::new(gtk::Orientation::Vertical, 6);
        let scan_hint = label("Scan this code with your phone's camera", &[]);
        scan_hint.set_halign(gtk::Align::Center);
        scan_hint.set_xalign(0.5);
        let qr_picture = gtk::Picture::new();
        // Never scaled: whole-pixel modules stay sharp and scannable from a screenshot.
        qr_picture.set_can_shrink(false);
        qr_picture.set_halign(gtk::Align::Center);
        qr_picture.set_valign(gtk::Align::Center);
        let link = label("", &["link"]);
        link.set_selectable(true);
        link.set_focusable(false);
        link.set_wrap_mode(gtk::pango::WrapMode::Char);
        link.set_lines(3);
        link.set_ellipsize(gtk::pango::EllipsizeMode::End);
        link.set_hexpand(true);
        link.set_width_chars(30);
        link.set_max_width_chars(44);
        let copy = gtk::Button::with_label("Copy link");
        copy.set_valign(gtk::Align::Center);
        copy.set_tooltip_text(Some(
            "Copy the FIDO:/ link, to open it on a phone some other way",
        ));
        let link_row = gtk::Box::new(gtk::Orientation::Horizontal, 8);
        link_row.append(&link);
        link_row.append(&copy);
        qr_box.append(&scan_hint);
        qr_box.append(&qr_picture);
        qr_box.append(&link_row);
        qr_box.set_visible(false);
        root.append(&qr_box);

        let timeline = gtk::Box::new(gtk::Orientation::Vertical, 2);
        root.append(&timeline);

        let devices_box = gtk::Box::new(gtk::Orientation::Vertical, 4);
        root.append(&devices_box);

        let cancel = gtk::Button::with_mnemonic("_Cancel");
        cancel.set_halign(gtk::Align::End);
        cancel.set_margin_top(6);
        root.append(&cancel);

        window.set_child(Some(&root));
        window.set_default_widget(Some(&cancel));

        let this = Rc::new(Self {
            session: prompt.session.clone(),
            window,
            heading,
            asker,
            banner,
            banner_title,
            banner_text,
            radio_notice,
            qr_box,
            qr_picture,
            link,
            timeline,
            devices_box,
            cancel,
            prompt: RefCell::new(prompt),
            url: RefCell::new(None),
            finished: Cell::new(false),
            emit,
        });
        this.show_prompt();

        let weak = Rc::downgrade(&this);
        copy.connect_clicked(move |_| {
            if let Some(this) = weak.upgrade() {
                this.copy_link();
            }
        });
        let weak = Rc::downgrade(&this);
        this.cancel.connect_clicked(move |_| {
            if let Some(this) = weak.upgrade() {
                this.cancel_by_person();
            }
        });
        let keys = gtk::EventControllerKey::new();
        let weak = Rc::downgrade(&this);
        keys.connect_key_pressed(move |_, key, _, _| {
            if key != gdk::Key::Escape {
                return glib::Propagation::Proceed;
            }
            if let Some(this) = weak.upgrade() {
                this.cancel_by_person();
            }
            glib::Propagation::Stop
        });
        this.window.add_controller(keys);
        let weak = Rc::downgrade(&this);
        // The window manager's close button: the window is closing already.
        this.window.connect_close_request(move |_| {
            if let Some(this) = weak.upgrade() {
                this.tell_cancel();
            }
            glib::Propagation::Proceed
        });
        let weak = Rc::downgrade(&this);
        this.window.connect_map(move |_| {
            if let Some(this) = weak.upgrade() {
                this.refit();
            }
        });
        let session = this.session.clone();
        this.window.connect_destroy(move |_| on_closed(&session));
        this
    }

    pub fn present(&self) {
        self.window.present();
    }

    /// Fits the window to its content after a change: GTK 4.8 on X11 without a window manager
    /// loses the resize of content that changed while the window was being mapped, and leaves
    /// the window cut off.
    fn refit(&self) {
        let window = self.window.clone();
        glib::timeout_add_local_once(Duration::from_millis(30), move || {
            if !window.is_mapped() {
                return;
            }
            let (min_w, _, _, _) = window.measure(gtk::Orientation::Horizontal, -1);
            let width = window.width().max(min_w);
            let (min_h, _, _, _) = window.measure(gtk::Orientation::Vertical, width);
            // Also shrinks back when the code is hidden, so no empty half window stays.
            if window.height() != min_h || window.width() < min_w {
                window.set_default_size(width, min_h);
                window.queue_resize();
            }
        });
    }

    /// A second `prompt` for the same session updates what it says and raises the window.
    pub fn update(&self, prompt: Prompt) {
        *self.prompt.borrow_mut() = prompt;
        self.show_prompt();
        self.present();
    }

    pub fn close(&self) {
        self.window.close();
    }

    /// Closes without telling the agent (it is gone, or the session is already over).
    pub fn close_quietly(&self) {
        self.finished.set(true);
        self.window.close();
    }

    pub fn event(&self, event: &SessionEvent) {
        let (operation, devices) = {
            let p = self.prompt.borrow();
            (p.operation, p.devices.clone())
        };
        match event {
            SessionEvent::Qr { url } => self.show_qr(url),
            SessionEvent::BluetoothWaiting { code, .. } => {
                self.radio_notice
                    .set_text(timeline::bluetooth_notice(code.as_deref()));
                self.radio_notice.set_visible(true);
            }
            SessionEvent::BluetoothReady { .. } => self.radio_notice.set_visible(false),
            SessionEvent::Error { code, message } => {
                self.show_banner(
                    "error",
                    timeline::error_heading(code.as_deref()),
                    message.as_deref().unwrap_or(""),
                );
                // The code and the other phones no longer help once the session failed.
                self.radio_notice.set_visible(false);
                self.qr_box.set_visible(false);
                self.devices_box.set_visible(false);
            }
            // A phone that forgot this computer cannot be picked any more.
            SessionEvent::LinkFailed {
                device: Some(id),
                forgotten: Some(true),
                ..
            } => {
                let mut child = self.devices_box.first_child();
                while let Some(button) = child {
                    child = button.next_sibling();
                    if button.widget_name() == id.as_str() {
                        self.devices_box.remove(&button);
                    }
                }
            }
            // Once the phone is reached, the code and the other phones are done with.
            SessionEvent::Handshake {} => {
                self.qr_box.set_visible(false);
                self.devices_box.set_visible(false);
            }
            _ => {}
        }
        if let Some(line) = timeline::describe(event, operation, &devices) {
            self.add_line(line);
        }
        self.refit();
    }

    /// The agent's `end`: success and cancel close after [`CLOSE_AFTER`]; a failure stays.
    pub fn end(self: &Rc<Self>, outcome: Outcome, message: Option<&str>) {
        self.finished.set(true);
        self.qr_box.set_visible(false);
        self.devices_box.set_visible(false);
        self.cancel.set_label("Close");
        match outcome {
            Outcome::Ok => self.show_banner(
                "ok",
                "Done",
                message.unwrap_or("You can put your phone away."),
            ),
            Outcome::Cancelled => self.show_banner("neutral", "Cancelled", message.unwrap_or("")),
            Outcome::Failed => {
                // Keep the error event's banner when the end line adds nothing new.
                let shown = self.banner.is_visible() && self.banner.has_css_class("error");
                if !shown || message.is_some_and(|m| m != self.banner_text.text()) {
                    let title = if shown {
                        self.banner_title.text().to_string()
                    } else {
                        "It did not work".into()
                    };
                    self.show_banner("error", &title, message.unwrap_or("The request failed."));
                }
            }
        }
        self.refit();
        if outcome != Outcome::Failed {
            let weak = Rc::downgrade(self);
            glib::timeout_add_local_once(CLOSE_AFTER, move || {
                if let Some(this) = weak.upgrade() {
                    this.close();
                }
            });
        }
    }

    fn show_prompt(&self) {
        let p = self.prompt.borrow();
        let site = p.rp_id.as_deref().filter(|s| !s.is_empty());
        let (title, heading) = match (p.operation, site) {
            (Some(Operation::Create), Some(s)) => (
                format!("Create a passkey with your phone — {s}"),
                format!("Create a passkey for {s}"),
            ),
            (Some(Operation::Get), Some(s)) => (
                format!("Sign in with your phone — {s}"),
                format!("Sign in to {s}"),
            ),
            (None, Some(s)) => (
                format!("Use your phone — {s}"),
                format!("Use your phone for {s}"),
            ),
            (Some(Operation::Create), None) => (
                "Create a passkey with your phone".into(),
                "Create a passkey".into(),
            ),
            (_, None) => (
                "Sign in with your phone".into(),
                "Use your phone as a security key".into(),
            ),
        };
        self.window.set_title(Some(&title));
        self.heading.set_text(&heading);
        let asker = match p.front_door.as_deref().map(str::trim) {
            None | Some("") | Some("security key") => {
                "Security key request from a program on this computer".to_owned()
            }
            Some(other) => format!("Request from {other}"),
        };
        self.asker.set_text(&asker);

        while let Some(child) = self.devices_box.first_child() {
            self.devices_box.remove(&child);
        }
        for device in &p.devices {
            self.devices_box.append(&self.device_button(device));
        }
    }

    fn device_button(&self, device: &Device) -> gtk::Button {
        let button = gtk::Button::with_label(&format!("Use {} instead", device.label()));
        button.set_tooltip_text(Some("Reach this remembered phone without scanning"));
        // Found again by this name when the phone turns out to have forgotten this computer.
        button.set_widget_name(&device.id);
        let (emit, session, id) = (self.emit.clone(), self.session.clone(), device.id.clone());
        let devices_box = self.devices_box.clone();
        button.connect_clicked(move |_| {
            emit(Action::UseDevice {
                session: session.clone(),
                device: id.clone(),
            });
            // One pick per session: the daemon now contacts that phone.
            devices_box.set_sensitive(false);
        });
        button
    }

    fn show_qr(&self, url: &str) {
        match qr_image::draw(url) {
            Ok(img) => {
                let (side, stride) = (img.side, img.stride());
                let Ok(side_i32) = i32::try_from(side) else {
                    return;
                };
                let bytes = glib::Bytes::from_owned(img.rgb);
                let texture = gdk::MemoryTexture::new(
                    side_i32,
                    side_i32,
                    gdk::MemoryFormat::R8g8b8,
                    &bytes,
                    stride,
                );
                self.qr_picture.set_paintable(Some(&texture));
                self.link.set_text(url);
                *self.url.borrow_mut() = Some(url.to_owned());
                self.qr_box.set_visible(true);
            }
            Err(e) => {
                eprintln!("cable-prompt: session {}: {e}", self.session);
                self.show_banner("error", "The QR code cannot be shown", &e.to_string());
            }
        }
    }

    fn copy_link(&self) {
        if let Some(url) = self.url.borrow().as_deref() {
            self.window.clipboard().set_text(url);
            self.add_line(timeline::Line {
                tone: Tone::Done,
                text: "Link copied".into(),
            });
        }
    }

    /// Cancel or Escape: tell the agent (once) and close.
    fn cancel_by_person(&self) {
        self.tell_cancel();
        self.window.close();
    }

    fn tell_cancel(&self) {
        if !self.finished.replace(true) {
            (self.emit)(Action::Cancel {
                session: self.session.clone(),
            });
        }
    }

    fn show_banner(&self, kind: &str, title: &str, text: &str) {
        for class in ["error", "ok", "neutral"] {
            self.banner.remove_css_class(class);
        }
        self.banner.add_css_class(kind);
        self.banner_title.set_text(title);
        self.banner_text.set_text(text);
        self.banner_text.set_visible(!text.is_empty());
        self.banner.set_visible(true);
    }

    fn add_line(&self, line: timeline::Line) {
        let (mark, class) = match line.tone {
            Tone::Pending => ("…", "pending"),
            Tone::Done => ("✓", "done"),
            Tone::Act => ("➜", "act"),
            Tone::Warning => ("!", "warning"),
        };
        let row = label(&format!("{mark}  {}", line.text), &["stage", class]);
        self.timeline.append(&row);
    }
}

fn label(text: &str, classes: &[&str]) -> gtk::Label {
    let l = gtk::Label::new(Some(text));
    l.set_xalign(0.0);
    l.set_wrap(true);
    l.set_max_width_chars(48);
    for c in classes {
        l.add_css_class(c);
    }
    l
}

/// The window's look; loaded once per display.
pub const CSS: &str = "
.title-2 { font-size: 15pt; font-weight: bold; }
.banner { border-radius: 8px; padding: 10px 12px; }
.banner.error { background: #fbe3e1; color: #7a1010; border: 1px solid #e3a19b; }
.banner.ok { background: #e2f4e4; color: #14532d; border: 1px solid #9fd4a6; }
.banner.neutral { background: #ececec; color: #333333; }
.banner-title { font-weight: bold; font-size: 12pt; }
.radio-notice { font-weight: bold; color: #8a4b00; background: #fff4e0; border-radius: 6px; padding: 6px 10px; }
.link { font-family: monospace; font-size: 8pt; }
.stage.pending { color: #555555; }
.stage.done { color: #1d5e2b; }
.stage.act { font-weight: bold; color: #0b4f9c; }
.stage.warning { color: #8a4b00; }
";
