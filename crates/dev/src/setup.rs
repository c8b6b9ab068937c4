//! The data folder: dev keys and the origin secret, made on first start and
//! kept; the two buckets; the seed video.
//!
//! ```text
//! DATA/dev/signing-keys.json   the issuer's secret (SIGNING_KEYS_FILE), 0600
//! DATA/dev/public-keys.json    the key group (PUBLIC_KEYS)
//! DATA/dev/public-key.pem      its one key, for `hlsgate probe --public-key`
//! DATA/dev/origin-secret       what the edge sends as X-Origin-Verify, 0600
//! DATA/dev/lambda.env          environment for `cargo lambda watch`, 0600
//! DATA/s3/BUCKET/KEY           the embedded S3's objects, as plain files
//! DATA/tmp/                    uploads and transcodes in flight
//! ```

use crate::error::DevError;
use std::io::Write;
use std::path::{Path, PathBuf};

use hlsgate_core::signing::{
    KeyAlgorithm, KeyPairId, PrivateKey, private_key_to_pem, public_key_to_pem,
};
use hlsgate_core::video::{DEFAULT_MASTER_NAME, Playback, Rendition, VideoId, folder_key};
use serde_json::{Value, json};

/// The local stack's AWS account, as its events and ARNs name it.
pub const ACCOUNT: &str = "000000000000";
/// The upload bucket of the local stack.
pub const UPLOAD_BUCKET: &str = "hlsgate-uploads";
/// The media bucket of the local stack.
pub const MEDIA_BUCKET: &str = "hlsgate-media";
/// Where videos live in the media bucket and on the edge (`KEY_PREFIX`).
pub const KEY_PREFIX: &str = "videos/";
/// The seed video's id.
pub const SAMPLE_ID: &str = "sample";

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/sample_files.rs"));
}

/// The seed ladder's files, from `fixtures/hls/sample/`.
pub fn sample_files() -> &'static [(&'static str, &'static [u8])] {
    embedded::FILES
}

/// The seed's `playback.json`, as the jobs function writes one on
/// `COMPLETE`: duration from the first rendition's segments, renditions from
/// the master's `RESOLUTION` and `BANDWIDTH`.
pub fn sample_playback(key_prefix: &str) -> Result<Playback, DevError> {
    let file = |name: &str| {
        sample_files()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
            .ok_or_else(|| DevError::env(format!("the seed has no {name}")))
    };
    let master = m3u8_rs::parse_master_playlist_res(file(DEFAULT_MASTER_NAME)?)
        .map_err(|e| DevError::env(format!("the seed master: {e}")))?;
    let first = master
        .variants
        .first()
        .ok_or_else(|| DevError::env("the seed master has no variants"))?;
    let media = m3u8_rs::parse_media_playlist_res(file(&first.uri)?)
        .map_err(|e| DevError::env(format!("the seed's {}: {e}", first.uri)))?;
    let seconds: f64 = media.segments.iter().map(|s| f64::from(s.duration)).sum();
    let id = VideoId::parse(SAMPLE_ID).map_err(DevError::env)?;
    let master_key = format!("{}{DEFAULT_MASTER_NAME}", folder_key(key_prefix, SAMPLE_ID));
    Ok(Playback {
        tracks: Default::default(),
        poster_key: None,
        video_id: id,
        public_path: format!("/{master_key}"),
        master_key,
        duration_seconds: Some((seconds * 1000.0).round() / 1000.0),
        renditions: master
            .variants
            .iter()
            .filter_map(|v| {
                let r = v.resolution?;
                Some(Rendition {
                    width: u32::try_from(r.width).ok()?,
                    height: u32::try_from(r.height).ok()?,
                    bitrate: Some(v.bandwidth),
                })
            })
            .collect(),
    })
}

/// Paths under the data folder.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub root: PathBuf,
}

