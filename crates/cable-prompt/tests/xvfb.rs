//! The real window on a virtual X server: the QR code in a screenshot decodes (zbarimg) to the
//! link fed in, also under a Bluetooth-is-off notice, an error keeps the window up, clicking Cancel sends `cancel`, clicking a linked
//! phone's button sends `use_device`, a success closes by itself, stdin EOF exits 0
//! (scripts/test-prompt-window checks Escape). Skips, saying why, when Xvfb, import, zbarimg or
//! xdotool is missing (scripts/setup-gui installs them).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TOOLS: &[&str] = &["Xvfb", "import", "zbarimg", "xdotool"];

fn missing_tools() -> Vec<&'static str> {
    TOOLS
        .iter()
        .copied()
        .filter(|t| {
            !std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).any(|d| d.join(t).is_file()))
                .unwrap_or(false)
        })
        .collect()
}

/// Kills what it holds when the test ends, however it ends.
struct Reaper(Child);
impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_display() -> u32 {
    // Start high and add the pid so parallel runs (and a desktop's :0) do not collide.
    let start = 200 + std::process::id() % 300;
    (start..start + 100)
        .find(|n| {
            !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .expect("no free X display number between 200 and 600")
}

fn start_xvfb() -> (Reaper, String) {
    let n = free_display();
    let display = format!(":{n}");
    let xvfb = Command::new("Xvfb")
        .args([
            display.as_str(),
            "-screen",
            "0",
            "1024x768x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Xvfb");
    let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
    wait_for(Duration::from_secs(10), "Xvfb's socket", || {
        socket.exists().then_some(())
    });
    // The socket exists before the server answers; once a client gets the root window, so
    // will cable-prompt (seen here: a window that never came, under load, without this).
    wait_for(Duration::from_secs(20), "Xvfb to answer", || {
        tool(&display, "xwininfo", &["-root"]).map(drop)
    });
    // Seen here: a GTK client started in the first moments of a fresh Xvfb (still running
    // xkbcomp for its keymap) sometimes exits at once without a word. Give it a moment; a
    // real session's X server has long been up when the agent starts.
    std::thread::sleep(Duration::from_millis(1500));
    (Reaper(xvfb), display)
}

fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "gave up waiting for {what} after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tool(display: &str, program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .env("DISPLAY", display)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn fido_url() -> String {
    // As the `fido-url` example: a real payload with a fresh identity and secret.
    let mut rng = rand::thread_rng();
    let qr = cable_qr::QrHandshake::generate(
        &mut rng,
        cable_qr::RequestType::GetAssertion,
        false,
        1_764_000_000,
    );
    qr.url()
}

fn send(stdin: &mut ChildStdin, line: &str) {
    writeln!(stdin, "{line}").expect("write to cable-prompt");
    stdin.flush().unwrap();
}

/// The window's size, from xdotool.
fn geometry(display: &str, window: &str) -> (i32, i32) {
    let shell = tool(
        display,
        "xdotool",
        &["getwindowgeometry", "--shell", window],
    )
    .expect("window geometry");
    let get = |key: &str| {
        shell
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {shell}"))
    };
    (get("WIDTH="), get("HEIGHT="))
}

/// Clicks at (`x`, `y`) inside `window`.
fn click(display: &str, window: &str, x: i32, y: i32) {
    let (x, y) = (x.to_string(), y.to_string());
    tool(
        display,
        "xdotool",
        &["mousemove", "--window", window, &x, &y, "click", "1"],
    )
    .expect("xdotool click");
}

// Where the buttons are, from the window's own margins (window.rs): Cancel sits 22 px from the
// right and 18 px from the bottom edge; a linked phone's full-width button is right above it.
const CANCEL_FROM_RIGHT: i32 = 22 + 15;
const CANCEL_FROM_BOTTOM: i32 = 18 + 12;
const DEVICE_FROM_BOTTOM: i32 = 18 + 34 + 6 + 10 + 17;

fn screenshot_png() -> PathBuf {
    // target/prompt-window.png, next to the test binary's target dir.
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_cable-prompt"));
    let target = exe
        .ancestors()
        .nth(2)
        .unwrap_or(Path::new("."))
        .to_path_buf();
    target.join("prompt-window.png")
}

#[test]
fn window_shows_a_scannable_code_survives_an_error_and_cancels() {
    let missing = missing_tools();
    if !missing.is_empty() {
        println!(
            "SKIPPED: {} not installed; run scripts/setup-gui",
            missing.join(", ")
        );
        return;
    }
    let url = fido_url();
    let (_xvfb, display) = start_xvfb();

    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cable-prompt"))
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        // No session bus under Xvfb: keep GTK from looking for accessibility and portals.
        .env("GTK_A11Y", "none")
        .env("GDK_DEBUG", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start cable-prompt");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut child = Reaper(child);

    send(
        &mut stdin,
        r#"{"type":"prompt","session":"S1","front_door":"security key","rp_id":"example.com","operation":"get","devices":[{"id":"d1","name":"Pixel 8"}]}"#,
    );
    send(
        &mut stdin,
        &format!(
            r#"{{"type":"event","session":"S1","event":"qr","url":"{url}","svg":"<svg/>","t_ms":0}}"#
        ),
    );
    send(&mut stdin, "this line is not JSON");
    send(
        &mut stdin,
        r#"{"type":"event","session":"S1","event":"scanning","radio":"Bluetooth","t_ms":2,"new":1}"#,
    );
    send(
        &mut stdin,
        r#"{"type":"event","session":"S1","event":"from_the_future","t_ms":3}"#,
    );

    let window = wait_for(Duration::from_secs(20), "the window to be mapped", || {
        tool(
            &display,
            "xdotool",
            &[
                "search",
                "--onlyvisible",
                "--name",
                "Sign in with your phone — example.com",
            ],
        )
        .and_then(|ids| ids.lines().next().map(str::to_owned))
    });
    let mapped = started.elapsed();
    println!("start to mapped: {} ms", mapped.as_millis());

    // The first frames may still lack the texture: retry the screenshot until it decodes.
    let png = screenshot_png();
    let png_arg = png.to_str().unwrap().to_owned();
    let decoded = wait_for(
        Duration::from_secs(10),
        "zbarimg to find the QR code in a screenshot",
        || {
            tool(&display, "import", &["-window", "root", &png_arg])?;
            tool(&display, "zbarimg", &["-q", "--raw", &png_arg])
        },
    );
    println!(
        "screenshot decoded after {} ms: {}",
        started.elapsed().as_millis(),
        png.display()
    );
    // zbarimg reads QR alphanumeric mode as upper case; the link is upper case already.
    assert_eq!(
        decoded, url,
        "the QR code in the screenshot is not the link fed in"
    );

    // Bluetooth switched off while the code is shown: the notice appears above the code, which
    // must stay whole and scannable; Bluetooth back on clears the notice.
    send(
        &mut stdin,
        r#"{"type":"event","session":"S1","event":"bluetooth_waiting","code":"bluetooth_off","message":"Bluetooth is off (hci0): turn it on","t_ms":30}"#,
    );
    let bluetooth_png = png_arg.replace(".png", "-bluetooth.png");
    let before = std::fs::read(&png_arg).expect("the first screenshot");
    let decoded = wait_for(
        Duration::from_secs(10),
        "the Bluetooth notice to show with the QR code still scannable",
        || {
            tool(&display, "import", &["-window", "root", &bluetooth_png])?;
            // The notice changes the window: until the picture changes it is not drawn yet.
            if std::fs::read(&bluetooth_png).ok()? == before {
                return None;
            }
            tool(&display, "zbarimg", &["-q", "--raw", &bluetooth_png])
        },
    );
    assert_eq!(decoded, url, "the Bluetooth notice broke the QR code");
    send(
        &mut stdin,
        r#"{"type":"event","session":"S1","event":"bluetooth_ready","adapters":["hci0"],"t_ms":35}"#,
    );

    send(
        &mut stdin,
        r#"{"type":"event","session":"S1","event":"error","code":"bluetooth_off","message":"Bluetooth is off: turn it on in Settings and try again","t_ms":40}"#,
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "cable-prompt exited on an error event"
    );
    let visible = tool(
        &display,
        "xdotool",
        &[
            "search",
            "--onlyvisible",
            "--name",
            "Sign in with your phone",
        ],
    );
    assert!(visible.is_some(), "the window went away on an error event");
    let _ = tool(
        &display,
        "import",
        &["-window", "root", &png_arg.replace(".png", "-error.png")],
    );

    let (width, height) = geometry(&display, &window);
    click(
        &display,
        &window,
        width - CANCEL_FROM_RIGHT,
        height - CANCEL_FROM_BOTTOM,
    );
    let action = lines
        .recv_timeout(Duration::from_secs(10))
        .expect("no action on stdout after clicking Cancel");
    assert_eq!(action, r#"{"action":"cancel","session":"S1"}"#);
    wait_for(
        Duration::from_secs(5),
        "the window to close after cancel",
        || {
            tool(
                &display,
                "xdotool",
                &[
                    "search",
                    "--onlyvisible",
                    "--name",
                    "Sign in with your phone",
                ],
            )
            .is_none()
            .then_some(())
        },
    );
    // Late events of the cancelled session are ignored, not a reason to reopen or crash.
    send(
        &mut stdin,
        r#"{"type":"event","session":"S1","event":"closed","t_ms":60}"#,
    );

    // A linked phone's button, then a success that shows briefly and closes by itself.
    send(
        &mut stdin,
        r#"{"type":"prompt","session":"S2","rp_id":"example.org","operation":"create","devices":[{"id":"d7","name":"Pixel 8"}]}"#,
    );
    let window = wait_for(
        Duration::from_secs(10),
        "the second session's window",
        || {
            tool(
                &display,
                "xdotool",
                &[
                    "search",
                    "--onlyvisible",
                    "--name",
                    "Create a passkey with your phone — example.org",
                ],
            )
            .and_then(|ids| ids.lines().next().map(str::to_owned))
        },
    );
    std::thread::sleep(Duration::from_millis(300));
    let (width, height) = geometry(&display, &window);
    click(&display, &window, width / 2, height - DEVICE_FROM_BOTTOM);
    let action = lines
        .recv_timeout(Duration::from_secs(10))
        .expect("no action on stdout after clicking the linked phone");
    assert_eq!(
        action,
        r#"{"action":"use_device","session":"S2","device":"d7"}"#
    );
    send(
        &mut stdin,
        r#"{"type":"event","session":"S2","event":"ctap_request","command":"makeCredential","t_ms":5}"#,
    );
    send(
        &mut stdin,
        r#"{"type":"end","session":"S2","outcome":"ok"}"#,
    );
    let shown = Instant::now();
    wait_for(
        Duration::from_secs(5),
        "the window to close after a success",
        || {
            tool(
                &display,
                "xdotool",
                &["search", "--onlyvisible", "--name", "example.org"],
            )
            .is_none()
            .then_some(())
        },
    );
    let stayed = shown.elapsed();
    assert!(
        stayed >= Duration::from_millis(1000),
        "the success closed after {stayed:?}, too fast to read"
    );

    drop(stdin);
    let status = wait_for(
        Duration::from_secs(10),
        "cable-prompt to exit after stdin EOF",
        || child.0.try_wait().unwrap(),
    );
    assert!(
        status.success(),
        "cable-prompt exited with {status} after stdin EOF"
    );
    assert!(lines.try_recv().is_err(), "an unexpected second action");
}

#[test]
fn without_a_display_it_says_so_and_exits_1() {
    let out = Command::new(env!("CARGO_BIN_EXE_cable-prompt"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::null())
        .output()
        .expect("run cable-prompt");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no display") && err.contains("DISPLAY"),
        "{err}"
    );
}
