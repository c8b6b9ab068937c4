//! The AWS adapters against the wire, replayed with aws-smithy-mocks:
//! the CreateJob request (asserted field by field and snapshot as the JSON
//! MediaConvert receives), the SNS Publish, and playback.json through the S3
//! client.

use std::sync::{Arc, Mutex};

use aws_sdk_mediaconvert::operation::create_job::CreateJobInput;
use aws_sdk_mediaconvert::types::{
    H264QualityTuningLevel, H264RateControlMode, OutputGroupType, StatusUpdateInterval,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::body::SdkBody;
use hlsgate_aws::testing::{Wire, response, s3_error};
use hlsgate_aws::{CallFailure, S3Objects};
use hlsgate_core::tracks::{CaptionFormat, Track, language_name};
use hlsgate_core::video::{Playback, VideoId};
use hlsgate_mediaconvert_jobs::event::{Incoming, parse};
use hlsgate_mediaconvert_jobs::key::{ContentKey, JobEncryption};
use hlsgate_mediaconvert_jobs::tracks::{AudioTrack, Caption, Plan};
use hlsgate_mediaconvert_jobs::{App, JobSpec, MediaConvert, SnsNotifier, Transcoder, handle};
use serde_json::{Value, json};

use crate::common::*;

pub(crate) fn created(id: &str) -> HttpResponse {
    let body = json!({"job": {"id": id, "role": ROLE, "settings": {}, "status": "SUBMITTED"}});
    response(201, SdkBody::from(body.to_string()))
}

fn service_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let mut r = response(
        status,
        SdkBody::from(json!({"message": message}).to_string()),
    );
    r.headers_mut().insert("x-amzn-ErrorType", code.to_string());
    r.headers_mut().insert("x-amzn-RequestId", "REQ-MC-1");
    r
}

pub(crate) fn upload_spec(extra: &[(&str, &str)]) -> (JobSpec, hlsgate_mediaconvert_jobs::Config) {
    let config = config(extra);
    let Incoming::Uploads { uploads, .. } = parse(&fixture("s3-object-created-eventbridge.json"))
    else {
        panic!("not an upload")
    };
    (
        hlsgate_mediaconvert_jobs::job_spec(&config, &uploads[0]),
        config,
    )
}

fn mediaconvert(
    config: &hlsgate_mediaconvert_jobs::Config,
    rule: &aws_smithy_mocks::Rule,
    wire: &Wire,
) -> MediaConvert {
    let wire = wire.clone();
    let client = mock_client!(aws_sdk_mediaconvert, RuleMode::Sequential, [rule], |c| c
        .region(aws_sdk_mediaconvert::config::Region::new("eu-west-1"))
        .retry_config(aws_sdk_mediaconvert::config::retry::RetryConfig::disabled())
        .interceptor(wire.clone()));
    MediaConvert::new(client, config)
}

