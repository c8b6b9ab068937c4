//! Finding ffmpeg and ffprobe.

use super::*;

/// What to tell someone without ffmpeg.
pub const INSTALL_FFMPEG: &str = "ffmpeg and ffprobe are needed to transcode uploads locally \
     (the seed video plays without them): install them with `sudo apt-get install ffmpeg` \
     (Debian/Ubuntu), `brew install ffmpeg` (macOS) or from https://ffmpeg.org/download.html, \
     or point HLSGATE_FFMPEG / HLSGATE_FFPROBE at them";

/// The programs, from `HLSGATE_FFMPEG`/`HLSGATE_FFPROBE` or `PATH`.
#[derive(Debug, Clone)]
pub struct Tools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
}

impl Tools {
    /// Finds both, or says how to install them.
    pub fn find() -> Result<Tools, DevError> {
        let find = |var: &str, name: &str| -> Option<PathBuf> {
            if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
                let p = PathBuf::from(p);
                return p.is_file().then_some(p);
            }
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        };
        match (
            find("HLSGATE_FFMPEG", "ffmpeg"),
            find("HLSGATE_FFPROBE", "ffprobe"),
        ) {
            (Some(ffmpeg), Some(ffprobe)) => Ok(Tools { ffmpeg, ffprobe }),
            _ => Err(DevError::env(INSTALL_FFMPEG)),
        }
    }
}
