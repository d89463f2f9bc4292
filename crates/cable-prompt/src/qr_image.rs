//! The QR code as pixels for a texture: whole pixels per module, black on white, with the
//! standard 4-module quiet zone, so a screenshot at 100 % zoom scans without any resampling.

use cable_qr::render::{self, QUIET_ZONE};

/// Fewest pixels per module: below this, phone cameras at arm's length start to miss modules.
pub const MIN_MODULE_PX: usize = 6;
/// Side the image aims for; small codes get bigger modules to reach it.
pub const TARGET_SIDE_PX: usize = 300;

/// An 8-bit RGB image, rows packed (`stride == 3 * side`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrImage {
    pub side: usize,
    pub module_px: usize,
    pub rgb: Vec<u8>,
}

impl QrImage {
    pub fn stride(&self) -> usize {
        3 * self.side
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the link cannot be drawn as a QR code: {0}")]
pub struct DrawError(#[from] cable_qr::RenderError);

/// Draws `url` (a `FIDO:/` link; a lower-case prefix is drawn upper-case, as cable-qr does).
pub fn draw(url: &str) -> Result<QrImage, DrawError> {
    let modules = render::modules(url)?;
    let count = modules.side();
    debug_assert!(count >= modules.width() + 2 * QUIET_ZONE);
    let module_px = (TARGET_SIDE_PX / count).max(MIN_MODULE_PX);
    let side = count * module_px;
    let mut rgb = Vec::with_capacity(3 * side * side);
    for y in 0..side {
        for x in 0..side {
            let shade = if modules.is_dark(x / module_px, y / module_px) {
                0
            } else {
                255
            };
            rgb.extend_from_slice(&[shade; 3]);
        }
    }
    Ok(QrImage {
        side,
        module_px,
        rgb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cable_qr::QrHandshake;

    fn real_url() -> String {
        let mut rng = rand::thread_rng();
        QrHandshake::generate(
            &mut rng,
            cable_qr::RequestType::GetAssertion,
            false,
            1_764_000_000,
        )
        .url()
    }

    fn grey(img: &QrImage) -> Vec<u8> {
        img.rgb.chunks(3).map(|p| p[0]).collect()
    }

    #[test]
    fn decodes_back_to_the_link() {
        let url = real_url();
        let img = draw(&url).unwrap();
        let pixels = grey(&img);
        let mut prepared =
            rqrr::PreparedImage::prepare_from_greyscale(img.side, img.side, |x, y| {
                pixels[y * img.side + x]
            });
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, text) = grids[0].decode().unwrap();
        assert_eq!(text, url);
    }

    #[test]
    fn whole_pixel_modules_and_a_white_quiet_zone() {
        let img = draw(&real_url()).unwrap();
        assert!(img.module_px >= MIN_MODULE_PX);
        assert_eq!(img.side % img.module_px, 0);
        assert_eq!(img.rgb.len(), img.stride() * img.side);
        let pixels = grey(&img);
        let quiet = QUIET_ZONE * img.module_px;
        for y in 0..img.side {
            for x in 0..img.side {
                let p = pixels[y * img.side + x];
                assert!(p == 0 || p == 255, "grey pixel at {x},{y}");
                let border =
                    x < quiet || y < quiet || x >= img.side - quiet || y >= img.side - quiet;
                if border {
                    assert_eq!(p, 255, "dark pixel in the quiet zone at {x},{y}");
                }
                // Every pixel of a module has the module's shade: no blurred edges.
                let (mx, my) = (
                    x / img.module_px * img.module_px,
                    y / img.module_px * img.module_px,
                );
                assert_eq!(p, pixels[my * img.side + mx]);
            }
        }
        // The finder pattern's corner, just inside the quiet zone, is dark.
        assert_eq!(pixels[quiet * img.side + quiet], 0);
    }
}
