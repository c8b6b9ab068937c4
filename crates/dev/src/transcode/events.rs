//! The EventBridge events MediaConvert and S3 would send.

use super::*;

/// The `detail` of a `COMPLETE` event: the HLS group and its outputs, and
/// the frame capture group with the poster (its last frame), when there is
/// one.
pub(crate) fn complete_detail(spec: &JobSpec, outputs: &[Output], poster: Option<&str>) -> Value {
    let mut detail = json!({
        "outputGroupDetails": [{
            "type": "HLS_GROUP",
            "playlistFilePaths": [format!("{}.m3u8", spec.destination)],
            "outputDetails": outputs.iter().map(|o| json!({
                "outputFilePaths": [o.playlist_uri],
                "durationInMs": o.duration_ms,
                "videoDetails": {
                    "widthInPx": o.width,
                    "heightInPx": o.height,
                    "averageBitrate": o.average_bitrate,
                },
            })).collect::<Vec<_>>(),
        }],
    });
    if let (Some(p), Some(groups)) = (poster, detail["outputGroupDetails"].as_array_mut()) {
        groups.push(json!({
            "type": "FILE_GROUP",
            "outputDetails": [{"outputFilePaths": [p]}],
        }));
    }
    detail
}

/// An EventBridge event around `detail`, as a rule's target receives it.
pub(crate) fn eventbridge(
    detail_type: &str,
    source: &str,
    resource: String,
    detail: Value,
) -> Value {
    json!({
        "version": "0",
        "id": crate::setup::random_token(16).unwrap_or_default(),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": rfc3339_now(),
        "region": hlsgate_aws::sdk::LOCAL_REGION,
        "resources": [resource],
        "detail": detail,
    })
}

/// A "MediaConvert Job State Change" event, as EventBridge delivers it.
pub fn state_event(job_id: &str, spec: &JobSpec, status: &str, extra: Value) -> Value {
    let region = hlsgate_aws::sdk::LOCAL_REGION;
    let mut detail = json!({
        "timestamp": now_ms(),
        "accountId": ACCOUNT,
        "queue": format!("arn:aws:mediaconvert:{region}:{ACCOUNT}:queues/Default"),
        "jobId": job_id,
        "status": status,
        "userMetadata": spec.metadata,
    });
    if let (Some(d), Some(x)) = (detail.as_object_mut(), extra.as_object()) {
        for (k, v) in x {
            d.insert(k.clone(), v.clone());
        }
    }
    eventbridge(
        "MediaConvert Job State Change",
        "aws.mediaconvert",
        format!("arn:aws:mediaconvert:{region}:{ACCOUNT}:jobs/{job_id}"),
        detail,
    )
}

/// An "Object Created" event for an upload, as EventBridge delivers it.
pub fn object_created_event(
    bucket: &str,
    key: &str,
    size: u64,
    etag: &str,
    sequencer: &str,
) -> Value {
    eventbridge(
        "Object Created",
        "aws.s3",
        format!("arn:aws:s3:::{bucket}"),
        json!({
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "etag": etag, "sequencer": sequencer},
            "request-id": crate::setup::random_token(8).unwrap_or_default(),
            "requester": ACCOUNT,
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject",
        }),
    )
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(crate) fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
