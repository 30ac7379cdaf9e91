//! `WWW-Authenticate` parsing ([RFC 7235 §4.1], [RFC 9110 §11.6.1]). Pure, no IO.
//!
//! ```text
//! WWW-Authenticate = 1#challenge
//! challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param       = token BWS "=" BWS ( token / quoted-string )
//! quoted-string    = DQUOTE *( qdtext / "\" any-char ) DQUOTE
//! ```
//!
//! One header value may hold several challenges (`Basic realm="a", Bearer realm="b"`); a comma
//! inside a quoted string belongs to the value. Scheme and parameter names are case-insensitive:
//! names are stored lower-case, the scheme keeps its spelling and is compared case-insensitively.
//!
//! [RFC 7235 §4.1]: https://www.rfc-editor.org/rfc/rfc7235#section-4.1
//! [RFC 9110 §11.6.1]: https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1

use std::fmt;

/// Longest `WWW-Authenticate` value parsed, in bytes.
///
/// Real challenges are a few hundred bytes (a realm URL, a service and a scope); hyper already
/// bounds header sizes, this bounds the work done on hostile values independently of the
/// transport.
pub const MAX_CHALLENGE_LENGTH: usize = 16 * 1024;

/// One challenge: a scheme and its parameters (or a `token68`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    scheme: String,
    token68: Option<String>,
    params: Vec<(String, String)>,
}

/// Why a `WWW-Authenticate` value could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid WWW-Authenticate value at byte {index}: {reason}")]
pub struct ChallengeError {
    /// Byte offset where parsing stopped.
    pub index: usize,
    /// What was expected.
    pub reason: &'static str,
}

impl Challenge {
    /// A challenge with this scheme and parameters (names are lower-cased).
    pub fn new(scheme: &str, params: &[(&str, &str)]) -> Challenge {
        Challenge {
            scheme: scheme.to_owned(),
            token68: None,
            params: params
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
                .collect(),
        }
    }

    /// The scheme as the server spelled it.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// Whether the scheme is `Bearer` (any case).
    pub fn is_bearer(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("bearer")
    }

    /// Whether the scheme is `Basic` (any case).
    pub fn is_basic(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("basic")
    }

    /// The `token68` form's value, if the challenge used it.
    pub fn token68(&self) -> Option<&str> {
        self.token68.as_deref()
    }

    /// A parameter by (case-insensitive) name; the first occurrence wins.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All parameters, names lower-case, in order.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// `realm`.
    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }

    /// `service` (Bearer).
    pub fn service(&self) -> Option<&str> {
        self.param("service")
    }

    /// `scope` (Bearer; a space-separated list).
    pub fn scope(&self) -> Option<&str> {
        self.param("scope")
    }

    /// `error` (Bearer, RFC 6750 §3: `invalid_token`, `insufficient_scope`…).
    pub fn error(&self) -> Option<&str> {
        self.param("error")
    }
}

impl fmt::Display for Challenge {
    /// Writes the challenge back in header syntax; every value is quoted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        if let Some(t) = &self.token68 {
            return write!(f, " {t}");
        }
        for (i, (k, v)) in self.params.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ", " })?;
            write!(f, "{k}=\"")?;
            for c in v.chars() {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\"")?;
        }
        Ok(())
    }
}

