//! The Rust side of bench/compare-rewrite.sh: what the manifest-rewriter does
//! per request (one custom-policy RSA signature for the video's folder, then
//! one rewrite of the playlist), in a loop, printing playlists per second.
//!
//! `cargo run --release -p hlsgate-core --example rewrite_rate -- KEY.pem PLAYLIST BASE_URL N`

use std::time::Instant;

use hlsgate_core::hls::{QueryParams, Rewriter};
use hlsgate_core::signing::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [key_path, playlist_path, base, n] = args.as_slice() else {
        return Err("usage: rewrite_rate KEY.pem PLAYLIST BASE_URL N".into());
    };
    let n: u32 = n.parse()?;
    let key = private_key_from_pem(&std::fs::read(key_path)?, KeySize::CloudFront)?;
    let signer = Signer::new(key, KeyPairId::new("K2JCJMDEHXQW5F")?, HashAlgorithm::Sha1);
    let playlist = std::fs::read(playlist_path)?;
    let folder = match base.rfind('/') {
        Some(i) => format!("{}*", &base[..=i]),
        None => return Err("BASE_URL must be a URL".into()),
    };
    let expires = Epoch::new(1_893_456_000)?;
    let mut out = Vec::new();
    let mut bytes = 0usize;
    let start = Instant::now();
    for _ in 0..n {
        let signed = signer.sign_custom(&Policy::new(folder.clone(), expires)?)?;
        let rewriter = Rewriter::new(QueryParams::from(&signed)).base_url(base)?;
        out.clear();
        rewriter.rewrite_to(&playlist, &mut out)?;
        bytes += out.len();
    }
    let secs = start.elapsed().as_secs_f64();
    // One line the script parses: rate, then context.
    println!(
        "{:.3} playlists/s ({n} in {secs:.3} s, {bytes} bytes)",
        f64::from(n) / secs
    );
    Ok(())
}
