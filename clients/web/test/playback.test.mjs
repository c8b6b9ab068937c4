// The playback core against a scripted issuer and a manual clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPlayback, explain, PlaybackError, signInFolder, withFreshParams } from '../dist/index.js';

const T0 = Date.parse('2026-12-07T10:00:00Z');
const iso = (ms) => new Date(ms).toISOString().replace('.000', '');
const FOLDER = 'https://cdn.example.com/videos/intro/';

/** An answer issued at `at` for `life` seconds, signature `sig`. */
function answer(at, { life = 300, id = 't-one.0', sig = 'S1', grant } = {}) {
  const q = `Policy=P${sig}&Signature=${sig}&Key-Pair-Id=K&Policy-PREFIX=P${sig}&Signature-PREFIX=${sig}&Key-Pair-Id-PREFIX=K`;
  return {
    manifest_url: `${FOLDER}master.m3u8?${q}`,
    expires_at: iso(at + life * 1000),
    mode: 'url',
    session: {
      id,
      expires_at: iso(at + 3 * life * 1000),
      refresh_at: iso(at + ((2 * life) / 3) * 1000),
      end_token: 'end-tok',
    },
    ...(grant ? { grant_expires_at: iso(grant) } : {}),
  };
}

/** A clock whose timers run when `advance` passes them. */
function manualClock() {
  let now = T0;
  let timers = [];
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return t;
    },
    clearTimeout: (t) => {
      timers = timers.filter((x) => x !== t);
    },
    async advance(ms) {
      now += ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        due.fn();
        await new Promise((r) => setImmediate(r));
      }
    },
    pending: () => timers.length,
  };
}

/** A fetch that answers with `script(method, url, calls)` and records calls. */
function issuer(script) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ method: init.method, url, auth: init.headers.Authorization });
    const [status, body] = await script(init.method, url, calls);
    return new Response(status === 204 ? null : JSON.stringify(body), { status });
  };
  return { fetch, calls };
}

function playback(fetch, clock, extra = {}) {
  return createPlayback({
    issuer: 'https://cdn.example.com',
    videoId: 'intro',
    getToken: () => 'tok',
    fetch,
    clock,
    window: null,
    ...extra,
  });
}

const settle = () => new Promise((r) => setImmediate(r));

test('a start schedules the renewal two thirds in, and the renewal keeps the session', async () => {
  const clock = manualClock();
  let n = 0;
  const api = issuer((_method) => [200, answer(clock.now(), { sig: `S${++n}` })]);
  const p = playback(api.fetch, clock, { device: 'TV' });
  const renewed = [];
  p.on('renewed', (a) => renewed.push(a));
  await p.start();
  assert.equal(api.calls[0].method, 'GET');
  assert.match(api.calls[0].url, /\/playback\/intro\?mode=url&device=TV$/);
  assert.equal(api.calls[0].auth, 'Bearer tok');
  await clock.advance(199_000);
  assert.equal(api.calls.length, 1, 'not before refresh_at');
  await clock.advance(1_000);
  assert.equal(api.calls.length, 2);
  assert.equal(api.calls[1].method, 'POST');
  assert.match(api.calls[1].url, /\/playback\/intro\/sessions\/t-one\.0\?mode=url/);
  assert.equal(renewed.length, 1);
  assert.match(p.answer.manifest_url, /Signature=S2/);
  await clock.advance(200_000);
  assert.equal(api.calls.length, 3, 'and again, from the new answer');
});

test('a 403 during a renewal in flight makes one request, not two', async () => {
  const clock = manualClock();
  let release;
  const api = issuer(async (method) => {
    if (method === 'POST') await new Promise((r) => (release = r));
    return [200, answer(clock.now())];
  });
  const p = playback(api.fetch, clock);
  await p.start();
  const renewal = p.renew();
  assert.equal(p.forbidden(), true, 'retry: a renewal is coming');
  assert.equal(p.forbidden(), true);
  const ready = p.ready();
  await settle();
  release();
  await renewal;
  await ready;
  assert.equal(api.calls.filter((c) => c.method === 'POST').length, 1);
});

test('a 403 renews once; a second within a lifetime ends playback', async () => {
  const clock = manualClock();
  const api = issuer(() => [200, answer(clock.now())]);
  const p = playback(api.fetch, clock);
  const ended = [];
  p.on('ended', (e) => ended.push(e));
  await p.start();
  assert.equal(p.forbidden(), true);
  await p.ready();
  assert.equal(api.calls.length, 2);
  await clock.advance(10_000);
  assert.equal(p.forbidden(), false);
  assert.equal(ended[0].reason, 'refused');
  assert.equal(clock.pending(), 0, 'no renewal after the end');
});

test('an expired token is asked for again once, after a 401', async () => {
  const clock = manualClock();
  const tokens = ['old', 'new'];
  const api = issuer((_m, _u, calls) =>
    calls.at(-1).auth === 'Bearer old' ? [401, { error: 'unauthenticated' }] : [200, answer(clock.now())],
  );
  const p = playback(api.fetch, clock, { getToken: () => tokens.shift() ?? 'none' });
  await p.start();
  assert.deepEqual(
    api.calls.map((c) => c.auth),
    ['Bearer old', 'Bearer new'],
  );
});

