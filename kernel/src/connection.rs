//! The connection file Jupyter writes for a kernel (`kernel-*.json`).

use serde::Deserialize;

/// Where to listen and how to sign, as the client wrote it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ConnectionInfo {
    pub ip: String,
    pub transport: String,
    pub shell_port: u16,
    pub iopub_port: u16,
    pub stdin_port: u16,
    pub control_port: u16,
    pub hb_port: u16,
    #[serde(default)]
    pub key: String,
    #[serde(default = "default_scheme")]
    pub signature_scheme: String,
}

fn default_scheme() -> String {
    "hmac-sha256".into()
}

impl ConnectionInfo {
    /// Reads and checks a connection file.
    pub(crate) fn from_file(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read connection file {}: {e}", path.display()))?;
        let info: ConnectionInfo = serde_json::from_str(&text)?;
        anyhow::ensure!(
            info.signature_scheme == "hmac-sha256",
            "unsupported signature scheme {:?} (parlab speaks hmac-sha256)",
            info.signature_scheme
        );
        Ok(info)
    }

    /// The ZeroMQ endpoint of one channel: `tcp://ip:port`, or for ipc the
    /// `ipc://{ip}-{port}` path convention of jupyter_client.
    pub(crate) fn endpoint(&self, port: u16) -> String {
        match self.transport.as_str() {
            "ipc" => format!("ipc://{}-{}", self.ip, port),
            _ => format!("tcp://{}:{}", self.ip, port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_for_both_transports() {
        let mut info: ConnectionInfo = serde_json::from_str(
            r#"{"ip":"127.0.0.1","transport":"tcp","shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4,"hb_port":5,"key":"k","signature_scheme":"hmac-sha256","kernel_name":"parlab"}"#,
        )
        .unwrap();
        assert_eq!(info.endpoint(info.shell_port), "tcp://127.0.0.1:1");
        info.transport = "ipc".into();
        info.ip = "/tmp/kernel-x".into();
        assert_eq!(info.endpoint(info.hb_port), "ipc:///tmp/kernel-x-5");
    }
}
