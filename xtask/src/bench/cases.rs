//! Cases 1 to 4 and 7 of `cargo xtask bench`: verified pull, many small blobs, zstd pull with
//! decompression, push, and size scaling; each measures our programs against the peers with
//! [`Bench::compare`].

use super::*;

impl Bench {
    /// Case 1: verified pull of one blob to a file, against every peer.
    pub(super) fn case_pull(&mut self, size: u64) -> anyhow::Result<()> {
        let repo = "bench/pull";
        let blob = self.make_content("pull.bin", size, false)?;
        self.push_blob(repo, &blob)?;
        let manifest = self.push_manifest(
            repo,
            "v1",
            &[(&blob, "application/octet-stream", "pull.bin")],
        )?;
        let clients = self.pull_clients(repo, "v1", &manifest, &blob, true);
        self.compare("pull", size, "curl", &clients)?;
        remove(&blob.path);
        Ok(())
    }

    /// Case 7: time and RSS against size.
    pub(super) fn case_scaling(&mut self, sizes: &[u64]) -> anyhow::Result<()> {
        for &size in sizes {
            let repo = format!("bench/scale{}m", size / MIB);
            let blob = self.make_content("scale.bin", size, false)?;
            self.push_blob(&repo, &blob)?;
            let clients = self.pull_clients(&repo, "v1", "", &blob, false);
            self.compare(
                &format!("scaling {} MiB", size / MIB),
                size,
                "curl",
                &clients,
            )?;
            remove(&blob.path);
        }
        Ok(())
    }

    /// Case 2: three blobs with concurrency 3 against 1, and the largest alone.
    pub(super) fn case_many(&mut self, quick: bool) -> anyhow::Result<()> {
        let repo = "bench/many";
        let sizes = if quick {
            [4 * MIB, 40 * MIB, 256 * MIB]
        } else {
            [10 * MIB, 100 * MIB, GIB]
        };
        let mut blobs = Vec::new();
        for (i, s) in sizes.iter().enumerate() {
            let b = self.make_content(&format!("many{i}.bin"), *s, false)?;
            self.push_blob(repo, &b)?;
            blobs.push(b);
        }
        let dir = self.work.join("manydir");
        let list: Vec<String> = blobs
            .iter()
            .map(|b| format!("{}:{}", b.digest, b.size))
            .collect();
        let repo_ref = format!("{}/{repo}", self.host);
        let many = |conc: &str| {
            let mut a = vec![
                self.bins.ours.display().to_string(),
                "many".into(),
                repo_ref.clone(),
                conc.into(),
                dir.display().to_string(),
            ];
            a.extend(list.iter().cloned());
            let mut shell = format!("mkdir -p '{}' && exec", dir.display());
            for x in &a {
                let _ = write!(shell, " '{x}'");
            }
            Client::shell(
                "oci-fetch (library)",
                &format!("download_many, concurrency {conc}"),
                "yes",
                shell,
            )
            .cleaning(&dir)
        };
        let largest = blobs.last().context("no blob")?;
        let mut clients = self.pull_clients(repo, "", "", largest, false);
        clients.retain(|c| c.name != "curl");
        clients[0].mode = "largest blob alone".into();
        clients.push(many("3"));
        clients.push(many("1"));
        let total: u64 = sizes.iter().sum();
        self.compare(
            "many",
            total,
            "oci-fetch (library) largest blob alone",
            &clients,
        )?;
        for b in &blobs {
            remove(&b.path);
        }
        Ok(())
    }

