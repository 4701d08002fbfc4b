//! Content-addressed storage for large tool outputs: the file name is the sha256 of the
//! content, so writing the same output twice stores it once and a reference can't lie.
//!
//! A blob is read as what it claims to be or not at all: it is opened without following
//! a symbolic link and without waiting (a FIFO planted in the store must not hang
//! `export` or `resume`), it must be a regular file, and its content must hash to its
//! name — a link to a kubeconfig, a FIFO or an edited blob is refused with an error that
//! says which.

use sha2::{Digest, Sha256};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Why a blob could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("not a blob hash: {0:?}")]
    NotAHash(String),
    #[error("blob {hash} could not be read: {source}")]
    Io { hash: String, source: io::Error },
    #[error("blob {hash} is {what}, not a regular file: refused")]
    NotAFile { hash: String, what: &'static str },
    #[error("blob {hash} is {size} bytes, more than a blob can be ({MAX_BLOB}): refused")]
    TooLarge { hash: String, size: u64 },
    #[error("blob {hash} does not match its hash (it was changed after it was stored): refused")]
    Tampered { hash: String },
}

/// The largest blob read back: a planted huge file is refused, not loaded.
pub(crate) const MAX_BLOB: u64 = 256 << 20;

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

/// The sha256 of `bytes` in lowercase hex: a blob's name.
fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

impl BlobStore {
    pub fn new(root: impl Into<PathBuf>) -> BlobStore {
        BlobStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn hash(content: &str) -> String {
        sha256_hex(content.as_bytes())
    }

    fn path_of(&self, hash: &str) -> PathBuf {
        let shard = hash.get(..2).unwrap_or("00");
        self.root.join(shard).join(hash)
    }

    /// Store `content`; return its hash. Written to a new temp file then renamed, so a
    /// reader never sees half a blob; whatever else sits at the blob's name (a link, a
    /// FIFO, a changed copy) is replaced.
    pub fn put(&self, content: &str) -> io::Result<String> {
        let hash = Self::hash(content);
        if self.get(&hash).is_ok() {
            return Ok(hash);
        }
        let path = self.path_of(&hash);
        let dir = path.parent().expect("blob path has a shard folder");
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{hash}.{}", std::process::id()));
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        io::Write::write_all(&mut file, content.as_bytes())?;
        drop(file);
        std::fs::rename(&tmp, &path)?;
        Ok(hash)
    }

    /// The content stored under `hash`, checked against it.
    pub fn get(&self, hash: &str) -> Result<String, BlobError> {
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BlobError::NotAHash(hash.to_string()));
        }
        let io_error = |source| BlobError::Io {
            hash: hash.to_string(),
            source,
        };
        let file = open_regular(&self.path_of(hash)).map_err(|e| match e {
            Opened::NotAFile(what) => BlobError::NotAFile {
                hash: hash.to_string(),
                what,
            },
            Opened::Io(source) => io_error(source),
        })?;
        let size = file.metadata().map_err(io_error)?.len();
        if size > MAX_BLOB {
            return Err(BlobError::TooLarge {
                hash: hash.to_string(),
                size,
            });
        }
        let mut bytes = Vec::new();
        // Bounded even if the file grows while it is read.
        file.take(MAX_BLOB + 1)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        if sha256_hex(&bytes) != hash.to_ascii_lowercase() {
            return Err(BlobError::Tampered {
                hash: hash.to_string(),
            });
        }
        String::from_utf8(bytes).map_err(|_| BlobError::Tampered {
            hash: hash.to_string(),
        })
    }
}

/// Why [`open_regular`] failed.
enum Opened {
    NotAFile(&'static str),
    Io(io::Error),
}

/// Open a regular file for reading: never through a symbolic link, never waiting on a
/// FIFO or a device.
fn open_regular(path: &Path) -> Result<std::fs::File, Opened> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => Opened::NotAFile("a symbolic link"),
            _ => Opened::Io(e),
        })?;
    let kind = file.metadata().map_err(Opened::Io)?.file_type();
    if kind.is_file() {
        Ok(file)
    } else if kind.is_dir() {
        Err(Opened::NotAFile("a directory"))
    } else {
        use std::os::unix::fs::FileTypeExt;
        Err(Opened::NotAFile(if kind.is_fifo() {
            "a FIFO"
        } else {
            "a device or socket"
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stores_by_content_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let a = store.put("hello").unwrap();
        assert_eq!(a, BlobStore::hash("hello"));
        // The name stays the sha256 in lowercase hex, so older sessions' blobs are found.
        assert_eq!(
            a,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(store.put("hello").unwrap(), a);
        assert_eq!(store.get(&a).unwrap(), "hello");
        assert!(store.get("../../etc/passwd").is_err());
    }

    /// `get` on another thread, so a hang fails the test instead of stalling it.
    fn get_within_a_second(store: &BlobStore, hash: &str) -> Result<String, BlobError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (store, hash) = (store.clone(), hash.to_string());
        std::thread::spawn(move || tx.send(store.get(&hash)));
        rx.recv_timeout(Duration::from_secs(1))
            .expect("reading a blob never hangs")
    }

    /// A blob's place in the store, emptied for something planted there.
    fn planted(store: &BlobStore, content: &str) -> (String, PathBuf) {
        let hash = store.put(content).unwrap();
        let path = store.path_of(&hash);
        std::fs::remove_file(&path).unwrap();
        (hash, path)
    }

    #[test]
    fn a_symlinked_blob_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path().join("blobs"));
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, "client-key-data: LS0tLS1CRUdJTi").unwrap();
        let (hash, path) = planted(&store, "the output");
        std::os::unix::fs::symlink(&kubeconfig, &path).unwrap();
        let error = get_within_a_second(&store, &hash).unwrap_err();
        assert!(matches!(error, BlobError::NotAFile { .. }), "{error}");
        assert!(error.to_string().contains("a symbolic link"), "{error}");
        // Storing the output again replaces the link with the real blob.
        assert_eq!(store.put("the output").unwrap(), hash);
        assert_eq!(store.get(&hash).unwrap(), "the output");
        assert!(
            std::fs::read_to_string(&kubeconfig)
                .unwrap()
                .contains("client-key")
        );
    }

    #[test]
    fn a_fifo_blob_is_refused_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let (hash, path) = planted(&store, "the output");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let error = get_within_a_second(&store, &hash).unwrap_err();
        assert!(error.to_string().contains("a FIFO"), "{error}");
    }

    #[test]
    fn a_tampered_blob_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let (hash, path) = planted(&store, "the output");
        std::fs::write(&path, "password=hunter2secret").unwrap();
        let error = get_within_a_second(&store, &hash).unwrap_err();
        assert!(matches!(error, BlobError::Tampered { .. }), "{error}");
        assert!(
            error.to_string().contains("does not match its hash"),
            "{error}"
        );
    }

    #[test]
    fn a_huge_blob_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let (hash, path) = planted(&store, "the output");
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_BLOB + 1).unwrap();
        let error = get_within_a_second(&store, &hash).unwrap_err();
        assert!(matches!(error, BlobError::TooLarge { .. }), "{error}");
    }
}