#[tokio::test]
async fn create_job_carries_role_token_metadata_and_ladder() {
    let (spec, config) = upload_spec(&[("MEDIACONVERT_QUEUE_ARN", QUEUE)]);
    let expected_token = spec.token.clone();
    let rule = mock!(aws_sdk_mediaconvert::Client::create_job)
        .match_requests(move |req: &CreateJobInput| {
            let settings = req.settings().unwrap();
            let input = &settings.inputs()[0];
            let group = &settings.output_groups()[0];
            let hls = group
                .output_group_settings()
                .unwrap()
                .hls_group_settings()
                .unwrap();
            let sizes: Vec<(i32, i32, i32, i32)> = group
                .outputs()
                .iter()
                .map(|o| {
                    let v = o.video_description().unwrap();
                    let h = v.codec_settings().unwrap().h264_settings().unwrap();
                    assert_eq!(h.rate_control_mode(), Some(&H264RateControlMode::Qvbr));
                    assert_eq!(h.gop_size(), Some(2.0));
                    assert_eq!(o.audio_descriptions().len(), 1);
                    (
                        v.width().unwrap(),
                        v.height().unwrap(),
                        h.max_bitrate().unwrap(),
                        h.qvbr_settings().unwrap().qvbr_quality_level().unwrap(),
                    )
                })
                .collect();
            let meta = req.user_metadata().unwrap();
            req.role() == Some(ROLE)
                && req.queue() == Some(QUEUE)
                && req.client_request_token() == Some(expected_token.as_str())
                && req.status_update_interval() == Some(&StatusUpdateInterval::Seconds60)
                && meta.get("videoId").map(String::as_str) == Some(TOUR_ID)
                && meta.get("stack").map(String::as_str) == Some("hlsgate")
                && meta.get("sourceKey").map(String::as_str)
                    == Some("uploads/launch/Product Tour.mp4")
                && input.file_input()
                    == Some(&*format!("s3://{UPLOADS}/uploads/launch/Product Tour.mp4"))
                && group.output_group_settings().unwrap().r#type()
                    == Some(&OutputGroupType::HlsGroupSettings)
                && hls.destination() == Some(&*format!("s3://{MEDIA}/videos/{TOUR_ID}/master"))
                && hls.segment_length() == Some(6)
                && group.automated_encoding_settings().is_none()
                && sizes
                    == [
                        (1920, 1080, 6_000_000, 8),
                        (1280, 720, 3_500_000, 7),
                        (960, 540, 2_000_000, 7),
                        (640, 360, 900_000, 7),
                        (480, 270, 400_000, 7),
                    ]
        })
        .then_http_response(|| created("1795252445211-q7x2hd"));
    let mc = mediaconvert(&config, &rule, &Wire::default());
    assert_eq!(mc.submit(&spec).await.unwrap(), "1795252445211-q7x2hd");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn automated_abr_replaces_the_ladder() {
    let (spec, config) = upload_spec(&[
        ("ENCODING", "auto"),
        ("ABR_MAX_RENDITIONS", "5"),
        ("ABR_MAX_BITRATE", "6M"),
    ]);
    let rule = mock!(aws_sdk_mediaconvert::Client::create_job)
        .match_requests(|req: &CreateJobInput| {
            let group = &req.settings().unwrap().output_groups()[0];
            let abr = group
                .automated_encoding_settings()
                .unwrap()
                .abr_settings()
                .unwrap();
            let v = group.outputs()[0].video_description().unwrap();
            let h = v.codec_settings().unwrap().h264_settings().unwrap();
            abr.max_renditions() == Some(5)
                && abr.max_abr_bitrate() == Some(6_000_000)
                && abr.min_abr_bitrate() == Some(600_000)
                && group.outputs().len() == 1
                && v.width().is_none()
                && v.height().is_none()
                && h.rate_control_mode() == Some(&H264RateControlMode::Qvbr)
                && h.quality_tuning_level() == Some(&H264QualityTuningLevel::MultiPassHq)
        })
        .then_http_response(|| created("job-abr"));
    let mc = mediaconvert(&config, &rule, &Wire::default());
    assert_eq!(mc.submit(&spec).await.unwrap(), "job-abr");
}

/// The request body MediaConvert receives, for the snapshot.
async fn wire_body(extra: &[(&str, &str)]) -> (String, Value) {
    let (spec, config) = upload_spec(extra);
    wire_body_of(spec, config).await
}

pub(crate) async fn wire_body_of(
    spec: hlsgate_mediaconvert_jobs::job::JobSpec,
    config: hlsgate_mediaconvert_jobs::Config,
) -> (String, Value) {
    let rule = mock!(aws_sdk_mediaconvert::Client::create_job).then_http_response(|| created("j"));
    let wire = Wire::default();
    mediaconvert(&config, &rule, &wire)
        .submit(&spec)
        .await
        .unwrap();
    let sent = wire.sent();
    let (method, uri, body) = (&sent[0].method, &sent[0].uri, &sent[0].body);
    (
        format!("{method} {uri}"),
        serde_json::from_slice(body).unwrap(),
    )
}

#[tokio::test]
async fn create_job_snapshot_ladder() {
    let (line, body) = wire_body(&[
        ("MEDIACONVERT_QUEUE_ARN", QUEUE),
        ("TRICK_PLAY", "none"),
        ("POSTER_SECONDS", "0"),
    ])
    .await;
    accepted_by_mediaconvert(&body);
    // The regional endpoint; DescribeEndpoints is never called.
    assert!(
        line.starts_with("POST https://mediaconvert.eu-west-1.amazonaws.com/2017-08-29/jobs"),
        "{line}"
    );
    insta::with_settings!({sort_maps => true}, {
        insta::assert_json_snapshot!("create_job_ladder", body);
    });
}

/// With `KEY_EXCHANGE=static`, the ladder's group carries the static key
/// (a fixed test key here, never a real one) and a relative key URI.
#[tokio::test]
async fn create_job_snapshot_encrypted() {
    let (mut spec, config) = upload_spec(&[("ENCRYPTION", "aes-128"), ("KEY_EXCHANGE", "static")]);
    assert_eq!(spec.encryption, None, "a static key is made at submit");
    spec.encryption = Some(JobEncryption::Static(ContentKey::from_bytes(
        *b"test-only-key-16",
    )));
    let (_, body) = wire_body_of(spec, config).await;
    let enc = &body["settings"]["outputGroups"][0]["outputGroupSettings"]["hlsGroupSettings"]["encryption"];
    assert_eq!(enc["staticKeyProvider"]["url"], "hls.key");
    assert_eq!(
        enc["staticKeyProvider"]["staticKeyValue"],
        "746573742d6f6e6c792d6b65792d3136"
    );
    insta::with_settings!({sort_maps => true}, {
        insta::assert_json_snapshot!("create_job_encrypted", body);
    });
}

/// With SPEKE (the default), the group names the key provider, the video
/// id as `ResourceId` and HLS AES-128: no key in the job.
#[tokio::test]
async fn create_job_snapshot_speke() {
    let (spec, config) = upload_spec(&[("ENCRYPTION", "aes-128"), ("SPEKE_URL", SPEKE_URL)]);
    let (_, body) = wire_body_of(spec, config).await;
    accepted_by_mediaconvert(&body);
    let enc = &body["settings"]["outputGroups"][0]["outputGroupSettings"]["hlsGroupSettings"]["encryption"];
    assert_eq!(enc["type"], "SPEKE");
    assert_eq!(enc["encryptionMethod"], "AES128");
    assert_eq!(enc["spekeKeyProvider"]["resourceId"], TOUR_ID);
    assert_eq!(enc["spekeKeyProvider"]["url"], SPEKE_URL);
    assert_eq!(
        enc["spekeKeyProvider"]["systemIds"],
        json!([hlsgate_core::speke::HLS_AES_128])
    );
    assert!(enc.get("staticKeyProvider").is_none());
    insta::with_settings!({sort_maps => true}, {
        insta::assert_json_snapshot!("create_job_speke", body);
    });
}

/// A DRM vendor's SPEKE endpoint: SAMPLE-AES, its system id and its
/// certificate, passed through.
#[tokio::test]
async fn create_job_snapshot_vendor_fairplay() {
    let vendor = "https://speke.vendor.example/v2/copyProtection";
    let cert =
        "arn:aws:acm:eu-west-1:111122223333:certificate/0d3b7c4e-1f2a-4b5c-9d8e-7f6a5b4c3d2e";
    let (spec, config) = upload_spec(&[
        ("ENCRYPTION", "sample-aes"),
        ("SPEKE_URL", vendor),
        ("SPEKE_SYSTEM_IDS", hlsgate_core::speke::FAIRPLAY),
        ("SPEKE_CERTIFICATE_ARN", cert),
    ]);
    let (_, body) = wire_body_of(spec, config).await;
    accepted_by_mediaconvert(&body);
    let enc = &body["settings"]["outputGroups"][0]["outputGroupSettings"]["hlsGroupSettings"]["encryption"];
    assert_eq!(enc["encryptionMethod"], "SAMPLE_AES");
    assert_eq!(enc["spekeKeyProvider"]["url"], vendor);
    assert_eq!(enc["spekeKeyProvider"]["certificateArn"], cert);
    assert_eq!(
        enc["spekeKeyProvider"]["systemIds"],
        json!([hlsgate_core::speke::FAIRPLAY])
    );
    insta::with_settings!({sort_maps => true}, {
        insta::assert_json_snapshot!("create_job_vendor_fairplay", body);
    });
}

/// Only the static snapshot carries a key: no other request the function
/// sends has a `staticKeyProvider`, or 32 hex digits anywhere.
#[test]
fn no_create_job_but_the_static_one_carries_key_material() {
    let hex32 = regex::Regex::new(r"\b[0-9a-fA-F]{32}\b").unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("it__aws__create_job") || name == "it__aws__create_job_encrypted.snap"
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("staticKey"), "{name}");
        assert!(!hex32.is_match(&text), "{name}: {:?}", hex32.find(&text));
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} snapshots checked");
}

