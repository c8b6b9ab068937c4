//! Sign and verify rates for RSA-2048 and ECDSA P-256, SHA1 and SHA256.
//! `cargo bench -p hlsgate-core`; criterion prints each rate as elem/s.

#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hlsgate_core::signing::*;

use hlsgate_fixtures::CDN;

fn fixture(rel: &str) -> Vec<u8> {
    hlsgate_fixtures::read(&format!("conformance/keys/{rel}"))
}

fn signers() -> Vec<(&'static str, Signer)> {
    let rsa =
        || private_key_from_pem(&fixture("test-rsa2048-pkcs1.pem"), KeySize::CloudFront).unwrap();
    let ec =
        || private_key_from_pem(&fixture("test-ecdsa-p256-sec1.pem"), KeySize::CloudFront).unwrap();
    let id = || KeyPairId::new("K2JCJMDEHXQW5F").unwrap();
    vec![
        (
            "rsa2048-sha1",
            Signer::new(rsa(), id(), HashAlgorithm::Sha1),
        ),
        (
            "rsa2048-sha256",
            Signer::new(rsa(), id(), HashAlgorithm::Sha256),
        ),
        (
            "ecdsa-p256-sha1",
            Signer::new(ec(), id(), HashAlgorithm::Sha1),
        ),
        (
            "ecdsa-p256-sha256",
            Signer::new(ec(), id(), HashAlgorithm::Sha256),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let expires = Epoch::new(1_893_456_000).unwrap();
    let folder = format!("{CDN}/videos/abc123/");
    let master = format!("{CDN}/videos/abc123/master.m3u8");

    let mut sign = c.benchmark_group("sign");
    sign.throughput(Throughput::Elements(1));
    for (name, signer) in signers() {
        // What the issuer does per playback: one folder policy, one signed URL.
        sign.bench_function(name, |b| {
            b.iter(|| {
                let p = signer
                    .sign_folder(black_box(&folder), expires, None, None)
                    .unwrap();
                black_box(p.apply_to(&master).unwrap())
            })
        });
    }
    sign.finish();

    let mut verify = c.benchmark_group("verify");
    verify.throughput(Throughput::Elements(1));
    for (name, signer) in signers() {
        let mut keys = KeyGroup::new();
        keys.insert(
            signer.key_pair_id().clone(),
            signer.key().public_key().unwrap(),
        );
        let url = signer
            .sign_folder(&folder, expires, None, None)
            .unwrap()
            .apply_to(&master)
            .unwrap();
        let ctx = Context {
            now: 1_893_400_000,
            viewer_ip: None,
        };
        // What the edge and the rewriter do per request: a full URL check.
        verify.bench_function(name, |b| {
            b.iter(|| black_box(verify_url(black_box(&url), &keys, ctx).unwrap()))
        });
    }
    verify.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
