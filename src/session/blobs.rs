//! Content-addressed storage for large tool outputs: the file name is the sha256 of the
//! content, so writing the same output twice stores it once and a reference can't lie.

use sha2::{Digest, Sha256};
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    pub fn new(root: impl Into<PathBuf>) -> BlobStore {
        BlobStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn hash(content: &str) -> String {
        format!("{:x}", Sha256::digest(content.as_bytes()))
    }

    fn path_of(&self, hash: &str) -> PathBuf {
        let shard = hash.get(..2).unwrap_or("00");
        self.root.join(shard).join(hash)
    }

    /// Store `content`; return its hash. Written to a temp file then renamed, so a reader
    /// never sees half a blob.
    pub fn put(&self, content: &str) -> io::Result<String> {
        let hash = Self::hash(content);
        let path = self.path_of(&hash);
        if path.exists() {
            return Ok(hash);
        }
        let dir = path.parent().expect("blob path has a shard folder");
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{hash}.{}", std::process::id()));
        std::fs::write(&tmp, content)?;
        std::fs::rename(&tmp, &path)?;
        Ok(hash)
    }

    pub fn get(&self, hash: &str) -> io::Result<String> {
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a blob hash: {hash:?}"),
            ));
        }
        std::fs::read_to_string(self.path_of(hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_by_content_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let a = store.put("hello").unwrap();
        assert_eq!(a, BlobStore::hash("hello"));
        assert_eq!(store.put("hello").unwrap(), a);
        assert_eq!(store.get(&a).unwrap(), "hello");
        assert!(store.get("../../etc/passwd").is_err());
    }
}
