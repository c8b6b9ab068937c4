//! SPEKE: every conformance payload gets what the spec says it should, and
//! every answer is checked the way the SPEKE v2 verification suite checks
//! one (CPIX 2.3, every key asked for answered, the signalling present and
//! decodable), and read as an HLS player reads the tag it becomes.

use hlsgate_core::speke::encryptor::{Answered, read_answer, request};
use hlsgate_core::speke::{
    CLEAR_KEY_AES_128, HLS_AES_128, MAX_CPIX_BYTES, Refusal, Request, Version,
};
use hlsgate_core::video::{KEY_NAME, VideoId};

#[path = "speke_fuzz_case.rs"]
mod fuzz_case;

const KEY: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

fn fixture(rel: &str) -> String {
    String::from_utf8(hlsgate_fixtures::read(&format!("speke/{rel}"))).unwrap()
}

/// Each payload, the version its header says, and what it must get.
fn payloads() -> Vec<(&'static str, Version, Result<(), Refusal>)> {
    use Refusal::*;
    vec![
        // awslabs/speke-reference-server: its v1 HLS AES-128 request.
        ("v1/server_api_body.xml", Version::V1, Ok(())),
        // Its v2 sample: Widevine, PlayReady and FairPlay.
        (
            "v1/server_api_body_spekev2.xml",
            Version::V2,
            Err(UnsupportedSystem(
                "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed".into(),
            )),
        ),
        // The v2 suite's VOD requests: DRM systems and its negative cases.
        (
            "v2-suite/vod/1_generic_spekev2_dash_widevine_preset_video_1_audio_1_no_rotation.xml",
            Version::V2,
            Err(UnsupportedSystem(
                "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed".into(),
            )),
        ),
        (
            "v2-suite/vod/2_speke_v1_style_implementation.xml",
            Version::V2,
            Err(UnsupportedSystem(
                "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed".into(),
            )),
        ),
        (
            "v2-suite/vod/3_negative_wrong_version_spekev2_dash_widevine.xml",
            Version::V2,
            Err(UnsupportedCpixVersion),
        ),
        (
            "v2-suite/vod/4_spekev2_negative_preset_shared_video.xml",
            Version::V2,
            Err(TrackTypeCombination),
        ),
        (
            "v2-suite/vod/5_spekev2_negative_preset_shared_audio.xml",
            Version::V2,
            Err(TrackTypeCombination),
        ),
        // Ours, as MediaConvert asks for an HLS AES-128 key.
        (
            "hlsgate/v1_mediaconvert_hls_aes128.xml",
            Version::V1,
            Ok(()),
        ),
        (
            "hlsgate/v2_mediaconvert_clearkey_aes128.xml",
            Version::V2,
            Ok(()),
        ),
        (
            "hlsgate/v2_default_namespace_no_signalling.xml",
            Version::V2,
            Ok(()),
        ),
    ]
}

#[test]
fn every_conformance_payload_gets_what_the_spec_says() {
    let bless = std::env::var_os("HLSGATE_BLESS").is_some();
    let mut mismatches = Vec::new();
    for (file, version, expected) in payloads() {
        let body = fixture(file);
        let parsed = Request::parse(body.as_bytes(), version);
        match (&expected, parsed) {
            (Ok(()), Ok(req)) => {
                let answer = req.answer(&KEY, KEY_NAME).unwrap();
                check_answer(file, &body, &answer, &req);
                let name = file.rsplit('/').next().unwrap().trim_end_matches(".xml");
                let golden = hlsgate_fixtures::fixtures()
                    .join("speke/golden")
                    .join(format!("{name}.answer.xml"));
                if bless {
                    std::fs::write(&golden, &answer).unwrap();
                } else if std::fs::read_to_string(&golden).ok().as_deref() != Some(&answer) {
                    mismatches.push(format!(
                        "{file}: the answer differs from {}:\n{answer}",
                        golden.display()
                    ));
                }
            }
            (Err(want), Err(got)) => assert_eq!(&got, want, "{file}"),
            (want, got) => panic!("{file}: wanted {want:?}, got {got:?}"),
        }
    }
    assert!(
        mismatches.is_empty(),
        "{}\n(HLSGATE_BLESS=1 after review)",
        mismatches.join("\n")
    );
}

