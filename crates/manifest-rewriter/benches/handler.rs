//! The whole handler, warm, for the 2-hour playlist (1,800 segments) signed
//! with an RSA-2048 folder policy: event JSON in, response out, with the
//! playlist in the cache (hit) or read from an in-memory store each time
//! (miss: S3 time left out), for each body coding.
//!
//! `cargo bench -p hlsgate-manifest-rewriter --bench handler`

#![allow(clippy::unwrap_used)] // benches fail loudly by design

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hlsgate_aws::MemoryObjects;
use hlsgate_manifest_rewriter::handle;

#[allow(dead_code)]
#[path = "../tests/it/common.rs"]
mod common;
use common::*;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let movie = read("hls/bench/movie-2h.m3u8");
    let mut group = c.benchmark_group("handler/movie-2h");
    for (cache, ttl) in [("hit", "3600"), ("miss", "0")] {
        let objects = MemoryObjects::new();
        objects.put("videos/bench/movie.m3u8", movie.clone());
        let mut app = app_with(&[("CACHE_TTL_SECONDS", ttl)], objects);
        // Each request still renders its EMF document, as in Lambda; the
        // line is not printed.
        app.frame.metrics = hlsgate_aws::metrics::Metrics::discard("hlsgate", "manifest-rewriter");
        for accept in ["identity", "gzip", "br"] {
            let event = Call::get(
                "/videos/bench/movie.m3u8",
                &forwarded_query(&signed_folder("bench")),
            )
            .header("Accept-Encoding", accept)
            .api_request()
            .event()
            .to_string();
            let first = rt.block_on(handle(
                &app,
                lambda_http::request::from_str(&event).unwrap(),
            ));
            assert_eq!(first.status(), 200);
            group.throughput(Throughput::Bytes(body(&first).len() as u64));
            group.bench_function(format!("{cache}/{accept}"), |b| {
                b.iter(|| {
                    let req = lambda_http::request::from_str(black_box(&event)).unwrap();
                    black_box(rt.block_on(handle(&app, req)))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
