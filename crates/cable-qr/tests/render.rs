//! Each renderer's output is read back by a real QR decoder (rqrr) and compared module by
//! module with the encoder's matrix.

use cable_qr::render::{self, Modules, QUIET_ZONE, SVG_MODULE_UNITS};
use cable_qr::{QrHandshake, QrPayload, RenderError, RequestType};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn url() -> String {
    QrHandshake::generate(
        &mut StdRng::seed_from_u64(11),
        RequestType::MakeCredential,
        false,
        1_700_000_000,
    )
    .url()
}

/// Decodes the one QR code in a picture given as "is this pixel dark?".
fn read_qr(width: usize, height: usize, dark: impl Fn(usize, usize) -> bool) -> String {
    let mut img = rqrr::PreparedImage::prepare_from_bitmap(width, height, dark);
    let grids = img.detect_grids();
    assert_eq!(
        grids.len(),
        1,
        "expected exactly one QR code in the picture"
    );
    grids[0].decode().expect("the QR code decodes").1
}

/// Decodes a module matrix drawn at 4 pixels per module.
fn read_matrix(side: usize, dark: impl Fn(usize, usize) -> bool) -> String {
    read_qr(side * 4, side * 4, |x, y| dark(x / 4, y / 4))
}

#[test]
fn png_is_a_greyscale_image_that_scans() {
    let url = url();
    let m = render::modules(&url).unwrap();
    let px = 5;
    let bytes = render::png(&url, px).unwrap();

    let decoder = png::Decoder::new(bytes.as_slice());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let side = m.side() * px as usize;
    assert_eq!((info.width as usize, info.height as usize), (side, side));
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let pixel = |x: usize, y: usize| buf[y * side + x];

    // Only black and white, a light quiet zone of 4 modules, and the matrix inside.
    let qz = QUIET_ZONE * px as usize;
    for y in 0..side {
        for x in 0..side {
            let p = pixel(x, y);
            assert!(p == 0 || p == 255);
            let in_quiet_zone = x < qz || y < qz || x >= side - qz || y >= side - qz;
            if in_quiet_zone {
                assert_eq!(p, 255, "quiet zone pixel ({x}, {y})");
            }
            assert_eq!(p == 0, m.is_dark(x / px as usize, y / px as usize));
        }
    }
    assert_eq!(read_qr(side, side, |x, y| pixel(x, y) < 128), url);
}