/// The suite's checks, and what an encryptor and a player then read.
fn check_answer(file: &str, request: &str, answer: &str, req: &Request) {
    let a: Answered =
        read_answer(answer.as_bytes(), req.version).unwrap_or_else(|e| panic!("{file}: {e}"));
    let asked = read_answer(request.as_bytes(), req.version).unwrap();
    // The document's identity is unchanged.
    assert_eq!(a.content_id, asked.content_id, "{file}");
    assert_eq!(a.cpix_version, asked.cpix_version, "{file}");
    if req.version == Version::V2 {
        assert_eq!(a.cpix_version.as_deref(), Some("2.3"), "{file}");
        assert!(
            !answer.contains(" id=\""),
            "{file}: v2 answers carry no CPIX@id"
        );
    }
    // Every key asked for is answered, under its own kid, with the key.
    assert_eq!(
        a.keys
            .iter()
            .map(|k| k.0.to_lowercase())
            .collect::<Vec<_>>(),
        asked
            .keys
            .iter()
            .map(|k| k.0.to_lowercase())
            .collect::<Vec<_>>(),
        "{file}"
    );
    assert_eq!(a.key(), Some(KEY), "{file}: the PlainValue is the key");
    assert_eq!(
        a.systems, asked.systems,
        "{file}: the systems are unchanged"
    );
    assert!(
        a.drm_only.is_empty(),
        "{file}: AES-128 carries no {:?}",
        a.drm_only
    );
    // The signalling, decoded.
    match req.version {
        Version::V1 => {
            assert_eq!(a.uri_ext_x_key.as_deref(), Some(KEY_NAME), "{file}");
            if request.contains("KeyFormat") {
                assert_eq!(a.key_format.as_deref(), Some("identity"), "{file}");
                assert_eq!(a.key_format_versions.as_deref(), Some("1"), "{file}");
            }
        }
        Version::V2 => {
            assert_eq!(a.media.len(), 1, "{file}: one media HLSSignalingData");
            assert_eq!(a.master.len(), 1, "{file}: one master HLSSignalingData");
            assert!(
                a.master[0].starts_with("#EXT-X-SESSION-KEY:METHOD=AES-128,"),
                "{file}"
            );
            // The suite reads the session key as a key tag.
            let as_key = a.master[0].replace("#EXT-X-SESSION-KEY:", "#EXT-X-KEY:");
            assert_eq!(as_key, a.media[0], "{file}: both name the same key");
        }
    }
    let uri = a.key_uri().unwrap();
    assert_eq!(uri, KEY_NAME, "{file}");
    // What the encryptor writes, read by a playlist parser.
    let line = match req.version {
        Version::V1 => hlsgate_core::speke::media_key_line(&uri),
        Version::V2 => a.media[0].clone(),
    };
    let playlist = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n{line}\n#EXTINF:6.0,\nseg_00001.ts\n#EXT-X-ENDLIST\n"
    );
    let parsed = m3u8_rs::parse_media_playlist_res(playlist.as_bytes()).unwrap();
    let key = parsed.segments[0].key.clone().unwrap();
    assert_eq!(key.method, m3u8_rs::KeyMethod::AES128, "{file}");
    assert_eq!(key.uri.as_deref(), Some(KEY_NAME), "{file}");
    assert_eq!(key.keyformat.as_deref(), Some("identity"), "{file}");
    // Nothing the encryptor sent is lost, but what AES-128 has no value for.
    for element in [
        "ContentKeyList",
        "DRMSystemList",
        "ContentKeyUsageRuleList",
        "VideoFilter",
        "AudioFilter",
        "ContentKeyPeriod",
        "KeyPeriodFilter",
    ] {
        assert_eq!(
            request.matches(&format!(":{element}")).count()
                + request.matches(&format!("<{element}")).count(),
            answer.matches(&format!(":{element}")).count()
                + answer.matches(&format!("<{element}")).count(),
            "{file}: {element}"
        );
    }
}

