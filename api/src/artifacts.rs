//! Files a run gives back: what a program leaves in `/workspace/output` (see the README's
//! "Plots and files"), in a run result's `artifacts` and in WebSocket `artifact` frames.

use serde::{Deserialize, Serialize};

/// Where a program puts the files that come back with its result.
pub const OUTPUT_DIR: &str = "/workspace/output";

/// One file of the output directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// Its name in the output directory (no directory part).
    pub name: String,
    /// Its media type, from the name's extension ([`mime_for`]).
    pub mime: String,
    /// Its length in bytes.
    pub size: u64,
    /// Its content, base64 (standard alphabet, padded).
    pub data: String,
}

impl Artifact {
    /// Whether a browser may show it as an image (`<img>`; an SVG too, which is safe there:
    /// an `<img>` runs no script of it).
    pub fn is_image(&self) -> bool {
        is_image_mime(&self.mime)
    }

    /// The file as a `data:` URL (for `<img src>` and download links).
    pub fn data_url(&self) -> String {
        format!("data:{};base64,{}", self.mime, self.data)
    }
}

/// The media types shown as images.
pub fn is_image_mime(mime: &str) -> bool {
    matches!(
        mime,
        "image/png" | "image/jpeg" | "image/gif" | "image/svg+xml"
    )
}

/// A file's media type by its extension (case-insensitive); anything unknown is
/// `application/octet-stream`.
pub fn mime_for(name: &str) -> &'static str {
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    };
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_follow_the_extension() {
        assert_eq!(mime_for("figure-1.png"), "image/png");
        assert_eq!(mime_for("Photo.JPG"), "image/jpeg");
        assert_eq!(mime_for("a.jpeg"), "image/jpeg");
        assert_eq!(mime_for("anim.gif"), "image/gif");
        assert_eq!(mime_for("plot.svg"), "image/svg+xml");
        assert_eq!(mime_for("notes.txt"), "text/plain");
        assert_eq!(mime_for("data.csv"), "text/csv");
        assert_eq!(mime_for("r.json"), "application/json");
        assert_eq!(mime_for("page.html"), "application/octet-stream");
        assert_eq!(mime_for("png"), "application/octet-stream");
        assert_eq!(mime_for(".png"), "application/octet-stream");
        assert!(is_image_mime(mime_for("x.svg")));
        assert!(!is_image_mime(mime_for("x.txt")));
    }
}
