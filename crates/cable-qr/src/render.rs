//! Drawing the QR code: in a terminal (Unicode half blocks), as SVG, and as PNG.
//!
//! A `FIDO:/` prefix in any case is drawn upper-case: the QR encoder then picks alphanumeric
//! mode for the prefix and numeric mode for the digits, which gives a markedly smaller code
//! than byte mode (version 5 instead of 9 for Chrome's 174-character URL).

use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};

use crate::{RenderError, PREFIX};

/// Light modules around the symbol on every side, as the QR standard requires.
pub const QUIET_ZONE: usize = 4;
/// Medium error correction, as Chromium uses: survives glare on a screen.
const EC_LEVEL: EcLevel = EcLevel::M;
/// SVG user units per module.
pub const SVG_MODULE_UNITS: u32 = 8;
/// Largest PNG side we draw, in pixels (keeps the pixel buffer at most 16 MiB).
pub const MAX_PNG_SIDE: u32 = 4096;

/// A QR code's module matrix, for drawing it some other way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Modules {
    width: usize,
    dark: Vec<bool>,
    version: i16,
}

impl Modules {
    /// Modules per side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Modules per side, quiet zone included.
    pub fn side(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// The QR version (1..=40).
    pub fn version(&self) -> i16 {
        self.version
    }

    /// Whether module (`x`, `y`) is dark, counting from the outer corner of the quiet zone.
    /// Everything outside the symbol is light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        let (Some(x), Some(y)) = (x.checked_sub(QUIET_ZONE), y.checked_sub(QUIET_ZONE)) else {
            return false;
        };
        x < self.width && y < self.width && self.dark.get(y * self.width + x) == Some(&true)
    }
}

/// Encodes `url` and returns its modules.
pub fn modules(url: &str) -> Result<Modules, RenderError> {
    let code = encode(url)?;
    let version = match code.version() {
        qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => v,
    };
    Ok(Modules {
        width: code.width(),
        dark: code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect(),
        version,
    })
}

/// For a terminal: two rows of modules per line of half blocks, colours set explicitly
/// (256-colour white on black, reset at each line end) so the code, quiet zone included,
/// scans the same on dark and light terminal themes.
pub fn terminal(url: &str) -> Result<String, RenderError> {
    Ok(half_blocks(&modules(url)?, true))
}

/// Like [`terminal`] but without escape codes (for `NO_COLOR` or logs): light modules are drawn
/// as ink, which suits the usual light-on-dark terminal; phone scanners also read the inverse.
pub fn terminal_plain(url: &str) -> Result<String, RenderError> {
    Ok(half_blocks(&modules(url)?, false))
}

/// An SVG document, [`SVG_MODULE_UNITS`] units per module, quiet zone included.
pub fn svg(url: &str) -> Result<String, RenderError> {
    let code = encode(url)?;
    Ok(code
        .render::<svg::Color>()
        .quiet_zone(true)
        .module_dimensions(SVG_MODULE_UNITS, SVG_MODULE_UNITS)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// An 8-bit greyscale PNG, `module_px` pixels per module, quiet zone included.
pub fn png(url: &str, module_px: u32) -> Result<Vec<u8>, RenderError> {
    if module_px == 0 {
        return Err(RenderError::ZeroModuleSize);
    }
    let modules = modules(url)?;
    let too_large = RenderError::ImageTooLarge {
        module_px,
        max: MAX_PNG_SIDE,
    };
    let side = u32::try_from(modules.side())
        .ok()
        .and_then(|s| s.checked_mul(module_px))
        .filter(|&s| s <= MAX_PNG_SIDE)
        .ok_or(too_large)?;

    let scale = module_px as usize;
    let mut row = Vec::with_capacity(side as usize);
    let mut pixels = Vec::with_capacity(row.capacity() * side as usize);
    for y in 0..modules.side() {
        row.clear();
        for x in 0..modules.side() {
            let shade = if modules.is_dark(x, y) { 0u8 } else { 255 };
            row.extend(std::iter::repeat_n(shade, scale));
        }
        for _ in 0..scale {
            pixels.extend_from_slice(&row);
        }
    }

    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}

fn encode(url: &str) -> Result<QrCode, RenderError> {
    let upper;
    let text = match url.split_at_checked(PREFIX.len()) {
        Some((prefix, rest)) if prefix.eq_ignore_ascii_case(PREFIX) && prefix != PREFIX => {
            upper = format!("{PREFIX}{rest}");
            upper.as_str()
        }
        _ => url,
    };
    QrCode::with_error_correction_level(text, EC_LEVEL).map_err(RenderError::Encode)
}

/// Light-on-dark foreground/background (256-colour cube white and black, which themes leave
/// alone, unlike the 16 basic colours), and the reset.
const COLOURS: &str = "\x1b[38;5;231;48;5;16m";
const RESET: &str = "\x1b[0m";

/// Each character covers two module rows; light modules are ink, dark ones background.
fn half_blocks(modules: &Modules, colour: bool) -> String {
    let side = modules.side();
    let mut out = String::with_capacity(side.div_ceil(2) * (side * 3 + 32));
    for top in (0..side).step_by(2) {
        if colour {
            out.push_str(COLOURS);
        }
        for x in 0..side {
            // Past the last row is outside the symbol: light, like the quiet zone.
            let upper = !modules.is_dark(x, top);
            let lower = !modules.is_dark(x, top + 1);
            out.push(match (upper, lower) {
                (true, true) => '\u{2588}',
                (true, false) => '\u{2580}',
                (false, true) => '\u{2584}',
                (false, false) => ' ',
            });
        }
        if colour {
            out.push_str(RESET);
        }
        out.push('\n');
    }
    out
}
