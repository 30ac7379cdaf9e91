//! Replays the fuzz corpora of the `oci-auth` targets (`fuzz/corpus/www_authenticate`,
//! `auth_config`, `token_response`, `helper_protocol`, `scope`: seeds and minimised findings)
//! through what each fuzz target in `fuzz/fuzz_targets/` does, each input under a time bound.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use oci_auth::config::{AuthFile, decode_auth, normalize_key, server_key};
use oci_auth::helper_protocol::{
    CREDENTIALS_NOT_FOUND, KNOWN_MESSAGES, failure_excerpt, is_not_found, parse_get_response,
};
use oci_auth::token_response::{self, parse_retry_after, remaining_lifetime};
use oci_auth::{
    Credential, DEFAULT_TOKEN_LIFETIME, Scope, TOKEN_LENGTH_MAX, TOKEN_LIFETIME_MAX, challenge,
};
use oci_ref::rfc3339::parse as parse_rfc3339;

/// A hang guard, not a performance target: every parser here is linear in its input.
const INPUT_TIME_LIMIT: Duration = Duration::from_millis(250);

/// Every corpus file of `target`, sorted, as bytes.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{target}: the corpus has its seeds");
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("readable corpus file");
            (p, bytes)
        })
        .collect()
}

/// Runs `f` on every input of `target`'s corpus, each within [`INPUT_TIME_LIMIT`].
fn replay(target: &str, f: impl Fn(&Path, &[u8])) {
    for (file, data) in corpus(target) {
        let start = Instant::now();
        f(&file, &data);
        let elapsed = start.elapsed();
        assert!(
            elapsed < INPUT_TIME_LIMIT,
            "{} took {elapsed:?}",
            file.display()
        );
    }
}

#[test]
fn www_authenticate_corpus_replays() {
    replay("www_authenticate", |file, data| {
        // The target skips input that is not UTF-8, and so does the replay.
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        if let Ok(challenges) = challenge::parse(text) {
            for c in &challenges {
                let _ = (c.realm(), c.service(), c.scope(), c.error(), c.token68());
                let shown = c.to_string();
                let again = challenge::parse(&shown).unwrap_or_else(|e| {
                    panic!("{}: {shown:?} does not parse: {e}", file.display())
                });
                assert_eq!(again.len(), 1, "{}: {shown:?}", file.display());
                assert_eq!(&again[0], c, "{}: {shown:?}", file.display());
            }
        }
        let lines: Vec<&str> = text.split('\n').collect();
        let _ = challenge::parse_all(&lines);
    });
}

#[test]
fn auth_config_corpus_replays() {
    replay("auth_config", |_, data| {
        if let Ok(file) = AuthFile::parse(data) {
            let _ = format!("{file:?}");
            for entry in file.auths() {
                let _ = file.find(&entry.normalized, None);
                let _ = file.helper_for(&entry.normalized);
                let _ = normalize_key(&entry.key);
            }
            let _ = file.find("registry.example", Some("library/busybox"));
            let _ = file.creds_store();
            let _ = file.cred_helpers();
        }
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = decode_auth(text);
            let _ = normalize_key(text);
            let _ = server_key(text);
        }
    });
}

#[test]
fn token_response_corpus_replays() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    replay("token_response", |file, data| {
        let name = file.display();
        if let Ok(r) = token_response::parse(data) {
            let token = r.token.expose();
            assert!(
                !token.is_empty() && token.len() <= TOKEN_LENGTH_MAX,
                "{name}"
            );
            assert!(
                token.bytes().all(|b| (0x21..0x7f).contains(&b)),
                "{name}: header-safe token"
            );
            assert!(
                (DEFAULT_TOKEN_LIFETIME..=TOKEN_LIFETIME_MAX).contains(&r.expires_in),
                "{name}"
            );
            assert!(remaining_lifetime(&r, now) <= r.expires_in, "{name}");
            assert!(
                format!("{r:?}").contains("token: Secret(<redacted>)"),
                "{name}: Debug hides the token"
            );
        }
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let _ = parse_rfc3339(text);
        if let Some(d) = parse_retry_after(text, now) {
            let trimmed = text.trim_matches([' ', '\t']);
            if trimmed.bytes().all(|b| b.is_ascii_digit()) {
                assert_eq!(
                    d.as_secs(),
                    trimmed.parse::<u64>().unwrap_or(u64::MAX),
                    "{name}"
                );
            }
        }
    });
}

#[test]
fn helper_protocol_corpus_replays() {
    replay("helper_protocol", |file, data| {
        let name = file.display();
        if let Ok(Some(c)) = parse_get_response(data) {
            let secret = match &c {
                Credential::Basic { password, .. } => password,
                Credential::IdentityToken(token) => token,
                other => panic!("{name}: a helper answer became {other:?}"),
            };
            assert!(!secret.is_empty(), "{name}: empty secrets are anonymous");
            assert!(
                format!("{c:?}").contains("Secret(<redacted>)"),
                "{name}: Debug hides the secret"
            );
        }
        let excerpt = failure_excerpt(data);
        let fixed = KNOWN_MESSAGES.contains(&excerpt.as_str())
            || excerpt == "no output"
            || excerpt.starts_with("its message is withheld");
        assert!(fixed, "{name}: excerpt {excerpt:?} is not a fixed text");
        if is_not_found(data) {
            assert_eq!(excerpt, CREDENTIALS_NOT_FOUND, "{name}");
        }
    });
}

#[test]
fn scope_corpus_replays() {
    replay("scope", |file, data| {
        let name = file.display();
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let _ = Scope::parse(text);
        if let Ok(scopes) = Scope::parse_list(text) {
            for s in &scopes {
                let shown = s.to_string();
                let again = Scope::parse(&shown)
                    .unwrap_or_else(|e| panic!("{name}: {shown:?} does not parse: {e}"));
                assert_eq!(&again, s, "{name}: display round trip of {shown:?}");
            }
            let merged = Scope::merge(&scopes);
            for s in &scopes {
                assert!(merged.iter().any(|m| m.covers(s)), "{name}: {s} lost");
            }
            assert_eq!(Scope::merge(&merged), merged, "{name}: merge is idempotent");
        }
    });
}

/// Fuzz findings `www_authenticate/finding-backslash-run-in-realm` and
/// `finding-escaped-control-char-in-realm`: a quoted `realm` holding a backslash-escaped control
/// character, which once parsed into a challenge whose display form did not parse back. A
/// control character is refused inside a quoted string, escaped or not.
#[test]
fn escaped_control_characters_in_a_realm_are_refused() {
    for finding in [
        "finding-backslash-run-in-realm",
        "finding-escaped-control-char-in-realm",
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/corpus/www_authenticate")
            .join(finding);
        let text = std::fs::read_to_string(&path).expect("finding is UTF-8");
        let e = challenge::parse(&text).expect_err("refused");
        assert_eq!(e.reason, "control character in quoted string", "{finding}");
    }
}
