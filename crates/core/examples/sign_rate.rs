//! The Rust side of bench/compare-signers.sh: sign the same canned-policy URLs
//! as the Node reference signer and print the rate.
//!
//! `cargo run --release -p hlsgate-core --example sign_rate -- KEY.pem SHA1|SHA256 N`

use std::time::Instant;

use hlsgate_core::signing::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let key_path = args
        .next()
        .ok_or("usage: sign_rate KEY.pem SHA1|SHA256 N")?;
    let hash = HashAlgorithm::from_param(&args.next().unwrap_or_else(|| "SHA1".into()))
        .ok_or("hash must be SHA1 or SHA256")?;
    let n: u32 = args.next().unwrap_or_else(|| "2000".into()).parse()?;
    let key = private_key_from_pem(&std::fs::read(&key_path)?, KeySize::CloudFront)?;
    let signer = Signer::new(key, KeyPairId::new("K2JCJMDEHXQW5F")?, hash);
    let expires = Epoch::new(1_893_456_000)?;
    let mut total = 0usize;
    let start = Instant::now();
    for i in 0..n {
        let url = format!("https://d111111abcdef8.cloudfront.net/videos/v{i}/master.m3u8");
        let signed = signer.sign_canned(&url, expires)?.apply_to(&url)?;
        total += signed.len();
    }
    let secs = start.elapsed().as_secs_f64();
    // One line the script parses: rate, then context.
    println!(
        "{:.0} signs/s ({n} URLs in {secs:.3} s, {total} bytes)",
        f64::from(n) / secs
    );
    Ok(())
}