#[tokio::test]
async fn create_job_snapshot_automated_abr() {
    let (_, body) = wire_body(&[("ENCODING", "auto")]).await;
    accepted_by_mediaconvert(&body);
    insta::with_settings!({sort_maps => true}, {
        insta::assert_json_snapshot!("create_job_automated_abr", body);
    });
}

#[tokio::test]
async fn create_job_failures_are_described() {
    let (spec, config) = upload_spec(&[]);
    let cases = [
        (
            429,
            "TooManyRequestsException",
            "Too many requests",
            CallFailure::Throttled,
        ),
        (
            400,
            "BadRequestException",
            "You must specify a role",
            CallFailure::Rejected,
        ),
        (
            500,
            "InternalServerErrorException",
            "oops",
            CallFailure::ServerError,
        ),
    ];
    for (status, code, message, failure) in cases {
        let rule = mock!(aws_sdk_mediaconvert::Client::create_job)
            .then_http_response(move || service_error(status, code, message));
        let err = mediaconvert(&config, &rule, &Wire::default())
            .submit(&spec)
            .await
            .unwrap_err();
        assert_eq!(err.failure, failure, "{err}");
        assert_eq!(err.code.as_deref(), Some(code));
        assert_eq!(err.request_id.as_deref(), Some("REQ-MC-1"));
        assert!(err.to_string().contains(message), "{err}");
        assert_eq!(err.is_transient(), failure != CallFailure::Rejected);
    }
}

/// The video's status object: none yet, then written (every call).
fn status_rules() -> [aws_smithy_mocks::Rule; 2] {
    let is_status = |key: Option<&str>| key.is_some_and(|k| k.starts_with("status/"));
    [
        mock!(aws_sdk_s3::Client::get_object)
            .match_requests(move |req| is_status(req.key()))
            .then_http_response(|| s3_error(404, "NoSuchKey")),
        mock!(aws_sdk_s3::Client::put_object)
            .match_requests(move |req| {
                is_status(req.key()) && req.content_type() == Some("application/json")
            })
            .then_output(|| aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build()),
    ]
}

