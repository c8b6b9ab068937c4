//! Rewrite speed on three playlists, each next to a plain copy of its output
//! (the floor for anything that writes those bytes), with real RSA-2048
//! custom-policy parameters (~580 bytes per URI).
//!
//! `cargo bench -p hlsgate-core --bench rewrite`; criterion prints time per
//! rewrite and MB/s of output.

#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hlsgate_core::hls::{Limits, QueryParams, Rewriter};
use hlsgate_core::signing::*;

use hlsgate_fixtures::{CDN, read as fixture};

/// The manifest-rewriter's shape: segments get the edge set, child playlists
/// the edge set plus the forwarded `-hg` copy.
fn rewriter() -> Rewriter {
    let key = private_key_from_pem(
        &fixture("conformance/keys/test-rsa2048-pkcs1.pem"),
        KeySize::CloudFront,
    )
    .unwrap();
    let signer = Signer::new(
        key,
        KeyPairId::new("K2JCJMDEHXQW5F").unwrap(),
        HashAlgorithm::Sha1,
    );
    let policy = Policy::new(
        format!("{CDN}/videos/abc123/*"),
        Epoch::new(1_893_456_000).unwrap(),
    )
    .unwrap();
    let signed = signer.sign_custom(&policy).unwrap();
    let edge = signed.query_pairs();
    let forwarded = edge.iter().map(|(n, v)| (format!("{n}-hg"), v.clone()));
    let child = edge
        .iter()
        .map(|(n, v)| (n.to_string(), v.clone()))
        .chain(forwarded);
    Rewriter::new(QueryParams::from(&signed))
        .child_params(QueryParams::from_pairs(child).unwrap())
        .base_url(&format!("{CDN}/videos/abc123/master.m3u8"))
        .unwrap()
        .limits(Limits {
            max_input_bytes: 16 << 20,
            max_uris: 50_000,
        })
}

fn bench(c: &mut Criterion) {
    let rw = rewriter();
    let playlists = [
        ("master-8-variants", fixture("hls/bench/master-8.m3u8")),
        ("movie-2h-1800-segments", fixture("hls/bench/movie-2h.m3u8")),
        (
            "corpus-40001-segments",
            fixture("hls/corpus/grafov__m3u8/sample-playlists/media-playlist-large.m3u8"),
        ),
    ];
    let mut g = c.benchmark_group("rewrite");
    for (name, input) in &playlists {
        let (expected, report) = rw.rewrite(input).unwrap();
        eprintln!(
            "{name}: {} URIs signed, {} -> {} bytes",
            report.rewritten,
            input.len(),
            expected.len()
        );
        g.throughput(Throughput::Bytes(expected.len() as u64));
        let mut out = Vec::with_capacity(expected.len());
        g.bench_with_input(BenchmarkId::new("rewrite_to", name), input, |b, input| {
            b.iter(|| {
                out.clear();
                rw.rewrite_to(black_box(input), &mut out).unwrap();
                black_box(out.len())
            })
        });
        g.bench_with_input(BenchmarkId::new("rewrite", name), input, |b, input| {
            b.iter(|| black_box(rw.rewrite(black_box(input)).unwrap().0.len()))
        });
        let mut copy = Vec::with_capacity(expected.len());
        g.bench_with_input(BenchmarkId::new("memcpy", name), &expected, |b, bytes| {
            b.iter(|| {
                copy.clear();
                copy.extend_from_slice(black_box(bytes));
                black_box(copy.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
