//! Waiting until a freshly started registry answers `GET /v2/`.

use std::time::{Duration, Instant};

/// How long a started registry may take to answer `/v2/`. A local distribution answers within
/// milliseconds; a container on a loaded CI machine may take a few seconds.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Pause between readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(50);

/// Timeout of one probe request.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Polls `base_url/v2/` until it answers 200 or 401 (the API version check of the distribution
/// spec: <https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#api>).
///
/// `still_running` is asked between probes so a crashed registry fails fast with its own error.
pub(crate) async fn until_ready<F, Fut>(base_url: &str, mut still_running: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    crate::install_tls_provider();
    let client = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .build()
        .map_err(|e| anyhow::anyhow!("building HTTP client: {e}"))?;
    let url = format!("{base_url}/v2/");
    let start = Instant::now();
    loop {
        still_running().await?;
        let last = match client.get(&url).send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                if status == 200 || status == 401 {
                    return Ok(());
                }
                format!("status {status}")
            }
            Err(e) => format!("{e}"),
        };
        if start.elapsed() > READY_TIMEOUT {
            anyhow::bail!(
                "registry at {url} did not answer within {READY_TIMEOUT:?} (last: {last})"
            );
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
}