/// The jobs function over replayed S3 (`s3_rule`, then the status rules)
/// and SNS.
fn sns_app(
    s3_rule: &aws_smithy_mocks::Rule,
    sns_rule: &aws_smithy_mocks::Rule,
) -> App<FakeTranscoder, SnsNotifier, S3Objects, MemoryUploads> {
    let [status_get, status_put] = status_rules();
    let rules = [s3_rule, &status_get, &status_put];
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, rules, |c| c
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled()));
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [sns_rule], |c| c
        .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled()));
    App {
        config: config(&[]),
        transcoder: FakeTranscoder::default(),
        notifier: SnsNotifier::new(sns, TOPIC),
        media: S3Objects::new(s3, MEDIA),
        uploads: MemoryUploads::default(),
    }
}

#[tokio::test]
async fn complete_goes_through_s3_and_sns() {
    let written = Arc::new(Mutex::new(Vec::new()));
    let seen = written.clone();
    let put = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(move |req| {
            let ours = req.bucket() == Some(MEDIA)
                && req.key() == Some(&*format!("videos/{TOUR_ID}/playback.json"))
                && req.content_type() == Some("application/json");
            if ours {
                seen.lock()
                    .unwrap()
                    .extend_from_slice(req.body().bytes().unwrap_or_default());
            }
            ours
        })
        .then_output(|| aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build());
    let publish = mock!(aws_sdk_sns::Client::publish)
        .match_requests(|req| {
            let body: Value = serde_json::from_str(req.message().unwrap()).unwrap();
            let attrs = req.message_attributes().unwrap();
            let attr = |name: &str| {
                let a = &attrs[name];
                (
                    a.data_type(),
                    a.string_value().unwrap_or_default().to_string(),
                )
            };
            req.topic_arn() == Some(TOPIC)
                && req
                    .subject()
                    .is_some_and(|s| s.len() <= 100 && s.is_ascii())
                && body["event"] == "complete"
                && body["videoId"] == TOUR_ID
                && body["durationSeconds"] == 184.12
                && attrs.len() == 2
                && attr("event") == ("String", "complete".to_string())
                && attr("videoId") == ("String", TOUR_ID.to_string())
        })
        .then_output(|| {
            aws_sdk_sns::operation::publish::PublishOutput::builder()
                .message_id("9b5f2b9e-0000-4c1d-8e0f-1a2b3c4d5e6f")
                .build()
        });
    let app = sns_app(&put, &publish);
    let report = handle(&app, &fixture("mediaconvert-complete.json"))
        .await
        .unwrap();
    assert_eq!(report["message_id"], "9b5f2b9e-0000-4c1d-8e0f-1a2b3c4d5e6f");
    assert_eq!((put.num_calls(), publish.num_calls()), (1, 1));
    let body = written.lock().unwrap().clone();
    let id = VideoId::parse(TOUR_ID).unwrap();
    let p = Playback::from_json(&body, &id, &format!("videos/{TOUR_ID}/")).unwrap();
    assert_eq!(p.renditions.len(), 5);
}

