// The Node side of bench/compare-rewrite.sh: the seed-style rewriter, which
// splits the playlist on "\n" and calls @aws-sdk/cloudfront-signer's
// getSignedUrl for every segment (one RSA signature per URI), keeping each
// signed URL's query string.
import { readFileSync } from "node:fs";
import { getSignedUrl } from "@aws-sdk/cloudfront-signer";

const [keyPath, playlistPath, baseUrl, nArg = "3"] = process.argv.slice(2);
const privateKey = readFileSync(keyPath, "utf8");
const playlist = readFileSync(playlistPath, "utf8");
const n = Number(nArg);
const dateLessThan = new Date(1893456000 * 1000).toISOString();

function rewrite(text) {
  return text
    .split("\n")
    .map((line) => {
      if (line === "" || line.startsWith("#")) return line;
      const url = new URL(line, baseUrl).href;
      const signed = getSignedUrl({ url, keyPairId: "K2JCJMDEHXQW5F", privateKey, dateLessThan });
      return line + signed.slice(signed.indexOf("?"));
    })
    .join("\n");
}

rewrite(playlist); // warm up the JIT and OpenSSL
let bytes = 0;
const start = process.hrtime.bigint();
for (let i = 0; i < n; i++) bytes += rewrite(playlist).length;
const secs = Number(process.hrtime.bigint() - start) / 1e9;
console.log(`${(n / secs).toFixed(3)} playlists/s (${n} in ${secs.toFixed(3)} s, ${bytes} bytes)`);
