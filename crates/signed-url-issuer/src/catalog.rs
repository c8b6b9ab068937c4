//! Is the video ready, where is its master, how long does it play?
//!
//! The jobs Lambda writes `PREFIX/videoId/playback.json` when MediaConvert
//! reports the ladder complete; that sidecar is the answer. A folder with a
//! master playlist but no sidecar (a ladder made elsewhere and copied in) is
//! served too, with the master's default name and an unknown duration, which
//! gets the longest signature the configuration allows.

use hlsgate_aws::cache::{CacheStatus, CachedObjects};
use hlsgate_aws::{ObjectSource, SourceError};
use hlsgate_core::rules::{MAX_RULES_BYTES, VideoRules, rules_key};
use hlsgate_core::tracks::Tracks;
use hlsgate_core::video::{DEFAULT_MASTER_NAME, Playback, PlaybackError, SIDECAR_NAME, VideoId};

/// Largest sidecar read: a few hundred bytes per rendition.
pub const MAX_SIDECAR_BYTES: u64 = 64 * 1024;

/// A video that can be played.
#[derive(Debug, Clone, PartialEq)]
pub struct Ready {
    /// The master's path inside the video folder (`master.m3u8`).
    pub master_name: String,
    pub duration_seconds: Option<f64>,
    /// Whether a sidecar said so (else the master's existence did).
    pub from_sidecar: bool,
    /// Audio and subtitle languages, trick play (none known without a
    /// sidecar).
    pub tracks: Tracks,
    /// The poster's path inside the video folder.
    pub poster_name: Option<String>,
    /// How the sidecar was read (`None`: there was none to cache).
    pub cache: Option<CacheStatus>,
}

/// Why the catalog could not answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Store(#[from] SourceError),
    #[error("{0}")]
    BadSidecar(#[from] PlaybackError),
    /// The rules object is not rules: playback is refused until it is
    /// fixed (a typo must not open a video to everyone).
    #[error("the video's playback rules cannot be read: {0}")]
    BadRules(String),
}

/// Looks videos, and their playback rules, up in the media bucket.
#[derive(Debug)]
pub struct Catalog<S> {
    objects: CachedObjects<S>,
    key_prefix: String,
    rules_prefix: String,
}

impl<S: ObjectSource> Catalog<S> {
    pub fn new(
        objects: CachedObjects<S>,
        key_prefix: impl Into<String>,
        rules_prefix: impl Into<String>,
    ) -> Self {
        Catalog {
            objects,
            key_prefix: key_prefix.into(),
            rules_prefix: rules_prefix.into(),
        }
    }

    /// The video's playback rules (`RULES_PREFIX/ID.json`); `None` when it
    /// has none. Both are cached for `CACHE_TTL_SECONDS`: most videos have
    /// none, and that must not cost a store request per playback.
    pub async fn rules(&self, id: &VideoId) -> Result<Option<VideoRules>, CatalogError> {
        let key = rules_key(&self.rules_prefix, id);
        match self.objects.get_or_absent(&key, MAX_RULES_BYTES).await? {
            (None, _) => Ok(None),
            (Some(json), _) => VideoRules::from_json(&json)
                .map(Some)
                .map_err(CatalogError::BadRules),
        }
    }

    pub fn objects(&self) -> &CachedObjects<S> {
        &self.objects
    }

    /// `Ok(None)` when the video does not exist or is not ready yet.
    pub async fn find(&self, id: &VideoId) -> Result<Option<Ready>, CatalogError> {
        let folder = hlsgate_core::video::folder_key(&self.key_prefix, id.as_str());
        match self
            .objects
            .get(&format!("{folder}{SIDECAR_NAME}"), MAX_SIDECAR_BYTES)
            .await
        {
            Ok((json, cache)) => {
                let p = Playback::from_json(&json, id, &folder)?;
                let master_name = p
                    .master_name(&folder)
                    .unwrap_or(DEFAULT_MASTER_NAME)
                    .to_string();
                Ok(Some(Ready {
                    master_name,
                    duration_seconds: p.duration_seconds,
                    from_sidecar: true,
                    poster_name: p.poster_name(&folder).map(str::to_string),
                    tracks: p.tracks,
                    cache: Some(cache),
                }))
            }
            Err(SourceError::NotFound) => {
                let master = format!("{folder}{DEFAULT_MASTER_NAME}");
                let exists = self.objects.source().exists(&master).await?;
                Ok(exists.then(|| Ready {
                    master_name: DEFAULT_MASTER_NAME.to_string(),
                    duration_seconds: None,
                    from_sidecar: false,
                    tracks: Tracks::default(),
                    poster_name: None,
                    cache: None,
                }))
            }
            Err(e) => Err(e.into()),
        }
    }
}