#[tokio::test]
async fn a_failed_sidecar_write_publishes_nothing_and_is_retried() {
    let put =
        mock!(aws_sdk_s3::Client::put_object).then_http_response(|| s3_error(503, "SlowDown"));
    let publish = mock!(aws_sdk_sns::Client::publish)
        .then_output(|| aws_sdk_sns::operation::publish::PublishOutput::builder().build());
    let app = sns_app(&put, &publish);
    let err = handle(&app, &fixture("mediaconvert-complete.json"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("playback.json"), "{err}");
    assert_eq!(
        publish.num_calls(),
        0,
        "no notice before the sidecar exists"
    );
    assert_eq!(
        lambda_runtime::Diagnostic::from(err).error_type,
        "hlsgate::StorageFailed"
    );
}

#[tokio::test]
async fn a_throttled_topic_is_an_error() {
    let put = mock!(aws_sdk_s3::Client::put_object)
        .then_output(|| aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build());
    let publish = mock!(aws_sdk_sns::Client::publish).then_http_response(|| {
        let body = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>\
                    <Message>Rate exceeded</Message></Error><RequestId>REQ-SNS</RequestId></ErrorResponse>";
        let mut r = response(400, SdkBody::from(body));
        r.headers_mut().insert("x-amzn-RequestId", "REQ-SNS");
        r
    });
    let app = sns_app(&put, &publish);
    let err = handle(&app, &fixture("mediaconvert-error.json"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("throttled"), "{err}");
    assert!(err.to_string().contains("REQ-SNS"), "{err}");
}

#[tokio::test]
async fn claims_are_read_and_written_through_s3() {
    // A claim found in S3 stops a second job; a throttled read is an error.
    let (spec, _) = upload_spec(&[]);
    let claim_key = format!("jobs/{}.json", spec.token);
    let claim = json!({
        "token": spec.token, "job_id": "1795252445211-q7x2hd", "video_id": TOUR_ID,
        "source_bucket": UPLOADS, "source_key": "uploads/launch/Product Tour.mp4"
    })
    .to_string();
    let key = claim_key.clone();
    let get = mock!(aws_sdk_s3::Client::get_object)
        .match_requests(move |req| req.key() == Some(key.as_str()))
        .then_output(move || {
            aws_sdk_s3::operation::get_object::GetObjectOutput::builder()
                .body(aws_sdk_s3::primitives::ByteStream::from(
                    claim.clone().into_bytes(),
                ))
                .build()
        });
    let publish = mock!(aws_sdk_sns::Client::publish)
        .then_output(|| aws_sdk_sns::operation::publish::PublishOutput::builder().build());
    let app = sns_app(&get, &publish);
    let report = handle(&app, &fixture("s3-object-created-eventbridge.json"))
        .await
        .unwrap();
    assert_eq!(report["uploads"][0]["outcome"], "duplicate");
    assert!(app.transcoder.jobs().is_empty());

    let slow =
        mock!(aws_sdk_s3::Client::get_object).then_http_response(|| s3_error(503, "SlowDown"));
    let app = sns_app(&slow, &publish);
    let err = handle(&app, &fixture("s3-object-created-eventbridge.json"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&claim_key), "{err}");
    assert!(app.transcoder.jobs().is_empty());

    // Not found: submit, then write the claim.
    let missing =
        mock!(aws_sdk_s3::Client::get_object).then_http_response(|| s3_error(404, "NoSuchKey"));
    let written = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(move |req| req.key() == Some(claim_key.as_str()))
        .then_output(|| aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build());
    let [status_get, status_put] = status_rules();
    let s3 = mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&status_get, &status_put, &missing, &written]
    );
    let app = App {
        media: S3Objects::new(s3, MEDIA),
        ..sns_app(&written, &publish)
    };
    let report = handle(&app, &fixture("s3-object-created-eventbridge.json"))
        .await
        .unwrap();
    assert_eq!(report["uploads"][0]["outcome"], "submitted");
    assert_eq!(written.num_calls(), 1);
}

/// A plan with `audio` languages (several: an audio group) and caption
/// files `captions` (language, format).
pub(crate) fn plan_of(audio: &[&str], captions: &[(&str, CaptionFormat)]) -> Plan {
    Plan {
        audio: audio
            .iter()
            .enumerate()
            .map(|(i, l)| AudioTrack {
                stream: i as u32 + 1,
                track: Track {
                    language: Some(l.to_string()),
                    name: language_name(l),
                    default: i == 0,
                },
            })
            .collect(),
        captions: captions
            .iter()
            .map(|(l, f)| Caption {
                source_uri: format!("s3://{UPLOADS}/uploads/launch/Product Tour.{l}.{f}"),
                format: *f,
                track: Track {
                    language: Some(l.to_string()),
                    name: language_name(l),
                    default: false,
                },
            })
            .collect(),
    }
}

/// The snapshot of `plan` under `extra`, after checking it against the
/// SDK's own enums and MediaConvert's ranges and cross-references.
async fn tracks_snapshot(name: &str, extra: &[(&str, &str)], plan: Plan) -> Value {
    let (mut spec, config) = upload_spec(extra);
    spec.plan = plan;
    let (_, body) = wire_body_of(spec, config).await;
    accepted_by_mediaconvert(&body);
    insta::with_settings!({sort_maps => true}, {
        insta::assert_json_snapshot!(name, body);
    });
    body
}

pub(crate) const NO_EXTRAS: &[(&str, &str)] = &[("TRICK_PLAY", "none"), ("POSTER_SECONDS", "0")];

fn hls_outputs(body: &Value) -> &Vec<Value> {
    body["settings"]["outputGroups"][0]["outputs"]
        .as_array()
        .unwrap()
}

#[tokio::test]
async fn create_job_snapshot_captions() {
    let body = tracks_snapshot(
        "create_job_captions",
        NO_EXTRAS,
        plan_of(
            &[],
            &[("en", CaptionFormat::Vtt), ("fr", CaptionFormat::Srt)],
        ),
    )
    .await;
    let input = &body["settings"]["inputs"][0];
    assert_eq!(
        input["captionSelectors"]["Captions Selector 2"]["sourceSettings"]["sourceType"],
        "SRT"
    );
    let subs: Vec<&Value> = hls_outputs(&body)
        .iter()
        .filter(|o| o.get("captionDescriptions").is_some())
        .collect();
    assert_eq!(subs.len(), 2);
    assert_eq!(
        subs[1]["captionDescriptions"][0]["languageDescription"],
        "Français"
    );
    assert_eq!(subs[1]["nameModifier"], "_subtitles_2_fr");
    assert_eq!(
        body["settings"]["outputGroups"][0]["outputGroupSettings"]["hlsGroupSettings"]["captionSegmentLengthControl"],
        "MATCH_VIDEO"
    );
}

