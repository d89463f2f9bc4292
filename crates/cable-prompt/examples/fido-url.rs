//! Prints a fresh, real `FIDO:/` link (a new identity and secret each run), for the window
//! tests: `cargo run -q -p cable-prompt --example fido-url`.

fn main() {
    let mut rng = rand::thread_rng();
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let qr =
        cable_qr::QrHandshake::generate(&mut rng, cable_qr::RequestType::GetAssertion, false, unix);
    println!("{}", qr.url());
}