#[test]
fn the_same_request_gets_the_same_answer() {
    let body = fixture("hlsgate/v2_mediaconvert_clearkey_aes128.xml");
    let req = Request::parse(body.as_bytes(), Version::V2).unwrap();
    assert_eq!(
        req.answer(&KEY, KEY_NAME).unwrap(),
        req.answer(&KEY, KEY_NAME).unwrap()
    );
    assert_eq!(
        req.content_id.as_str(),
        "my-trip-day-1_Qh9bCAd2xYpKcM0g1YqkF2mVzS7kE4xQm9oY5wR3tLu"
    );
    assert_eq!(req.key.kid, "1d2c3b4a-6e5f-4a7b-9c8d-0f1e2d3c4b5a");
    assert_eq!(req.system_id, CLEAR_KEY_AES_128);
}

#[test]
fn the_encryptors_own_requests_are_answered_and_read_back() {
    let id = VideoId::parse("talk_abc-DEF").unwrap();
    let kid = "0f083e4e-b831-4a3d-917e-ce78076e54aa";
    for (version, system) in [
        (Version::V1, HLS_AES_128),
        (Version::V2, CLEAR_KEY_AES_128),
        (Version::V2, HLS_AES_128),
    ] {
        let body = request(version, &id, kid, system);
        let req = Request::parse(body.as_bytes(), version).unwrap();
        assert_eq!(req.content_id, id);
        let answer = req.answer(&KEY, KEY_NAME).unwrap();
        check_answer("encryptor", &body, &answer, &req);
    }
}