    /// Case 3: zstd download + verify + decompress against `curl | zstd -d`.
    pub(super) fn case_zstd(&mut self, size: u64) -> anyhow::Result<()> {
        let repo = "bench/zstd";
        let plain = self.make_content("plain.txt", size, true)?;
        let zst = self.work.join("plain.txt.zst");
        crate::run(
            Command::new("zstd")
                .args(["-q", "-f", "-3", "-T0", "-o"])
                .arg(&zst)
                .arg(&plain.path),
        )?;
        remove(&plain.path);
        let blob = Blob {
            digest: content::sha256_of(&zst)?,
            size: std::fs::metadata(&zst)?.len(),
            path: zst,
        };
        self.push_blob(repo, &blob)?;
        let out = self.work.join("out.txt");
        let url = self.url(repo, "blobs", &blob.digest);
        let hex = blob.digest.trim_start_matches("sha256:");
        let media = "application/vnd.oci.image.layer.v1.tar+zstd";
        let clients = vec![
            Client::shell("curl + zstd -d", "piped → file, no verify", "no", format!("curl -sf '{url}' | zstd -d -q -o '{}'", out.display())).cleaning(&out),
            Client::shell("curl + tee + openssl + zstd -d", "piped → file, verified", "yes",
                format!("curl -sf '{url}' | tee >(openssl dgst -sha256 > '{0}.sum') | zstd -d -q -o '{0}' && wait $! && grep -q {hex} '{0}.sum'", out.display())).cleaning(&out),
            Client::new("oci-fetch (library)", "download + verify + decompress", "yes", args(&[&self.bins.ours, &"pull", &format!("{}/{repo}", self.host), &blob.digest, &blob.size.to_string(), &media, &out, &"decompress"])).cleaning(&out),
        ];
        // `>(…)` needs bash.
        let clients: Vec<Client> = clients
            .into_iter()
            .map(|mut c| {
                if c.argv.first().is_some_and(|a| a == "sh") {
                    c.argv[0] = "bash".into();
                }
                c
            })
            .collect();
        eprintln!(
            "bench: zstd blob is {} MiB compressed from {} MiB",
            blob.size / MIB,
            size / MIB
        );
        self.compare("zstd", size, "curl + zstd -d", &clients)?;
        remove(&blob.path);
        Ok(())
    }

    /// Case 4: push of one blob. Every run pushes to a fresh repository, so no client finds the
    /// blob already there (distribution stores the bytes once, but receives them every time).
    pub(super) fn case_push(&mut self, size: u64) -> anyhow::Result<()> {
        let blob = self.make_content("push.bin", size, false)?;
        let size_s = size.to_string();
        let counter = self.work.join("push-counter");
        std::fs::write(&counter, "0")?;
        // Each client is a shell line that takes a fresh repository name from the counter.
        let next = format!(
            "n=$(( $(cat '{0}') + 1 )); echo $n > '{0}'; R=bench/push$n",
            counter.display()
        );
        let host = &self.host;
        let file = blob.path.display().to_string();
        let d = &blob.digest;
        let ours = self.bins.ours.display();
        let peer = self.bins.peer.display();
        let cli = self.bins.cli.display();
        let clients = vec![
            Client::shell(
                "curl",
                "POST + monolithic PUT -T",
                "no",
                format!(
                    "{next}; L=$(curl -sf -X POST -D - -o /dev/null http://{host}/v2/$R/blobs/uploads/ | tr -d '\\r' | sed -n 's/^[Ll]ocation: //p'); \
                 case $L in /*) L=http://{host}$L;; esac; case $L in *\\?*) S='&';; *) S='?';; esac; \
                 curl -sf -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' -T '{file}' \"$L${{S}}digest={d}\""
                ),
            ),
            Client::shell(
                "oci-fetch (library)",
                "push_blob_streamed, one streamed PUT from disk",
                "yes",
                format!("{next}; exec '{ours}' push {host}/$R {d} {size_s} '{file}'"),
            ),
            Client::shell(
                "oci-fetch (CLI)",
                "push (hashed while a streamed PATCH uploads, PUT ?digest=, manifest)",
                "yes",
                format!("{next}; exec '{cli}' --plain-http push {host}/$R:v1 '{file}'"),
            ),
            Client::shell(
                "oci-client 0.18",
                "push_blob_stream, monolithic, from disk",
                "no",
                format!("{next}; exec '{peer}' push-stream {host}/$R:v1 {d} {size_s} '{file}'"),
            ),
            Client::shell(
                "oci-client 0.18",
                "push_blob (file read into memory)",
                "no",
                format!("{next}; exec '{peer}' push {host}/$R:v1 {d} {size_s} '{file}'"),
            ),
            Client::shell(
                "oras (Python)",
                "push",
                "no",
                format!(
                    "{next}; cd '{}' && exec python3 -c 'import sys, oras.client; oras.client.OrasClient(insecure=True).push(target=sys.argv[1], files=[sys.argv[2]])' {host}/$R:v1 push.bin",
                    self.work.display()
                ),
            ),
        ];
        self.compare("push", size, "curl", &clients)?;
        remove(&blob.path);
        Ok(())
    }
}
