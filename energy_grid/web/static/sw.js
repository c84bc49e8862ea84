// The web app's service worker, served at /sw.js so its scope is the whole app.
// The app shell (pages, styles, scripts, icons, Chart.js) is fetched from the network first and kept,
// so an upgrade shows at once online and the views still open offline. A household's balances
// (/api/v1/accounts/<address>, /api/v1/vault/<address>) and the deployment's configuration are
// network-first too, their last answer kept with the time it came: offline the page gets that answer
// marked with its time and says so. Every other API call goes to the network only: nothing else is
// ever answered from a copy, so no stale figure can pass for a live one.

const SHELL_CACHE = "energy-grid-shell-v1";
const LAST_KNOWN_CACHE = "energy-grid-last-known-v1";
// The header a kept answer carries: when it came from the service (ms since the epoch).
const STORED_AT = "X-Energy-Grid-Stored-At";

// The app shell: the service fills this line with every view and every file the pages load (the
// views, the manifest, Chart.js, static/'s styles, scripts and icons) when it serves this file.
const SHELL = [];
const LAST_KNOWN = [/^\/api\/v1\/accounts\/0x[0-9a-fA-F]{40}$/, /^\/api\/v1\/vault\/0x[0-9a-fA-F]{40}$/, /^\/api\/v1\/config$/];
// The views: a page's query string (`/prosumer?account=0x…`) selects what it shows, not another page.
const VIEWS = new Set(SHELL.filter((path) => !path.includes(".")));

self.addEventListener("install", (event) => {
  // One file the service cannot give (Chart.js where `npm ci` never ran) must not keep the rest out.
  event.waitUntil(caches.open(SHELL_CACHE)
    .then((cache) => Promise.all(SHELL.map((url) => cache.add(url).catch(() => undefined))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  const kept = new Set([SHELL_CACHE, LAST_KNOWN_CACHE]);
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((name) => !kept.has(name)).map((name) => caches.delete(name))))
    .then(() => self.clients.claim()));
});

// The shell: the network's answer (kept for later), else the kept copy; a view under its path alone.
async function shell(request, path) {
  const cache = await caches.open(SHELL_CACHE);
  const key = VIEWS.has(path) ? path : request;
  try {
    const answer = await fetch(request);
    if (answer.ok) await cache.put(key, answer.clone());
    return answer;
  } catch (err) {
    const kept = await cache.match(key);
    if (kept) return kept;
    throw err;
  }
}

// A last-known answer: the network's as it is, a copy stamped with its time kept; offline, the copy.
async function lastKnown(request) {
  const cache = await caches.open(LAST_KNOWN_CACHE);
  try {
    const answer = await fetch(request);
    if (answer.ok) {
      const headers = new Headers(answer.headers);
      headers.set(STORED_AT, String(Date.now()));
      const body = await answer.clone().arrayBuffer();
      await cache.put(request, new Response(body, { status: answer.status, statusText: answer.statusText, headers }));
    }
    return answer;
  } catch (err) {
    const kept = await cache.match(request);
    if (kept) return kept;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  const path = url.pathname;
  if (LAST_KNOWN.some((pattern) => pattern.test(path))) {
    event.respondWith(lastKnown(request));
  } else if (VIEWS.has(path) || SHELL.includes(path)) {
    event.respondWith(shell(request, path));
  }
  // Anything else (the API's other routes, the docs) is the browser's own fetch: network only.
});