/// The suite's negative cases, applied to the request MediaConvert sends:
/// each mandatory element, each mandatory attribute, both filters.
#[test]
fn a_request_missing_anything_mandatory_is_refused() {
    let body = fixture("hlsgate/v2_mediaconvert_clearkey_aes128.xml");
    let drop_element = |name: &str| -> String {
        let re = regex::Regex::new(&format!(r"(?s)<cpix:{name}\b[^>]*?(/>|>.*?</cpix:{name}>)"))
            .unwrap();
        re.replace_all(&body, "").into_owned()
    };
    for (element, want) in [
        ("ContentKeyList", Refusal::MissingElement("ContentKeyList")),
        ("DRMSystemList", Refusal::MissingElement("DRMSystemList")),
        (
            "ContentKeyUsageRuleList",
            Refusal::MissingElement("ContentKeyUsageRuleList"),
        ),
        ("ContentKey", Refusal::MissingElement("ContentKey")),
        ("DRMSystem", Refusal::MissingElement("DRMSystem")),
        (
            "ContentKeyUsageRule",
            Refusal::MissingElement("ContentKeyUsageRule"),
        ),
    ] {
        let changed = drop_element(element);
        assert_ne!(changed, body, "{element} was removed");
        assert_eq!(
            Request::parse(changed.as_bytes(), Version::V2),
            Err(want),
            "{element}"
        );
    }
    let kid = "1d2c3b4a-6e5f-4a7b-9c8d-0f1e2d3c4b5a";
    for (from, to, want) in [
        (
            format!("<cpix:ContentKey kid=\"{kid}\""),
            "<cpix:ContentKey".to_string(),
            Refusal::MissingAttribute("ContentKey", "kid"),
        ),
        (
            " commonEncryptionScheme=\"cbcs\"".into(),
            String::new(),
            Refusal::MissingScheme(kid.into()),
        ),
        (
            format!("<cpix:DRMSystem kid=\"{kid}\""),
            "<cpix:DRMSystem".into(),
            Refusal::MissingAttribute("DRMSystem", "kid"),
        ),
        (
            " systemId=\"3ea8778f-7742-4bf9-b18b-e834b2acbd47\"".into(),
            String::new(),
            Refusal::MissingAttribute("DRMSystem", "systemId"),
        ),
        (
            format!("<cpix:ContentKeyUsageRule kid=\"{kid}\""),
            "<cpix:ContentKeyUsageRule".into(),
            Refusal::MissingAttribute("ContentKeyUsageRule", "kid"),
        ),
        (
            " intendedTrackType=\"ALL\"".into(),
            String::new(),
            Refusal::MissingAttribute("ContentKeyUsageRule", "intendedTrackType"),
        ),
        (
            "<cpix:VideoFilter />\n      <cpix:AudioFilter />".into(),
            String::new(),
            Refusal::MissingFilter(kid.into()),
        ),
        (
            " version=\"2.3\"".into(),
            String::new(),
            Refusal::MissingVersion,
        ),
        (
            " version=\"2.3\"".into(),
            " version=\"2.2\"".into(),
            Refusal::UnsupportedCpixVersion,
        ),
        (
            " contentId=\"my-trip-day-1_Qh9bCAd2xYpKcM0g1YqkF2mVzS7kE4xQm9oY5wR3tLu\"".into(),
            String::new(),
            Refusal::MissingContentId("contentId"),
        ),
        (
            "contentId=\"my-trip".into(),
            "contentId=\"../my-trip".into(),
            Refusal::NotAVideoId("contentId"),
        ),
        (
            "commonEncryptionScheme=\"cbcs\"".into(),
            "commonEncryptionScheme=\"aes\"".into(),
            Refusal::UnsupportedScheme,
        ),
        (
            "intendedTrackType=\"ALL\"".into(),
            "intendedTrackType=\"EVERYTHING\"".into(),
            Refusal::UnsupportedTrackType,
        ),
        (
            format!("<cpix:DRMSystem kid=\"{kid}\""),
            "<cpix:DRMSystem kid=\"not-a-uuid\"".into(),
            Refusal::InvalidKid("DRMSystem"),
        ),
        (
            format!("<cpix:DRMSystem kid=\"{kid}\""),
            "<cpix:DRMSystem kid=\"00000000-0000-4000-8000-000000000000\"".into(),
            Refusal::UnknownKid("DRMSystem", "00000000-0000-4000-8000-000000000000".into()),
        ),
        (
            "<cpix:HLSSignalingData playlist=\"media\"></cpix:HLSSignalingData>".into(),
            "<cpix:PSSH/>".into(),
            Refusal::UnsupportedSignalling("PSSH"),
        ),
        (
            "3ea8778f-7742-4bf9-b18b-e834b2acbd47".into(),
            "94ce86fb-07ff-4f43-adb8-93d2fa968ca2".into(),
            Refusal::UnsupportedSystem("94ce86fb-07ff-4f43-adb8-93d2fa968ca2".into()),
        ),
    ] {
        assert!(body.contains(&from), "{from}");
        let changed = body.replacen(&from, &to, 1);
        assert_eq!(
            Request::parse(changed.as_bytes(), Version::V2),
            Err(want),
            "{from} → {to}"
        );
    }
    // Two keys: the presets other than SHARED.
    let two = body.replace(
        "</cpix:ContentKeyList>",
        "<cpix:ContentKey kid=\"2d2c3b4a-6e5f-4a7b-9c8d-0f1e2d3c4b5a\" commonEncryptionScheme=\"cbcs\"/></cpix:ContentKeyList>",
    );
    assert_eq!(
        Request::parse(two.as_bytes(), Version::V2),
        Err(Refusal::UnsupportedPreset(2))
    );
    let mixed = two.replacen(
        "commonEncryptionScheme=\"cbcs\"/>",
        "commonEncryptionScheme=\"cenc\"/>",
        1,
    );
    assert_eq!(
        Request::parse(mixed.as_bytes(), Version::V2),
        Err(Refusal::MixedSchemes)
    );
    // A v2 document sent as v1 has no CPIX@id; a v1 one sent as v2 no version.
    assert_eq!(
        Request::parse(body.as_bytes(), Version::V1),
        Err(Refusal::MissingContentId("id"))
    );
    let v1 = fixture("hlsgate/v1_mediaconvert_hls_aes128.xml");
    assert_eq!(
        Request::parse(v1.as_bytes(), Version::V2),
        Err(Refusal::MissingVersion)
    );
}