test('a lapsed session starts over; an ended one stops with its reason', async () => {
  const clock = manualClock();
  let renewal = [403, { error: 'session_expired' }];
  const api = issuer((method) =>
    method === 'POST' ? renewal : [200, answer(clock.now(), { id: `t-${clock.now()}.0` })],
  );
  const p = playback(api.fetch, clock);
  const events = [];
  for (const e of ['started', 'ended', 'refused'])
    p.on(e, (x) => events.push([e, x.reason ?? x.code ?? x.session?.id]));
  await p.start();
  await p.renew();
  assert.deepEqual(
    api.calls.map((c) => c.method),
    ['GET', 'POST', 'GET'],
  );
  renewal = [403, { error: 'session_ended', message: "a newer playback on this account took this screen's place" }];
  await assert.rejects(p.renew(), (e) => e instanceof PlaybackError && e.code === 'session_ended');
  assert.deepEqual(events.slice(-2), [
    ['refused', 'session_ended'],
    ['ended', 'session_ended'],
  ]);
  assert.equal(clock.pending(), 0);
});

test('ending sends the end token by beacon, or DELETE with the token', async () => {
  const clock = manualClock();
  const api = issuer((method) => (method === 'DELETE' ? [204, null] : [200, answer(clock.now())]));
  const beacons = [];
  const p = playback(api.fetch, clock, { sendBeacon: (u, b) => beacons.push([u, String(b)]) });
  await p.start();
  await p.end({ beacon: true });
  assert.deepEqual(beacons, [['https://cdn.example.com/playback/intro/sessions/t-one.0/end', 'end_token=end-tok']]);
  const q = playback(api.fetch, clock);
  await q.start();
  await q.end();
  assert.equal(api.calls.at(-1).method, 'DELETE');
});

test('a rental ending within ten minutes is announced with the seconds left', async () => {
  const clock = manualClock();
  const api = issuer(() => [200, answer(clock.now(), { grant: clock.now() + 420_000 })]);
  const p = playback(api.fetch, clock);
  const ending = [];
  p.on('ending', (e) => ending.push(e.secondsLeft));
  await p.start();
  assert.deepEqual(ending, [420]);
});

test('parameters are swapped in the folder only, byte for byte', () => {
  const m = `${FOLDER}master.m3u8?Policy=PN&Signature=N~x&Key-Pair-Id=K`;
  const seg = `${FOLDER}720p/seg_1.ts?Policy=PO&Signature=O&Key-Pair-Id=K`;
  assert.equal(signInFolder(seg, m), `${FOLDER}720p/seg_1.ts?Policy=PN&Signature=N~x&Key-Pair-Id=K`);
  for (const other of [
    `https://evil.example/videos/intro/seg.ts?Policy=PO&Signature=O`,
    `https://cdn.example.com/videos/other/seg.ts?Policy=PO&Signature=O`,
    `https://cdn.example.com/videos/intro/../other/seg.ts?Policy=PO&Signature=O`,
    `http://cdn.example.com/videos/intro/seg.ts?Policy=PO&Signature=O`,
  ]) {
    assert.equal(signInFolder(other, m), other, other);
  }
  assert.equal(withFreshParams('a?x=1&Signature=O#t', 'Signature=N'), 'a?x=1&Signature=N#t');
  assert.equal(withFreshParams('a', 'Signature=N'), 'a');
});

test('explain turns each code into words and an action', () => {
  const e = (status, body) => explain(new PlaybackError(status, body));
  assert.equal(
    e(409, { error: 'too_many_streams', max_streams: 2, sessions: [{ device: 'TV' }, { device: 'phone' }] }).message,
    'You are already watching on 2 screens (TV, phone). Stop one to watch here.',
  );
  assert.equal(e(409, { error: 'too_many_streams', max_streams: 1, sessions: [] }).action, 'end-other-sessions');
  assert.equal(
    e(403, { error: 'not_entitled', reason: 'grant_expired' }).message,
    'Your access to this video has ended.',
  );
  assert.equal(e(403, { error: 'not_entitled' }).action, 'buy');
  assert.equal(e(403, { error: 'session_ended', message: 'ended elsewhere' }).message, 'ended elsewhere');
  assert.equal(e(401, { error: 'unauthenticated' }).action, 'sign-in');
  assert.equal(e(503, { error: 'entitlement_unavailable' }).action, 'retry');
  assert.equal(e(0, {}).action, 'retry');
  assert.equal(e(418, {}).action, 'none');
  // The playback rules' refusals.
  assert.equal(
    e(403, { error: 'country_not_allowed', rule: 'video.countries', country: 'FR' }).message,
    'This video is not available in your country (FR).',
  );
  assert.equal(
    e(403, { error: 'country_not_allowed', country: null }).message,
    'This video is not available in your country.',
  );
  assert.equal(e(403, { error: 'origin_not_allowed' }).message, 'This video cannot be played on this site.');
  assert.equal(
    e(403, { error: 'not_yet_available', available_from: '2026-12-24T00:00:00Z' }).message,
    'This video is not available yet (from 2026-12-24T00:00:00Z).',
  );
  assert.equal(e(403, { error: 'no_longer_available' }).message, 'This video is no longer available.');
  for (const error of ['country_not_allowed', 'origin_not_allowed', 'not_yet_available', 'no_longer_available']) {
    assert.equal(e(403, { error }).action, 'none', error);
  }
});