/// What the stack signs and checks with.
#[derive(Debug, Clone)]
pub struct Secrets {
    pub key_pair_id: String,
    /// `{"keys":[…]}`, the issuer's secret document.
    pub signing_keys_json: String,
    /// `{"ID": "PEM"}`, the rewriter's and the edge's key group.
    pub public_keys_json: String,
    pub origin_secret: String,
    /// The functions' pseudonym key (`LOG_HASH_KEY`): it also signs the
    /// upload API's handles.
    pub log_hash_key: String,
    /// The embedded S3's keys: this folder's own, never a constant a page
    /// could know.
    pub s3_keys: hlsgate_aws::local_s3::LocalKeys,
    /// True when they were made on this start.
    pub created: bool,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    pub fn dev(&self) -> PathBuf {
        self.root.join("dev")
    }
    pub fn signing_keys(&self) -> PathBuf {
        self.dev().join("signing-keys.json")
    }
    pub fn public_keys(&self) -> PathBuf {
        self.dev().join("public-keys.json")
    }
    pub fn origin_secret(&self) -> PathBuf {
        self.dev().join("origin-secret")
    }
    pub fn log_hash_key(&self) -> PathBuf {
        self.dev().join("log-hash-key")
    }
    pub fn s3_keys(&self) -> PathBuf {
        self.dev().join("s3-keys")
    }

    /// The contents of the private file `path`, made by `make` when missing
    /// (a folder from an older version gets it on its next start).
    fn kept(
        &self,
        path: &Path,
        make: impl FnOnce() -> Result<String, DevError>,
    ) -> Result<String, DevError> {
        match std::fs::read_to_string(path) {
            Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            _ => {
                let value = make()?;
                write_private(path, value.as_bytes())?;
                Ok(value)
            }
        }
    }

    /// The folder's own keys for the embedded S3 (`ACCESS SECRET` in
    /// `dev/s3-keys`).
    fn local_s3_keys(&self) -> Result<hlsgate_aws::local_s3::LocalKeys, DevError> {
        let path = self.s3_keys();
        let line = self.kept(&path, || {
            let k = hlsgate_aws::local_s3::LocalKeys::random().map_err(DevError::env)?;
            Ok(format!("{} {}", k.access_key, k.secret_key))
        })?;
        match line.split_once(' ') {
            Some((a, s)) if !a.is_empty() && !s.is_empty() => {
                Ok(hlsgate_aws::local_s3::LocalKeys {
                    access_key: a.to_string(),
                    secret_key: s.to_string(),
                })
            }
            _ => Err(DevError::env(format!(
                "{}: not \"ACCESS SECRET\"; delete it to make new keys",
                path.display()
            ))),
        }
    }
    pub fn lambda_env(&self) -> PathBuf {
        self.dev().join("lambda.env")
    }
    pub fn s3(&self) -> PathBuf {
        self.root.join("s3")
    }
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Creates the folders and both buckets.
    pub fn prepare(&self) -> Result<(), DevError> {
        for d in [
            self.dev(),
            self.s3().join(UPLOAD_BUCKET),
            self.s3().join(MEDIA_BUCKET),
            self.tmp(),
        ] {
            std::fs::create_dir_all(&d)
                .map_err(|e| DevError::env(format!("cannot create {}: {e}", d.display())))?;
        }
        restrict(&self.dev(), 0o700)?;
        Ok(())
    }

    /// The key group's one key as PEM, for `hlsgate probe --public-key`
    /// and `hlsgate verify` (written at every start: the public half only).
    pub fn public_key_pem(&self) -> PathBuf {
        self.dev().join("public-key.pem")
    }