#[test]
fn what_is_not_a_plain_cpix_document_is_malformed() {
    let body = fixture("hlsgate/v1_mediaconvert_hls_aes128.xml");
    let malformed = |b: &[u8]| matches!(Request::parse(b, Version::V1), Err(Refusal::Malformed(_)));
    // Empty, not XML, cut short, mismatched, not UTF-8.
    assert!(malformed(b""));
    assert!(malformed(b"{\"id\": 1}"));
    assert!(malformed(&body.as_bytes()[..body.len() / 2]));
    assert!(malformed(
        body.replace("</cpix:DRMSystemList>", "</cpix:DRMSystems>")
            .as_bytes()
    ));
    assert!(malformed(b"\xff\xfe<cpix:CPIX/>"));
    // Another root, or CPIX outside its namespace.
    assert!(malformed(b"<CPIX id=\"a\"/>"));
    assert!(malformed(
        b"<html xmlns:cpix=\"urn:dashif:org:cpix\"><cpix:CPIX id=\"a\"/></html>"
    ));
    // No DTD, so no entity is ever declared or expanded (billion laughs,
    // external entities); an undeclared entity is refused too.
    let laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE cpix [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>{}",
        body.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
    );
    assert!(malformed(laughs.as_bytes()));
    let external = body.replacen(
        "<cpix:CPIX",
        "<!DOCTYPE x SYSTEM \"file:///etc/passwd\"><cpix:CPIX",
        1,
    );
    assert!(malformed(external.as_bytes()));
    let entity = body.replacen("id=\"my-trip", "id=\"&xxe;my-trip", 1);
    assert!(malformed(entity.as_bytes()));
    // Over the size limit, or nested past the depth limit.
    let mut big = body.clone().into_bytes();
    big.resize(MAX_CPIX_BYTES + 1, b' ');
    assert!(malformed(&big));
    let deep = body.replacen(
        "<cpix:ContentKeyList>",
        &format!(
            "<cpix:ContentKeyList>{}{}",
            "<x>".repeat(20),
            "</x>".repeat(20)
        ),
        1,
    );
    assert!(malformed(deep.as_bytes()));
    // What the answer fills and an encryptor reads, out of its place: a
    // CPIX inside CPIX, a key or signalling element outside a ContentKey.
    for (from, to) in [
        (
            "</cpix:ContentKeyList>",
            "</cpix:ContentKeyList><cpix:CPIX id=\"b\"/>",
        ),
        (
            "<cpix:DRMSystemList>",
            "<cpix:DRMSystemList><cpix:ContentKey kid=\"98b7c3a2-5f4e-4d1c-8a9b-0e7f6d5c4b3a\"/>",
        ),
        (
            "<cpix:URIExtXKey />",
            "<x><cpix:URIExtXKey>aGk=</cpix:URIExtXKey></x>",
        ),
        (
            "<cpix:PSSH />",
            "<cpix:PSSH><pskc:PlainValue>AAAA</pskc:PlainValue></cpix:PSSH>",
        ),
    ] {
        let changed = body.replacen(from, to, 1);
        assert_ne!(changed, body, "{from}");
        assert!(malformed(changed.as_bytes()), "{to}");
    }
    // One root.
    assert!(malformed(
        format!("{body}<cpix:CPIX xmlns:cpix=\"urn:dashif:org:cpix\" id=\"b\"/>").as_bytes()
    ));
    // XML's own escapes and character references are read.
    let escaped = body.replacen("id=\"my-trip", "id=\"&#109;y-trip", 1);
    assert!(Request::parse(escaped.as_bytes(), Version::V1).is_ok());
}

