//! Development tasks for the `oci-*` workspace: `cargo xtask <task>`.

fn main() -> anyhow::Result<()> {
    anyhow::bail!("no task given")
}