#[tokio::test]
async fn create_job_snapshot_two_audio_languages() {
    let body = tracks_snapshot(
        "create_job_two_audio",
        NO_EXTRAS,
        plan_of(&["en", "fr"], &[]),
    )
    .await;
    let outputs = hls_outputs(&body);
    let pictures: Vec<&Value> = outputs
        .iter()
        .filter(|o| o.get("videoDescription").is_some())
        .collect();
    assert_eq!(pictures.len(), 5);
    for p in &pictures {
        assert!(
            p.get("audioDescriptions").is_none(),
            "no muxed audio with a group"
        );
        assert_eq!(
            p["outputSettings"]["hlsSettings"]["audioRenditionSets"],
            "audio"
        );
    }
    let audio: Vec<&Value> = outputs
        .iter()
        .filter(|o| o.get("videoDescription").is_none())
        .collect();
    assert_eq!(audio.len(), 2);
    assert_eq!(
        audio[0]["outputSettings"]["hlsSettings"]["audioTrackType"],
        "ALTERNATE_AUDIO_AUTO_SELECT_DEFAULT"
    );
    assert_eq!(
        audio[1]["audioDescriptions"][0]["audioSourceName"],
        "Audio Selector 2"
    );
    assert_eq!(audio[1]["audioDescriptions"][0]["customLanguageCode"], "fr");
    assert_eq!(
        body["settings"]["inputs"][0]["audioSelectors"]["Audio Selector 2"]["tracks"],
        json!([2])
    );
}

#[tokio::test]
async fn create_job_snapshot_trick_play() {
    let body = tracks_snapshot("create_job_trick_play", &[], plan_of(&[], &[])).await;
    let group = &body["settings"]["outputGroups"][0]["outputGroupSettings"]["hlsGroupSettings"];
    assert_eq!(group["imageBasedTrickPlay"], "ADVANCED");
    assert_eq!(group["imageBasedTrickPlaySettings"]["thumbnailWidth"], 312);
    for o in hls_outputs(&body) {
        assert_eq!(
            o["outputSettings"]["hlsSettings"]["iFrameOnlyManifest"],
            "INCLUDE"
        );
    }
    let poster = &body["settings"]["outputGroups"][1];
    assert_eq!(
        poster["outputGroupSettings"]["fileGroupSettings"]["destination"],
        format!("s3://{MEDIA}/videos/{TOUR_ID}/poster")
    );
    assert_eq!(
        poster["outputs"][0]["videoDescription"]["codecSettings"]["frameCaptureSettings"]["framerateDenominator"],
        5
    );
}

#[tokio::test]
async fn create_job_snapshot_all_tracks() {
    let body = tracks_snapshot(
        "create_job_all_tracks",
        &[
            ("ENCRYPTION", "aes-128"),
            ("SPEKE_URL", SPEKE_URL),
            ("THUMBNAIL_SECONDS", "4"),
        ],
        plan_of(&["en", "fr", "de"], &[("en", CaptionFormat::Vtt)]),
    )
    .await;
    assert_eq!(hls_outputs(&body).len(), 5 + 3 + 1);
}

#[tokio::test]
async fn probe_reads_the_audio_streams_in_order() {
    let rule = mock!(aws_sdk_mediaconvert::Client::probe).then_http_response(|| {
        response(
            200,
            SdkBody::from(
                json!({"probeResults": [{"container": {"format": "mp4", "tracks": [
                    {"index": 1, "trackType": "video"},
                    {"index": 2, "trackType": "audio", "audioProperties": {"languageCode": "eng"}},
                    {"index": 3, "trackType": "data"},
                    {"index": 4, "trackType": "audio", "audioProperties": {}}
                ]}}]})
                .to_string(),
            ),
        )
    });
    let wire = Wire::default();
    let (_, config) = upload_spec(&[]);
    let got = mediaconvert(&config, &rule, &wire)
        .probe("s3://in/uploads/a.mp4")
        .await
        .unwrap();
    assert_eq!(got, [Some("eng".to_string()), None]);
    let sent = wire.sent();
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(
        body,
        json!({"inputFiles": [{"fileUrl": "s3://in/uploads/a.mp4"}]})
    );
}

