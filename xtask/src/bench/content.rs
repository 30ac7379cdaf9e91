//! Content for `cargo xtask bench`: random blobs made on disk and pushed to the local registry
//! with `curl` (POST, then one streaming PUT), image manifests over them, and their digests.

use super::*;

impl Bench {
    pub(super) fn url(&self, repo: &str, kind: &str, what: &str) -> String {
        format!("http://{}/v2/{repo}/{kind}/{what}", self.host)
    }

    /// Writes `size` random bytes (or base64 text when `text`) to a file and hashes it.
    pub(super) fn make_content(&self, name: &str, size: u64, text: bool) -> anyhow::Result<Blob> {
        let path = self.work.join(name);
        let script = if text {
            format!(
                "head -c {size} /dev/urandom | base64 -w 76 | head -c {size} > '{}'",
                path.display()
            )
        } else {
            format!("head -c {size} /dev/urandom > '{}'", path.display())
        };
        crate::run(Command::new("sh").args(["-c", &script]))?;
        Ok(Blob {
            digest: sha256_of(&path)?,
            path,
            size,
        })
    }

    /// Pushes a blob with curl (POST, then one streaming PUT).
    pub(super) fn push_blob(&self, repo: &str, blob: &Blob) -> anyhow::Result<()> {
        let location = self.start_upload(repo)?;
        let sep = if location.contains('?') { '&' } else { '?' };
        crate::run(
            Command::new("curl")
                .args([
                    "-sf",
                    "-o",
                    "/dev/null",
                    "-X",
                    "PUT",
                    "-H",
                    "Content-Type: application/octet-stream",
                    "-T",
                ])
                .arg(&blob.path)
                .arg(format!("{location}{sep}digest={}", blob.digest)),
        )
    }

    fn start_upload(&self, repo: &str) -> anyhow::Result<String> {
        let out = Command::new("curl")
            .args(["-sf", "-X", "POST", "-D", "-", "-o", "/dev/null"])
            .arg(self.url(repo, "blobs", "uploads/"))
            .output()?;
        let headers = String::from_utf8_lossy(&out.stdout);
        let loc = headers
            .lines()
            .find_map(|l| {
                l.strip_prefix("Location: ")
                    .or_else(|| l.strip_prefix("location: "))
            })
            .context("no Location in upload answer")?
            .trim()
            .to_owned();
        Ok(if loc.starts_with('/') {
            format!("http://{}{loc}", self.host)
        } else {
            loc
        })
    }

    /// Pushes an image manifest with the given layers (and a minimal image config) under `tag`;
    /// returns the manifest digest.
    pub(super) fn push_manifest(
        &self,
        repo: &str,
        tag: &str,
        layers: &[(&Blob, &str, &str)],
    ) -> anyhow::Result<String> {
        let config = self
            .work
            .join(format!("config-{}.json", repo.replace('/', "-")));
        std::fs::write(
            &config,
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
        )?;
        let config = Blob {
            digest: sha256_of(&config)?,
            size: std::fs::metadata(&config)?.len(),
            path: config,
        };
        self.push_blob(repo, &config)?;
        let layers: Vec<Value> = layers
            .iter()
            .map(|(b, media, title)| {
                json!({"mediaType": media, "digest": b.digest, "size": b.size,
                       "annotations": {"org.opencontainers.image.title": title}})
            })
            .collect();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config.digest, "size": config.size},
            "layers": layers,
        });
        let path = self
            .work
            .join(format!("manifest-{}-{tag}.json", repo.replace('/', "-")));
        std::fs::write(&path, serde_json::to_vec(&manifest)?)?;
        self.put_manifest_file(
            repo,
            tag,
            &path,
            "application/vnd.oci.image.manifest.v1+json",
        )?;
        sha256_of(&path)
    }

    /// PUTs the manifest (or index) in the file at `path` under `tag` with curl.
    pub(super) fn put_manifest_file(
        &self,
        repo: &str,
        tag: &str,
        path: &Path,
        media_type: &str,
    ) -> anyhow::Result<()> {
        crate::run(
            Command::new("curl")
                .args(["-sf", "-o", "/dev/null", "-X", "PUT", "-H"])
                .arg(format!("Content-Type: {media_type}"))
                .arg("--data-binary")
                .arg(format!("@{}", path.display()))
                .arg(self.url(repo, "manifests", tag)),
        )
    }
}

pub(super) fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let out = Command::new("sha256sum").arg(path).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let hex = text
        .split_whitespace()
        .next()
        .context("sha256sum printed nothing")?;
    Ok(format!("sha256:{hex}"))
}
