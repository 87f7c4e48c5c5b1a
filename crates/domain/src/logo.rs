//! Group logos (seed 000's Branding tab): PNG only, checked by decoding the whole image, never by
//! trusting a file name or a content type.

use crate::{Error, Result};

pub const MAX_LOGO_BYTES: usize = 1024 * 1024;
pub const MAX_LOGO_SIDE: u32 = 2048;

/// Which of the two logos: for light or for dark backgrounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogoVariant {
    Light,
    Dark,
}

impl LogoVariant {
    pub fn as_str(self) -> &'static str {
        match self {
            LogoVariant::Light => "light",
            LogoVariant::Dark => "dark",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "light" => Ok(LogoVariant::Light),
            "dark" => Ok(LogoVariant::Dark),
            _ => Err(Error::invalid("variant", "must be light or dark")),
        }
    }
}

/// A PNG that decoded completely within the limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

impl Logo {
    pub fn parse(field: &str, bytes: Vec<u8>) -> Result<Logo> {
        if bytes.len() > MAX_LOGO_BYTES {
            return Err(Error::invalid(
                field,
                format!("must be at most {MAX_LOGO_BYTES} bytes (1 MiB)"),
            ));
        }
        let mut decoder = png::Decoder::new_with_limits(
            std::io::Cursor::new(&bytes[..]),
            // Bounds the memory a hostile file can make us allocate while decoding.
            png::Limits {
                bytes: 64 * 1024 * 1024,
            },
        );
        decoder.set_transformations(png::Transformations::EXPAND);
        let not_png = |e: png::DecodingError| Error::invalid(field, format!("is not a valid PNG image ({e})"));
        let mut reader = decoder.read_info().map_err(not_png)?;
        let (width, height) = (reader.info().width, reader.info().height);
        if width > MAX_LOGO_SIDE || height > MAX_LOGO_SIDE {
            return Err(Error::invalid(
                field,
                format!("is {width}x{height} pixels; at most {MAX_LOGO_SIDE}x{MAX_LOGO_SIDE} is allowed"),
            ));
        }
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| Error::invalid(field, "is too large to decode"))?;
        let mut buf = vec![0; size];
        reader.next_frame(&mut buf).map_err(not_png)?;
        Ok(Logo {
            png: bytes,
            width,
            height,
        })
    }
}

/// Encodes a small solid-colour PNG: demo data and tests need real images.
pub fn solid_png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("in-memory PNG header");
        let data: Vec<u8> = (0..width * height).flat_map(|_| rgb).collect();
        writer.write_image_data(&data).expect("in-memory PNG data");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_png_is_accepted() {
        let logo = Logo::parse("logo_light", solid_png(16, 8, [10, 20, 30])).unwrap();
        assert_eq!((logo.width, logo.height), (16, 8));
    }

    #[test]
    fn a_truncated_png_is_refused() {
        let mut png = solid_png(64, 64, [1, 2, 3]);
        png.truncate(png.len() / 2);
        let err = Logo::parse("logo_dark", png).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("logo_dark"));
    }

    #[test]
    fn a_jpeg_or_text_is_refused() {
        assert!(Logo::parse("logo_light", b"\xff\xd8\xff\xe0 not a png".to_vec()).is_err());
    }

    #[test]
    fn an_oversized_image_is_refused() {
        let err = Logo::parse("logo_light", solid_png(2049, 1, [0, 0, 0])).unwrap_err();
        assert!(err.detail.contains("2049x1"), "{}", err.detail);
        assert!(Logo::parse("logo_light", vec![0; MAX_LOGO_BYTES + 1]).is_err());
    }
}
