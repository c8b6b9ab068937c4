//! `hlsgate video-id`: the video id (and folder) an upload becomes, by the
//! rule the mediaconvert-jobs Lambda uses, so a team can know where a ladder
//! will be before the job ends.

use std::process::ExitCode;

use hlsgate_core::video::VideoId;

use crate::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The upload bucket (part of the id: one key in two buckets is two videos).
    #[arg(long)]
    bucket: String,
    /// The upload folder, as INPUT_PREFIX.
    #[arg(long, default_value = "uploads/")]
    input_prefix: String,
    /// The video folders' prefix, as KEY_PREFIX.
    #[arg(long, default_value = "videos/")]
    key_prefix: String,
    /// Print `{"video_id", "folder", "master"}` instead of the bare id.
    #[arg(long)]
    json: bool,
    /// The object key, as stored (not URL-encoded).
    key: String,
}

pub fn run(args: Args) -> Outcome {
    if !args.key.starts_with(&args.input_prefix) {
        return Err(CliError::usage(format!(
            "{:?} is not under {:?}: the jobs Lambda ignores it",
            args.key, args.input_prefix
        )));
    }
    let id = VideoId::from_upload(&args.bucket, &args.key, &args.input_prefix);
    if args.json {
        let folder = hlsgate_core::video::folder_key(&args.key_prefix, id.as_str());
        let out = serde_json::json!({
            "video_id": id,
            "folder": folder,
            "master": format!("{folder}{}", hlsgate_core::video::DEFAULT_MASTER_NAME),
        });
        println!("{out}");
    } else {
        println!("{id}");
    }
    Ok(ExitCode::SUCCESS)
}
