//! The files the browser loads besides pages: embedded in the binary and
//! served under names that carry a hash of their content, so a page can
//! let browsers keep them for a year and a new release is never mixed with
//! an old cached file. Nothing is loaded from another origin.

use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The name pages ask for (`app.css`).
    pub name: &'static str,
    /// The name it is served under (`app.3f2a9c01d4e5.css`).
    pub hashed: String,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// The embedded files: the app's style and script, and vendored htmx with
/// its server-sent-events extension (licences in `assets/licenses`).
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/app.js"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../assets/icon.svg"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/htmx.min.js"),
    ),
    (
        "htmx-sse.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/htmx-sse.min.js"),
    ),
];

fn hashed_name(name: &str, bytes: &[u8]) -> String {
    let digest = hex::encode(&Sha256::digest(bytes)[..6]);
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{digest}.{ext}"),
        None => format!("{name}.{digest}"),
    }
}

/// Every embedded file, hashed once.
pub fn all() -> &'static [Asset] {
    static ALL: OnceLock<Vec<Asset>> = OnceLock::new();
    ALL.get_or_init(|| {
        FILES
            .iter()
            .map(|&(name, content_type, bytes)| Asset {
                name,
                hashed: hashed_name(name, bytes),
                content_type,
                bytes,
            })
            .collect()
    })
}

/// The file served as `hashed`, if it is this build's.
pub fn find(hashed: &str) -> Option<&'static Asset> {
    all().iter().find(|a| a.hashed == hashed)
}

/// The address a page links for `name` (`/assets/app.3f2a9c01d4e5.css`).
/// An unknown name gives an address that answers 404, which the page tests
/// catch; it is never a panic in a request.
pub fn url(name: &str) -> String {
    match all().iter().find(|a| a.name == name) {
        Some(a) => format!("/assets/{}", a.hashed),
        None => format!("/assets/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash() {
        let a = hashed_name("app.css", b"body{}");
        assert!(
            a.starts_with("app.") && a.ends_with(".css") && a.len() == 20,
            "{a}"
        );
        assert_ne!(a, hashed_name("app.css", b"body{ }"));
        for asset in all() {
            assert_eq!(find(&asset.hashed).map(|f| f.name), Some(asset.name));
            assert!(url(asset.name).ends_with(&asset.hashed));
        }
        assert!(find("app.css").is_none(), "only hashed names are served");
    }
}