    /// The dev keys and origin secret: read when present, else made now;
    /// the public key's PEM written beside them.
    pub fn secrets(&self) -> Result<Secrets, DevError> {
        let secrets = self.read_or_make_secrets()?;
        let group: Value = serde_json::from_str(&secrets.public_keys_json).map_err(|e| {
            DevError::env(format!("{}: not JSON ({e})", self.public_keys().display()))
        })?;
        if let Some(pem) = group[&secrets.key_pair_id].as_str() {
            let path = self.public_key_pem();
            std::fs::write(&path, pem)
                .map_err(|e| DevError::env(format!("cannot write {}: {e}", path.display())))?;
        }
        Ok(secrets)
    }

    fn read_or_make_secrets(&self) -> Result<Secrets, DevError> {
        let (sk, pk, os) = (
            self.signing_keys(),
            self.public_keys(),
            self.origin_secret(),
        );
        // Each kept in a file of its own, made when missing: a folder from
        // an older version gets them on its next start.
        let log_hash_key = self.kept(&self.log_hash_key(), || random_token(32))?;
        let s3_keys = self.local_s3_keys()?;
        if sk.exists() && pk.exists() && os.exists() {
            let read = |p: &Path| {
                std::fs::read_to_string(p)
                    .map_err(|e| DevError::env(format!("cannot read {}: {e}", p.display())))
            };
            let signing_keys_json = read(&sk)?;
            let doc: Value = serde_json::from_str(&signing_keys_json).map_err(|e| {
                DevError::env(format!(
                    "{}: not JSON ({e}); delete the folder to start over",
                    sk.display()
                ))
            })?;
            let key_pair_id = doc["keys"][0]["id"]
                .as_str()
                .ok_or_else(|| DevError::env(format!("{}: no keys[0].id", sk.display())))?
                .to_string();
            return Ok(Secrets {
                key_pair_id,
                signing_keys_json,
                public_keys_json: read(&pk)?,
                origin_secret: read(&os)?.trim().to_string(),
                log_hash_key,
                s3_keys,
                created: false,
            });
        }
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).map_err(DevError::env)?;
        let private_pem = private_key_to_pem(&key).map_err(DevError::env)?;
        let public = key.public_key().map_err(DevError::env)?;
        let public_pem = public_key_to_pem(&public).map_err(DevError::env)?;
        let key_pair_id = dev_key_id()?;
        let signing_keys_json = serde_json::to_string_pretty(&json!({
            "keys": [{"id": key_pair_id, "private_key": private_pem, "active": true}]
        }))
        .map_err(DevError::env)?;
        let public_keys_json =
            serde_json::to_string_pretty(&json!({ key_pair_id.clone(): public_pem }))
                .map_err(DevError::env)?;
        let origin_secret = random_token(32)?;
        write_private(&sk, signing_keys_json.as_bytes())?;
        write_private(&pk, public_keys_json.as_bytes())?;
        write_private(&os, origin_secret.as_bytes())?;
        Ok(Secrets {
            key_pair_id,
            signing_keys_json,
            public_keys_json,
            origin_secret,
            log_hash_key,
            s3_keys,
            created: true,
        })
    }
}

/// `K` and 13 random letters and digits: shaped like a CloudFront public key id.
fn dev_key_id() -> Result<String, DevError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut bytes = [0u8; 13];
    getrandom::fill(&mut bytes).map_err(|e| DevError::env(format!("no randomness: {e}")))?;
    let id: String = std::iter::once('K')
        .chain(
            bytes
                .iter()
                .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char),
        )
        .collect();
    KeyPairId::new(&id).map_err(DevError::env)?;
    Ok(id)
}

/// `n` random bytes in lower-case hex.
pub fn random_token(n: usize) -> Result<String, DevError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| DevError::env(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), DevError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| DevError::env(format!("cannot write {}: {e}", path.display())))?;
    f.write_all(bytes)
        .map_err(|e| DevError::env(format!("cannot write {}: {e}", path.display())))?;
    restrict(path, 0o600)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> Result<(), DevError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| DevError::env(format!("cannot set the mode of {}: {e}", path.display())))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> Result<(), DevError> {
    Ok(())
}

