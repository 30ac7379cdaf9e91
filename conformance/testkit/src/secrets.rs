//! The secret scanner: where a recognisable secret shows in an error, in any of the forms it
//! could take on the wire (as is, or base64-encoded inside a `Basic` credential).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Standard base64 with padding, as in a `Basic` header.
pub fn base64(data: impl AsRef<[u8]>) -> String {
    STANDARD.encode(data)
}

/// Finds one secret in errors and text.
#[derive(Debug, Clone)]
pub struct Scanner {
    needles: Vec<String>,
}

impl Scanner {
    /// Looks for `secret` as is, base64-encoded alone, and base64-encoded as the password of a
    /// `Basic` credential for the user `user` or the empty user.
    pub fn new(secret: &str) -> Scanner {
        Scanner {
            needles: vec![
                secret.to_owned(),
                base64(secret),
                base64(format!("user:{secret}")),
                base64(format!(":{secret}")),
            ],
        }
    }

    /// Whether `text` holds the secret in any of its forms.
    pub fn in_text(&self, text: &str) -> bool {
        self.needles.iter().any(|n| text.contains(n.as_str()))
    }

    /// Where the secret shows in `e`: its `Display`, its `Debug`, or anything down its
    /// `source()` chain (`source #level Display|Debug: text`). `None` when it is clean.
    pub fn find(&self, e: &(dyn std::error::Error + 'static)) -> Option<String> {
        let mut level = 0;
        let mut current = Some(e);
        while let Some(err) = current {
            for (how, text) in [("Display", err.to_string()), ("Debug", format!("{err:?}"))] {
                if self.in_text(&text) {
                    return Some(format!("source #{level} {how}: {text}"));
                }
            }
            level += 1;
            current = err.source();
        }
        None
    }
}