/// Parses one `WWW-Authenticate` header value into its challenges.
///
/// # Errors
///
/// [`ChallengeError`] with the byte index and reason: a value longer than
/// [`MAX_CHALLENGE_LENGTH`], no challenge at all, a parameter before any scheme or after a
/// token68, an unterminated or non-UTF-8 quoted string, or other malformed syntax.
pub fn parse(value: &str) -> Result<Vec<Challenge>, ChallengeError> {
    if value.len() > MAX_CHALLENGE_LENGTH {
        return Err(ChallengeError {
            index: MAX_CHALLENGE_LENGTH,
            reason: "value too long",
        });
    }
    let b = value.as_bytes();
    let mut p = Parser { b, i: 0 };
    let mut out: Vec<Challenge> = Vec::new();
    loop {
        p.skip_list_separators();
        if p.at_end() {
            break;
        }
        let start = p.i;
        let name = p.token();
        if name.is_empty() {
            return Err(p.err("expected an auth scheme or parameter name"));
        }
        p.skip_ws();
        if p.peek() == Some(b'=') {
            // A parameter of the current challenge.
            let Some(current) = out.last_mut() else {
                return Err(ChallengeError {
                    index: start,
                    reason: "parameter before any scheme",
                });
            };
            if current.token68.is_some() {
                return Err(ChallengeError {
                    index: start,
                    reason: "parameter after a token68",
                });
            }
            p.i += 1;
            p.skip_ws();
            let v = if p.peek() == Some(b'"') {
                p.quoted()?
            } else {
                p.token().to_owned()
            };
            let lower = name.to_ascii_lowercase();
            if current.param(&lower).is_none() {
                current.params.push((lower, v));
            }
            p.skip_ws();
            if !p.at_end() && p.peek() != Some(b',') {
                return Err(p.err("expected ',' after a parameter"));
            }
        } else {
            // A new challenge; maybe followed by a token68.
            let mut c = Challenge {
                scheme: name.to_owned(),
                token68: None,
                params: Vec::new(),
            };
            if let Some(t) = p.try_token68() {
                c.token68 = Some(t.to_owned());
            }
            out.push(c);
        }
    }
    if out.is_empty() {
        return Err(ChallengeError {
            index: 0,
            reason: "no challenge",
        });
    }
    Ok(out)
}

/// Parses several header values (a response may repeat `WWW-Authenticate`), keeping every
/// challenge that parsed; the first error is returned only when nothing parsed.
///
/// # Errors
///
/// The first value's [`ChallengeError`] when no value gave any challenge (see [`parse`]).
pub fn parse_all<S: AsRef<str>>(values: &[S]) -> Result<Vec<Challenge>, ChallengeError> {
    let mut out = Vec::new();
    let mut first_err = None;
    for v in values {
        match parse(v.as_ref()) {
            Ok(mut cs) => out.append(&mut cs),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match (out.is_empty(), first_err) {
        (true, Some(e)) => Err(e),
        (true, None) => Err(ChallengeError {
            index: 0,
            reason: "no challenge",
        }),
        (false, _) => Ok(out),
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Control characters other than HTAB, which RFC 9110 `qdtext` and `quoted-pair` exclude.
fn is_ctl(c: u8) -> bool {
    (c < 0x20 && c != b'\t') || c == 0x7f
}

fn is_token68_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~+/".contains(&c)
}

impl<'a> Parser<'a> {
    fn at_end(&self) -> bool {
        self.i >= self.b.len()
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn err(&self, reason: &'static str) -> ChallengeError {
        ChallengeError {
            index: self.i,
            reason,
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn skip_list_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> &'a str {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        // tchars are ASCII, so this slice is on char boundaries.
        std::str::from_utf8(&self.b[start..self.i]).unwrap_or_default()
    }

    /// After a scheme: a token68 is a run of token68 chars plus trailing `=`, followed by the
    /// end or a `,`. Anything else (`realm="…"`) is left for parameter parsing.
    fn try_token68(&mut self) -> Option<&'a str> {
        let save = self.i;
        self.skip_ws();
        let start = self.i;
        while self.peek().is_some_and(is_token68_char) {
            self.i += 1;
        }
        if self.i == start {
            self.i = save;
            return None;
        }
        while self.peek() == Some(b'=') {
            self.i += 1;
        }
        let end = self.i;
        self.skip_ws();
        if self.at_end() || self.peek() == Some(b',') {
            std::str::from_utf8(&self.b[start..end]).ok()
        } else {
            self.i = save;
            None
        }
    }

    fn quoted(&mut self) -> Result<String, ChallengeError> {
        let open = self.i;
        self.i += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => {
                    return Err(ChallengeError {
                        index: open,
                        reason: "unterminated quoted string",
                    });
                }
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    self.i += 1;
                    // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ): no control characters.
                    match self.peek() {
                        Some(c) if is_ctl(c) => {
                            return Err(self.err("control character in quoted string"));
                        }
                        Some(c) => {
                            out.push(c);
                            self.i += 1;
                        }
                        None => return Err(self.err("backslash at end of quoted string")),
                    }
                }
                Some(c) if is_ctl(c) => {
                    return Err(self.err("control character in quoted string"));
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| ChallengeError {
            index: open,
            reason: "quoted string is not UTF-8",
        })
    }
}