/// The content type an object gets from its name, as MediaConvert sets them.
pub fn content_type(key: &str) -> &'static str {
    let ext = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("m3u8") => hlsgate_manifest_rewriter::PLAYLIST_TYPE,
        Some("ts") => "video/MP2T",
        Some("m4s") => "video/iso.segment",
        Some("mp4") => "video/mp4",
        Some("aac") => "audio/aac",
        Some("vtt") => "text/vtt",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// A `.env` file of `KEY='VALUE'` lines. Values are one line (JSON is
/// written compact; line breaks become spaces) and never hold a `'`.
pub fn env_file(vars: &[(String, String)]) -> String {
    let mut out = String::from(
        "# Written by `hlsgate dev` at every start: the local stack's settings for\n\
         # `cargo lambda watch` (see [workspace.metadata.lambda] in Cargo.toml).\n",
    );
    for (k, v) in vars {
        if v.contains('\'') {
            out.push_str(&format!("# {k} left out: its value holds a quote\n"));
            continue;
        }
        out.push_str(&format!("{k}='{}'\n", v.replace(['\r', '\n'], " ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_made_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        data.prepare().unwrap();
        let first = data.secrets().unwrap();
        assert!(first.created);
        assert_eq!(first.key_pair_id.len(), 14);
        let again = data.secrets().unwrap();
        assert!(!again.created);
        assert_eq!(again.key_pair_id, first.key_pair_id);
        assert_eq!(again.origin_secret, first.origin_secret);
        // The issuer and the rewriter accept what was written.
        hlsgate_signed_url_issuer::keys::SigningKeys::parse(
            &again.signing_keys_json,
            hlsgate_core::signing::HashAlgorithm::Sha256,
        )
        .unwrap();
        let group = hlsgate_core::signing::KeyGroup::from_json(&again.public_keys_json).unwrap();
        assert_eq!(group.ids(), vec![first.key_pair_id.clone()]);
        // The probe's --public-key file is that key.
        let pem = std::fs::read(data.public_key_pem()).unwrap();
        let key = hlsgate_core::signing::public_key_from_pem(
            &pem,
            hlsgate_core::signing::KeySize::CloudFront,
        )
        .unwrap();
        let listed = group.get(&first.key_pair_id).unwrap();
        assert_eq!(key.to_spki_der().unwrap(), listed.to_spki_der().unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(data.signing_keys())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(data.origin_secret())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn the_sample_is_embedded() {
        let names: Vec<&str> = sample_files().iter().map(|(n, _)| *n).collect();
        assert!(names.contains(&"master.m3u8"), "{names:?}");
        assert!(names.iter().filter(|n| n.ends_with(".m3u8")).count() >= 4);
        let total: usize = sample_files().iter().map(|(_, b)| b.len()).sum();
        assert!(total < 2 << 20, "the sample is {total} bytes");
        let p = sample_playback("videos/").unwrap();
        assert_eq!(p.master_key, "videos/sample/master.m3u8");
        assert!(p.duration_seconds.unwrap() >= 4.0, "{p:?}");
        assert_eq!(p.renditions.len(), 3, "{p:?}");
        // The issuer reads it back.
        let json = serde_json::to_vec(&p).unwrap();
        Playback::from_json(&json, &p.video_id, "videos/sample/").unwrap();
    }

    #[test]
    fn env_files_hold_json_on_one_line() {
        let json = serde_json::json!({"K": "-----BEGIN\nabc"}).to_string();
        let text = env_file(&[
            ("PUBLIC_KEYS".into(), json),
            ("A".into(), "x\ny".into()),
            ("B".into(), "it's".into()),
        ]);
        assert!(
            text.contains("\nPUBLIC_KEYS='{\"K\":\"-----BEGIN\\nabc\"}'\n"),
            "{text}"
        );
        assert!(text.contains("\nA='x y'\n"), "{text}");
        assert!(text.contains("# B left out"), "{text}");
    }
}