#[test]
fn refusals_name_the_spec_and_never_the_key() {
    assert_eq!(
        Refusal::UnsupportedCpixVersion.to_string(),
        "Unsupported CPIX@version"
    );
    assert_eq!(
        Refusal::MissingContentId("contentId").to_string(),
        "Missing CPIX@contentId"
    );
    assert_eq!(Refusal::MissingVersion.to_string(), "Missing CPIX@version");
    assert_eq!(
        Refusal::MissingScheme("k".into()).to_string(),
        "Missing ContentKey@commonEncryptionScheme for KID k"
    );
    assert_eq!(
        Refusal::MixedSchemes.to_string(),
        "Non compliant ContentKey@commonEncryptionScheme combination"
    );
    assert_eq!(
        Refusal::UnsupportedSpekeVersion.to_string(),
        "Unsupported SPEKE version"
    );
    // A key answered never reaches a refusal: a request carrying a key
    // value already is answered with ours in its place.
    let body = fixture("hlsgate/v1_mediaconvert_hls_aes128.xml").replacen(
        "<cpix:ContentKey kid=\"98b7c3a2-5f4e-4d1c-8a9b-0e7f6d5c4b3a\"></cpix:ContentKey>",
        "<cpix:ContentKey kid=\"98b7c3a2-5f4e-4d1c-8a9b-0e7f6d5c4b3a\"><cpix:Data><pskc:Secret><pskc:PlainValue>c2VjcmV0c2VjcmV0c2VjcmV0</pskc:PlainValue></pskc:Secret></cpix:Data></cpix:ContentKey>",
        1,
    );
    let req = Request::parse(body.as_bytes(), Version::V1).unwrap();
    let answer = req.answer(&KEY, KEY_NAME).unwrap();
    assert!(!answer.contains("c2VjcmV0c2VjcmV0c2VjcmV0"), "{answer}");
    assert_eq!(
        read_answer(answer.as_bytes(), Version::V1).unwrap().key(),
        Some(KEY)
    );
}

/// Every payload, in both versions, and every input the fuzzer kept under
/// `fixtures/speke/fuzz/`, through the fuzz target's checks.
#[test]
fn the_fuzz_targets_checks_hold_on_every_fixture() {
    let dir = hlsgate_fixtures::fixtures().join("speke");
    let mut files = Vec::new();
    for sub in ["v1", "v2-suite/vod", "hlsgate", "fuzz"] {
        if let Ok(entries) = std::fs::read_dir(dir.join(sub)) {
            files.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()));
        }
    }
    assert!(files.len() >= 10, "{files:?}");
    for f in files {
        let body = std::fs::read(&f).unwrap();
        if f.parent().unwrap().ends_with("fuzz") {
            fuzz_case::run(&body);
        } else {
            for v in [0u8, 1] {
                fuzz_case::run(&[&[v][..], &body].concat());
            }
        }
    }
}

/// The key is written in the PSKC prefix in scope at the `ContentKey`, or
/// with PSKC declared where it is used when none is (a prefix shadowed
/// inside, or one spelled as no XML name): an encryptor always finds it.
#[test]
fn the_key_is_written_in_a_prefix_bound_where_it_goes() {
    let body = fixture("hlsgate/v1_mediaconvert_hls_aes128.xml");
    let kid = "98b7c3a2-5f4e-4d1c-8a9b-0e7f6d5c4b3a";
    for (from, to, prefixed) in [
        ("<cpix:ContentKey ", "<cpix:ContentKey ", true),
        (
            "<cpix:ContentKey ",
            "<cpix:ContentKey xmlns:pskc=\"urn:example:other\" ",
            false,
        ),
        (
            "<cpix:ContentKey ",
            "<cpix:ContentKey xmlns:k=\"urn:ietf:params:xml:ns:keyprov:pskc\" xmlns:pskc=\"urn:example:other\" ",
            true,
        ),
    ] {
        let changed = body.replacen(from, to, 1);
        let req = Request::parse(changed.as_bytes(), Version::V1).unwrap();
        let answer = req.answer(&KEY, KEY_NAME).unwrap();
        let a = read_answer(answer.as_bytes(), Version::V1).unwrap();
        assert_eq!(a.key(), Some(KEY), "{answer}");
        assert_eq!(a.keys[0].0, kid);
        assert_eq!(answer.contains(":PlainValue>"), prefixed, "{answer}");
    }
}