#[test]
fn svg_has_the_right_view_box_and_scans() {
    let url = url();
    let m = render::modules(&url).unwrap();
    let svg = render::svg(&url).unwrap();
    let units = m.side() as u32 * SVG_MODULE_UNITS;
    assert!(svg.contains("<svg"), "{svg}");
    assert!(
        svg.contains(&format!(r#"viewBox="0 0 {units} {units}""#)),
        "{svg}"
    );
    assert!(svg.ends_with("</svg>"));

    // Read the dark squares back out of the path: "M{x} {y}h{w}v{h}H{x}V{y}" per module.
    let d = svg
        .split(r#" d=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let side = m.side();
    let mut dark = vec![false; side * side];
    for cmd in d.split('M').filter(|c| !c.is_empty()) {
        let nums: Vec<u32> = cmd
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().unwrap())
            .collect();
        let (x, y) = (nums[0] / SVG_MODULE_UNITS, nums[1] / SVG_MODULE_UNITS);
        assert_eq!(&nums[2..4], &[SVG_MODULE_UNITS, SVG_MODULE_UNITS]);
        dark[y as usize * side + x as usize] = true;
    }
    for y in 0..side {
        for x in 0..side {
            assert_eq!(dark[y * side + x], m.is_dark(x, y), "module ({x}, {y})");
        }
    }
    assert_eq!(read_matrix(side, |x, y| dark[y * side + x]), url);
}

/// Turns half-block lines back into a module matrix (light modules are ink).
fn unblock(lines: &[&str], side: usize) -> Vec<bool> {
    let mut dark = vec![false; side * (lines.len() * 2)];
    for (row, line) in lines.iter().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        assert_eq!(chars.len(), side, "line {row}");
        for (x, c) in chars.into_iter().enumerate() {
            let (upper_light, lower_light) = match c {
                '\u{2588}' => (true, true),
                '\u{2580}' => (true, false),
                '\u{2584}' => (false, true),
                ' ' => (false, false),
                other => panic!("unexpected {other:?}"),
            };
            dark[2 * row * side + x] = !upper_light;
            dark[(2 * row + 1) * side + x] = !lower_light;
        }
    }
    dark
}

fn check_terminal(text: &str, m: &Modules, url: &str, strip: impl Fn(&str) -> &str) {
    let side = m.side();
    let lines: Vec<&str> = text.lines().map(strip).collect();
    assert_eq!(lines.len(), side.div_ceil(2));
    let dark = unblock(&lines, side);
    for y in 0..side {
        for x in 0..side {
            assert_eq!(dark[y * side + x], m.is_dark(x, y), "module ({x}, {y})");
        }
    }
    // The quiet zone is drawn, not left to the terminal's background: the first two lines
    // are solid light blocks.
    assert!(lines[..2]
        .iter()
        .all(|l| l.chars().all(|c| c == '\u{2588}')));
    assert_eq!(read_matrix(side, |x, y| dark[y * side + x]), url);
}

#[test]
fn terminal_sets_its_own_colours_and_scans() {
    let url = url();
    let m = render::modules(&url).unwrap();
    let text = render::terminal(&url).unwrap();
    let colours = "\x1b[38;5;231;48;5;16m";
    for line in text.lines() {
        assert!(
            line.starts_with(colours) && line.ends_with("\x1b[0m"),
            "{line:?}"
        );
    }
    check_terminal(&text, &m, &url, |l| {
        l.strip_prefix(colours)
            .and_then(|l| l.strip_suffix("\x1b[0m"))
            .unwrap()
    });
}

#[test]
fn plain_terminal_has_no_escapes_and_scans() {
    let url = url();
    let m = render::modules(&url).unwrap();
    let text = render::terminal_plain(&url).unwrap();
    assert!(!text.contains('\x1b'));
    check_terminal(&text, &m, &url, |l| l);
}

#[test]
fn prefix_is_drawn_upper_case_for_alphanumeric_mode() {
    let url = url();
    let lower = format!("fido:/{}", &url[6..]);
    let m = render::modules(&url).unwrap();
    assert_eq!(render::modules(&lower).unwrap(), m);
    // Alphanumeric prefix + numeric digits: Chrome-sized URLs fit version 5 at level M.
    assert_eq!(url.len(), 174);
    assert!(m.version() <= 5, "version {}", m.version());
    assert_eq!(m.width(), 17 + 4 * m.version() as usize);
    assert_eq!(m.side(), m.width() + 8);
    // The decoded text is the upper-case URL, which the phone parses to the same payload.
    let png = render::png(&lower, 4).unwrap();
    let mut reader = png::Decoder::new(png.as_slice()).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let w = info.width as usize;
    let text = read_qr(w, w, |x, y| buf[y * w + x] < 128);
    assert_eq!(text, url);
    assert_eq!(
        QrPayload::parse_url(&text).unwrap(),
        QrPayload::parse_url(&lower).unwrap()
    );
}

#[test]
fn render_errors() {
    let url = url();
    assert!(matches!(
        render::png(&url, 0),
        Err(RenderError::ZeroModuleSize)
    ));
    assert!(matches!(
        render::png(&url, 100),
        Err(RenderError::ImageTooLarge { module_px: 100, .. })
    ));
    let huge = format!("FIDO:/{}", "1".repeat(8000));
    let err = render::terminal(&huge).unwrap_err();
    assert!(matches!(err, RenderError::Encode(_)));
    assert!(err
        .to_string()
        .starts_with("cannot make a QR code of this text"));
    assert!(render::svg(&huge).is_err());
}
