// The Node side of bench/compare-signers.sh: @aws-sdk/cloudfront-signer (OpenSSL
// underneath) signing the same canned-policy URLs as examples/sign_rate.rs.
import { readFileSync } from "node:fs";
import { getSignedUrl } from "@aws-sdk/cloudfront-signer";

const [keyPath, hash = "SHA1", nArg = "2000"] = process.argv.slice(2);
const privateKey = readFileSync(keyPath, "utf8");
const n = Number(nArg);
const opts = (i) => ({
  url: `https://d111111abcdef8.cloudfront.net/videos/v${i}/master.m3u8`,
  keyPairId: "K2JCJMDEHXQW5F",
  privateKey,
  dateLessThan: new Date(1893456000 * 1000).toISOString(),
  ...(hash === "SHA256" ? { hashAlgorithm: "SHA256" } : {}),
});
// Warm up the JIT and OpenSSL, as the Rust side warms up with its first calls.
for (let i = 0; i < 200; i++) getSignedUrl(opts(i));
let total = 0;
const start = process.hrtime.bigint();
for (let i = 0; i < n; i++) total += getSignedUrl(opts(i)).length;
const secs = Number(process.hrtime.bigint() - start) / 1e9;
console.log(`${(n / secs).toFixed(0)} signs/s (${n} URLs in ${secs.toFixed(3)} s, ${total} bytes)`);
