/**
 * `url` with the value of each query parameter named in `fresh` (a raw query
 * string, `Policy=…&Signature=…`) replaced by its value there. Other
 * parameters, their order and their encoding are kept byte for byte: a
 * signature is checked on the exact bytes.
 */
export function withFreshParams(url: string, fresh: string): string {
  const q = url.indexOf('?');
  if (q < 0 || fresh === '') return url;
  const hash = url.indexOf('#', q);
  const end = hash < 0 ? url.length : hash;
  const values = new Map<string, string>();
  for (const pair of fresh.split('&')) {
    const i = pair.indexOf('=');
    values.set(i < 0 ? pair : pair.slice(0, i), i < 0 ? '' : pair.slice(i + 1));
  }
  const query = url
    .slice(q + 1, end)
    .split('&')
    .map((pair) => {
      const i = pair.indexOf('=');
      const name = i < 0 ? pair : pair.slice(0, i);
      const value = values.get(name);
      return value === undefined ? pair : `${name}=${value}`;
    });
  return url.slice(0, q + 1) + query.join('&') + url.slice(end);
}

/**
 * The folder a signed manifest URL opens (`https://cdn/videos/ID/`) and its
 * signed query; `undefined` for a URL without one.
 */
export function folderOf(manifestUrl: string): { folder: string; query: string } | undefined {
  const q = manifestUrl.indexOf('?');
  const path = q < 0 ? manifestUrl : manifestUrl.slice(0, q);
  const slash = path.lastIndexOf('/');
  if (slash < 0) return undefined;
  return { folder: path.slice(0, slash + 1), query: q < 0 ? '' : manifestUrl.slice(q + 1) };
}

/**
 * `url` signed with the folder's current parameters when it is in the folder
 * (same origin, same path prefix, resolved against the folder); any other URL
 * is returned unchanged, so the parameters never go to another origin.
 */
export function signInFolder(url: string, manifestUrl: string): string {
  const f = folderOf(manifestUrl);
  if (f === undefined || f.query === '') return url;
  let target: URL;
  let folder: URL;
  try {
    folder = new URL(f.folder);
    target = new URL(url, f.folder);
  } catch {
    return url;
  }
  if (target.origin !== folder.origin || !target.pathname.startsWith(folder.pathname)) return url;
  return withFreshParams(url, f.query);
}