/// Every enum-valued member of the request holds one of the values the
/// SDK's own type lists; every other string member is one we know is free
/// text; numbers are within MediaConvert's documented ranges; and every
/// selector, group and name an output refers to exists.
fn accepted_by_mediaconvert(body: &Value) {
    use aws_sdk_mediaconvert::types as t;
    let enums: &[(&str, &[&str])] = &[
        ("aacCodecProfile", t::AacCodecProfile::values()),
        ("codingMode", t::AacCodingMode::values()),
        (
            "rateControlMode",
            &[
                t::AacRateControlMode::values(),
                t::H264RateControlMode::values(),
            ]
            .concat()
            .leak()[..],
        ),
        (
            "codec",
            &[t::AudioCodec::values(), t::VideoCodec::values()]
                .concat()
                .leak()[..],
        ),
        (
            "codecProfile",
            &[t::AacCodecProfile::values(), t::H264CodecProfile::values()]
                .concat()
                .leak()[..],
        ),
        ("defaultSelection", t::AudioDefaultSelection::values()),
        ("selectorType", t::AudioSelectorType::values()),
        ("languageCodeControl", t::AudioLanguageCodeControl::values()),
        ("languageCode", t::LanguageCode::values()),
        ("sourceType", t::CaptionSourceType::values()),
        ("destinationType", t::CaptionDestinationType::values()),
        ("container", t::ContainerType::values()),
        ("codecLevel", t::H264CodecLevel::values()),
        ("framerateControl", t::H264FramerateControl::values()),
        ("gopSizeUnits", t::H264GopSizeUnits::values()),
        ("interlaceMode", t::H264InterlaceMode::values()),
        ("parControl", t::H264ParControl::values()),
        ("qualityTuningLevel", t::H264QualityTuningLevel::values()),
        ("sceneChangeDetect", t::H264SceneChangeDetect::values()),
        ("audioOnlyContainer", t::HlsAudioOnlyContainer::values()),
        ("audioTrackType", t::HlsAudioTrackType::values()),
        (
            "captionLanguageSetting",
            t::HlsCaptionLanguageSetting::values(),
        ),
        (
            "captionSegmentLengthControl",
            t::HlsCaptionSegmentLengthControl::values(),
        ),
        ("clientCache", t::HlsClientCache::values()),
        ("codecSpecification", t::HlsCodecSpecification::values()),
        ("directoryStructure", t::HlsDirectoryStructure::values()),
        ("encryptionMethod", t::HlsEncryptionType::values()),
        ("iFrameOnlyManifest", t::HlsIFrameOnlyManifest::values()),
        ("imageBasedTrickPlay", t::HlsImageBasedTrickPlay::values()),
        (
            "initializationVectorInManifest",
            t::HlsInitializationVectorInManifest::values(),
        ),
        ("intervalCadence", t::HlsIntervalCadence::values()),
        ("manifestCompression", t::HlsManifestCompression::values()),
        (
            "manifestDurationFormat",
            t::HlsManifestDurationFormat::values(),
        ),
        ("outputSelection", t::HlsOutputSelection::values()),
        ("programDateTime", t::HlsProgramDateTime::values()),
        ("segmentControl", t::HlsSegmentControl::values()),
        ("segmentLengthControl", t::HlsSegmentLengthControl::values()),
        ("streamInfResolution", t::HlsStreamInfResolution::values()),
        (
            "timedMetadataId3Frame",
            t::HlsTimedMetadataId3Frame::values(),
        ),
        (
            "type",
            &[
                t::HlsKeyProviderType::values(),
                t::OutputGroupType::values(),
            ]
            .concat()
            .leak()[..],
        ),
        ("timecodeSource", t::InputTimecodeSource::values()),
        ("scalingBehavior", t::ScalingBehavior::values()),
        ("statusUpdateInterval", t::StatusUpdateInterval::values()),
    ];
    let free_text = [
        "role",
        "queue",
        "clientRequestToken",
        "fileInput",
        "destination",
        "name",
        "customName",
        "nameModifier",
        "audioSourceName",
        "captionSelectorName",
        "customLanguageCode",
        "languageDescription",
        "streamName",
        "audioGroupId",
        "audioRenditionSets",
        "sourceFile",
        "staticKeyValue",
        "url",
        "resourceId",
        "systemIds",
        "certificateArn",
        "keyFormat",
        "keyFormatVersions",
        "videoId",
        "stack",
    ];
    let ranges: &[(&str, i64, i64)] = &[
        ("thumbnailWidth", 8, 4096),
        ("tileWidth", 1, 512),
        ("tileHeight", 1, 2048),
        ("maxCaptures", 1, 10_000_000),
        ("quality", 1, 100),
        ("framerateNumerator", 1, 60_000),
        ("framerateDenominator", 1, 3_600),
        ("segmentLength", 1, 2_147_483_647),
        ("bitrate", 6_000, 1_024_000),
        ("sampleRate", 8_000, 96_000),
        ("tracks", 1, 2_147_483_647),
    ];
    // Maps keyed by our own names (selectors, metadata), not by members.
    const NAMED: [&str; 3] = ["audioSelectors", "captionSelectors", "userMetadata"];
    fn walk(v: &Value, key: &str, f: &mut dyn FnMut(&str, &Value)) {
        match v {
            Value::Object(m) if NAMED.contains(&key) => {
                for x in m.values() {
                    match x {
                        Value::Object(_) => walk(x, "", f),
                        leaf => f(key, leaf),
                    }
                }
            }
            Value::Object(m) => m.iter().for_each(|(k, x)| walk(x, k, f)),
            Value::Array(a) => a.iter().for_each(|x| walk(x, key, f)),
            leaf => f(key, leaf),
        }
    }
    let mut problems = Vec::new();
    walk(body, "", &mut |key, leaf| match leaf {
        Value::String(s) => {
            if let Some((_, values)) = enums.iter().find(|(k, _)| *k == key) {
                if !values.contains(&s.as_str()) {
                    problems.push(format!("{key}={s:?} is not one of {values:?}"));
                }
            } else if !free_text.contains(&key) && !NAMED.contains(&key) {
                problems.push(format!(
                    "{key}={s:?}: add {key} to the enum or free-text table"
                ));
            }
        }
        Value::Number(n) => {
            if let Some((_, lo, hi)) = ranges.iter().find(|(k, _, _)| *k == key) {
                let x = n.as_f64().unwrap_or(f64::NAN);
                if !(x >= *lo as f64 && x <= *hi as f64) {
                    problems.push(format!("{key}={n} is outside {lo}..={hi}"));
                }
            }
            if key == "thumbnailWidth" && n.as_i64().unwrap_or(1) % 8 != 0 {
                problems.push(format!("thumbnailWidth={n} is not a multiple of 8"));
            }
        }
        _ => {}
    });
    // Cross-references: selectors, the audio group.
    let input = &body["settings"]["inputs"][0];
    let groups = body["settings"]["outputGroups"].as_array().unwrap();
    let outputs: Vec<&Value> = groups
        .iter()
        .flat_map(|g| g["outputs"].as_array().unwrap())
        .collect();
    let audio_groups: Vec<&str> = outputs
        .iter()
        .filter_map(|o| o["outputSettings"]["hlsSettings"]["audioGroupId"].as_str())
        .collect();
    for o in &outputs {
        for a in o["audioDescriptions"].as_array().into_iter().flatten() {
            let s = a["audioSourceName"].as_str().unwrap_or_default();
            if input["audioSelectors"].get(s).is_none() {
                problems.push(format!("audio source {s:?} has no selector"));
            }
        }
        for c in o["captionDescriptions"].as_array().into_iter().flatten() {
            let s = c["captionSelectorName"].as_str().unwrap_or_default();
            if input["captionSelectors"].get(s).is_none() {
                problems.push(format!("caption selector {s:?} does not exist"));
            }
        }
        if let Some(set) = o["outputSettings"]["hlsSettings"]["audioRenditionSets"].as_str()
            && !audio_groups.contains(&set)
        {
            problems.push(format!("audio rendition set {set:?} has no audio output"));
        }
        let has_media = [
            "videoDescription",
            "audioDescriptions",
            "captionDescriptions",
        ]
        .iter()
        .any(|m| o.get(*m).is_some());
        if !has_media {
            problems.push("an output with nothing in it".into());
        }
    }
    for g in groups {
        let mut names: Vec<&str> = g["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["nameModifier"].as_str().unwrap_or(""))
            .collect();
        let n = names.len();
        names.sort();
        names.dedup();
        if names.len() != n {
            problems.push(format!("{}: two outputs share a name modifier", g["name"]));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_request_check_can_fail() {
    let body = |edit: fn(&mut Value)| {
        let mut v = json!({"settings": {
            "inputs": [{"audioSelectors": {"Audio Selector 1": {"defaultSelection": "DEFAULT"}}}],
            "outputGroups": [{"name": "g", "outputs": [{"nameModifier": "_a",
                "audioDescriptions": [{"audioSourceName": "Audio Selector 1"}]}]}]
        }});
        edit(&mut v);
        std::panic::catch_unwind(|| accepted_by_mediaconvert(&v)).is_ok()
    };
    assert!(body(|_| {}));
    assert!(!body(
        |v| v["settings"]["inputs"][0]["audioSelectors"]["Audio Selector 1"]["defaultSelection"] =
            "YES".into()
    ));
    assert!(!body(|v| v["settings"]["outputGroups"][0]["outputs"][0]
        ["audioDescriptions"][0]["audioSourceName"] =
        "Audio Selector 9".into()));
    assert!(!body(
        |v| v["settings"]["outputGroups"][0]["thumbnailWidth"] = 300.into()
    ));
    assert!(!body(
        |v| v["settings"]["outputGroups"][0]["mystery"] = "x".into()
    ));
}

#[tokio::test]
async fn a_status_that_cannot_be_written_is_retried_before_anything_is_published() {
    let get =
        mock!(aws_sdk_s3::Client::get_object).then_http_response(|| s3_error(404, "NoSuchKey"));
    let put =
        mock!(aws_sdk_s3::Client::put_object).then_http_response(|| s3_error(503, "SlowDown"));
    let publish = mock!(aws_sdk_sns::Client::publish)
        .then_output(|| aws_sdk_sns::operation::publish::PublishOutput::builder().build());
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&get, &put], |c| c
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled()));
    let app = App {
        media: S3Objects::new(s3, MEDIA),
        ..sns_app(&get, &publish)
    };
    let err = handle(&app, &fixture("mediaconvert-error.json"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!("status/{TRIP_ID}.json")),
        "{err}"
    );
    assert_eq!(publish.num_calls(), 0);
}
