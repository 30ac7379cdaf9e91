//! The `docker` backend: a registry container started with testcontainers.
//!
//! The container runs [`image`] (`OCI_CONFORMANCE_IMAGE`, default `registry:2`) with the generated
//! configuration copied to `/etc/docker/registry/config.yml`, port 5000 published on a random
//! loopback port, and is removed when the [`crate::Registry`] is dropped.
//!
//! Docker API versions: testcontainers 0.28 (bollard 0.21) sends unversioned API paths, which an
//! engine answers at its own latest version, so old engines (Debian 12's Docker 20.10, API 1.41)
//! work. The availability probe negotiates the version explicitly.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use futures_util::TryStreamExt as _;
use testcontainers::bollard::Docker;
use testcontainers::bollard::models::PortBinding;
use testcontainers::bollard::query_parameters::CreateImageOptions;
use testcontainers::core::{IntoContainerPort as _, WaitFor};
use testcontainers::runners::AsyncRunner as _;
use testcontainers::{ContainerAsync, GenericImage, ImageExt as _};

use crate::backend::{DEFAULT_IMAGE, ENV_IMAGE, env_nonempty};
use crate::config::{self, Layout};
use crate::options::Auth;
use crate::wait::READY_TIMEOUT;

/// Port the registry listens on inside the container (the `registry:2` convention).
const CONTAINER_PORT: u16 = 5000;
/// Where the generated configuration is copied: the `registry:2` image and the image built by
/// `cargo xtask registry-image` both read `/etc/docker/registry/config.yml`.
const CONFIG_DIR: &str = "/etc/docker/registry";
/// Storage inside the container (removed with the container).
const CONTAINER_STORAGE: &str = "/var/lib/registry";
/// Label put on every container the harness starts, to find leftovers of killed runs:
/// `docker ps -a --filter label=org.oci-conformance.harness`.
pub const CONTAINER_LABEL: &str = "org.oci-conformance.harness";

/// The image the `docker` backend runs: [`ENV_IMAGE`] or [`DEFAULT_IMAGE`].
pub fn image() -> String {
    env_nonempty(ENV_IMAGE).unwrap_or_else(|| DEFAULT_IMAGE.to_owned())
}

/// A running registry container; removed (with its storage) on drop.
#[derive(Debug)]
pub(crate) struct DockerGuard {
    // Boxed: the container handle is large and the guard lives in an enum.
    container: Option<Box<ContainerAsync<GenericImage>>>,
}

impl DockerGuard {
    fn container(&self) -> anyhow::Result<&ContainerAsync<GenericImage>> {
        self.container
            .as_deref()
            .context("registry container already removed")
    }
}

impl Drop for DockerGuard {
    fn drop(&mut self) {
        let Some(container) = self.container.take() else {
            return;
        };
        // testcontainers removes the container in its own Drop, which needs a tokio runtime
        // context; a Registry may also be dropped outside one (a sync test, a static).
        if tokio::runtime::Handle::try_current().is_ok() {
            drop(container);
        } else if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            let _entered = runtime.enter();
            drop(container);
        }
    }
}

/// Connects to the daemon named by `DOCKER_HOST` (default: the local socket) and negotiates the
/// API version.
async fn connect() -> anyhow::Result<Docker> {
    let docker = Docker::connect_with_defaults().context("connecting to the Docker daemon")?;
    docker
        .negotiate_version()
        .await
        .context("Docker daemon did not answer /version")
}

/// How long `auto` selection waits for a missing image to be pulled before counting the docker
/// backend as unavailable (`registry:2` is about 10 MB).
pub const PULL_TIMEOUT: Duration = Duration::from_secs(300);

/// Outcome of the docker probe, computed once per test process: every test asks, and a missing
/// image would otherwise be pulled (or fail to pull) once per test.
static PROBE: tokio::sync::OnceCell<Result<(), String>> = tokio::sync::OnceCell::const_new();

/// `Ok` when a daemon answers and the image is present locally or could be pulled; otherwise why
/// the docker backend is not usable here.
pub(crate) async fn probe() -> anyhow::Result<()> {
    PROBE
        .get_or_init(|| async {
            let attempt = async {
                let docker = connect().await?;
                docker
                    .ping()
                    .await
                    .context("Docker daemon did not answer /_ping")?;
                let image = image();
                tokio::time::timeout(PULL_TIMEOUT, ensure_image(&docker, &image))
                    .await
                    .with_context(|| format!("pulling {image} took longer than {PULL_TIMEOUT:?}"))?
            };
            attempt.await.map_err(|e: anyhow::Error| format!("{e:#}"))
        })
        .await
        .clone()
        .map_err(anyhow::Error::msg)
}

/// Makes sure the image is present, pulling it if needed.
async fn ensure_image(docker: &Docker, image: &str) -> anyhow::Result<()> {
    if docker.inspect_image(image).await.is_ok() {
        return Ok(());
    }
    let options = CreateImageOptions {
        from_image: Some(image.to_owned()),
        ..Default::default()
    };
    docker
        .create_image(Some(options), None, None)
        .try_collect::<Vec<_>>()
        .await
        .with_context(|| {
            format!(
                "image {image} is not present and could not be pulled; without internet build \
                 one with `cargo xtask registry-image` and set {ENV_IMAGE}=localhost/distribution:<version>"
            )
        })?;
    Ok(())
}

/// Splits `name:tag` (the tag after the last `/`); digests are not supported by testcontainers'
/// image model.
fn split_image(image: &str) -> anyhow::Result<(&str, &str)> {
    anyhow::ensure!(
        !image.contains('@'),
        "{ENV_IMAGE}={image:?}: use name:tag, digest references are not supported"
    );
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    Ok(match image[last_slash..].rfind(':') {
        Some(colon) => (
            &image[..last_slash + colon],
            &image[last_slash + colon + 1..],
        ),
        None => (image, "latest"),
    })
}

/// Starts a registry container and waits until `/v2/` answers; returns the guard and `host:port`.
pub(crate) async fn start(auth: &Auth) -> anyhow::Result<(DockerGuard, String)> {
    let image = image();
    let (name, tag) = split_image(&image)?;

    let dir = tempfile::Builder::new()
        .prefix("oci-conformance-docker-")
        .tempdir()
        .context("creating temporary config directory")?;
    let layout = Layout {
        listen: "0.0.0.0:5000",
        storage: CONTAINER_STORAGE,
        auth_dir: CONFIG_DIR,
    };
    config::write(dir.path(), &layout, auth, None)?;

    let mut request = GenericImage::new(name, tag)
        .with_exposed_port(CONTAINER_PORT.tcp())
        .with_wait_for(WaitFor::Nothing)
        .with_label(CONTAINER_LABEL, "1")
        .with_startup_timeout(READY_TIMEOUT)
        // Publish on loopback only (testcontainers would publish on every interface).
        .with_host_config_modifier(|host_config| {
            host_config.publish_all_ports = Some(false);
            host_config.port_bindings = Some(HashMap::from([(
                format!("{CONTAINER_PORT}/tcp"),
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".to_owned()),
                    host_port: Some(String::new()),
                }]),
            )]));
        });
    // Copied (not bind-mounted) so the daemon needs no access to the test's temporary files.
    // World-readable (0644): the registry may run as any user; these are throwaway test files.
    for file in [
        config::CONFIG_FILE,
        config::HTPASSWD_FILE,
        config::TOKEN_ROOT_FILE,
    ] {
        let path = dir.path().join(file);
        if path.exists() {
            let data =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            request = request.with_copy_to(format!("{CONFIG_DIR}/{file}"), data);
        }
    }
    let container = request
        .start()
        .await
        .with_context(|| format!("starting a container from {image}"))?;
    let guard = DockerGuard {
        container: Some(Box::new(container)),
    };
    let container = guard.container()?;
    let host_port = container
        .get_host_port_ipv4(CONTAINER_PORT.tcp())
        .await
        .with_context(|| {
            format!(
                "container {} has no host port for {CONTAINER_PORT}",
                container.id()
            )
        })?;
    let host = format!("127.0.0.1:{host_port}");
    let base_url = format!("http://{host}");
    let still_running = || async {
        match container.is_running().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(anyhow::anyhow!(
                "container {} stopped before answering /v2/ (run the image by hand to see its log)",
                container.id()
            )),
            Err(e) => Err(anyhow::anyhow!(
                "inspecting container {}: {e}",
                container.id()
            )),
        }
    };
    crate::wait::until_ready(&base_url, still_running)
        .await
        .with_context(|| {
            format!(
                "registry container {} from {image} did not become ready",
                container.id()
            )
        })?;
    Ok((guard, host))
}
