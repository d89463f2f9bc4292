// The extension's background: takes a page's ceremony from bridge.js, decides its origin from
// what the browser says about the sender (never from the page), opens one native messaging
// port per ceremony to cable-browser-host (which relays to cabled), opens the prompt window,
// and carries the daemon's session events to it. Closing the native port ends the host
// process, and cabled then cancels the session and sends the phone its shutdown message.
"use strict";
// Chromium runs this as a service worker (limits.js imported here); Firefox as a background
// page that lists limits.js before it.
if (typeof importScripts === "function") importScripts("limits.js");
const api = globalThis.browser ?? globalThis.chrome;
const HOST = "org.cable.hybrid";

const ceremonies = new Map(); // ceremony id → state
const busyTabs = new Set();
let nextCeremony = 1;
let toldFallback = false;

// Errors the daemon reports → the DOMException a browser would throw, and words for the window.
const SECURITY = new Set(["origin_refused", "invalid_origin", "origin_mismatch", "rp_id_mismatch", "insecure_origin", "public_suffix_rp_id", "ip_address_rp_id"]);
function domError(code, message) {
  if (SECURITY.has(code)) return { name: "SecurityError", message };
  if (code === "credential_excluded") return { name: "InvalidStateError", message };
  if (code === "aborted") return { name: "AbortError", message: "The operation was aborted." };
  if (code === "invalid_params" || code === "invalid_request") return { name: "NotSupportedError", message };
  return { name: "NotAllowedError", message };
}
const FALLBACK = new Set(["daemon_unavailable", "hybrid_disabled"]);

function originOf(url) {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

api.runtime.onConnect.addListener((port) => {
  if (port.name === "ceremony") return ceremonyPort(port);
  if (port.name.startsWith("prompt:")) return promptPort(port, port.name.slice(7));
  port.disconnect();
});

function ceremonyPort(port) {
  const sender = port.sender || {};
  const tab = sender.tab;
  const origin = sender.origin || originOf(sender.url);
  const topOrigin = tab && tab.url ? originOf(tab.url) : origin;
  const id = String(nextCeremony++);
  let state = null;
  const answer = (body) => {
    if (state) finish(state);
    try {
      port.postMessage(body);
    } catch {
      /* the page went away */
    }
  };
  port.onMessage.addListener((m) => {
    if (m && m.type === "abort") {
      if (state) abort(state, "aborted");
      return;
    }
    if (state || !m || m.type !== "ceremony") return;
    if (!origin || origin === "null") return answer({ error: { name: "SecurityError", message: "This page has an opaque origin." } });
    const tabKey = tab ? tab.id : -1;
    if (busyTabs.has(tabKey)) return answer({ error: { name: "NotAllowedError", message: "A request is already pending." } });
    const crossOrigin = sender.frameId !== 0 && origin !== topOrigin;
    if (crossOrigin && m.allowed !== true) {
      return answer({ error: { name: "NotAllowedError", message: "The 'publickey-credentials' feature is not enabled in this document (a cross-origin frame needs allow=\"publickey-credentials-get\")." } });
    }
    const refused = unreadable(m.options);
    if (refused) return answer({ error: { name: "NotAllowedError", message: refused } });
    busyTabs.add(tabKey);
    state = { id, port, tabKey, kind: m.kind, options: m.options, origin, topOrigin: crossOrigin ? topOrigin : undefined, answer, native: null, prompt: null, events: [], done: false };
    ceremonies.set(id, state);
    start(state, undefined);
    openPrompt(state);
  });
  port.onDisconnect.addListener(() => {
    if (state && !state.done) abort(state, "navigated");
  });
}

function rpIdOf(s) {
  return s.kind === "create" ? (s.options.rp && s.options.rp.id) || new URL(s.origin).hostname : s.options.rpId || new URL(s.origin).hostname;
}

// One native port per attempt: picking a linked phone ends the QR attempt and starts another.
function start(s, device) {
  let native;
  try {
    native = api.runtime.connectNative(HOST);
  } catch {
    return fallback(s, "daemon_unavailable", "cable's native host is not installed: run `cablectl browser install`.");
  }
  s.native = native;
  const params = { origin: s.origin, options: s.options };
  if (s.topOrigin) params.top_origin = s.topOrigin;
  if (device) params.device = device;
  native.onMessage.addListener((m) => {
    if (native !== s.native) return;
    if (m.method === "session.event") return toPrompt(s, { type: "event", ...m.params });
    if (m.id !== 1) return;
    if (m.result) return done(s, { result: m.result });
    const code = (m.error && m.error.data && m.error.data.code) || "internal_error";
    const message = (m.error && m.error.message) || "cabled failed.";
    if (FALLBACK.has(code)) return fallback(s, code, message);
    toPrompt(s, { type: "failed", code, message });
    done(s, { error: domError(code, message) });
  });
  native.onDisconnect.addListener(() => {
    if (native !== s.native || s.done) return;
    const why = api.runtime.lastError ? api.runtime.lastError.message : "";
    fallback(s, "daemon_unavailable", `cable's native host ended${why ? ": " + why : ""}. Is it installed (\`cablectl browser install\`)?`);
  });
  native.postMessage({ id: 1, method: s.kind === "create" ? "webauthn.create" : "webauthn.get", params });
}

function fallback(s, code, message) {
  const first = !toldFallback;
  toldFallback = true;
  s.keepPrompt = first; // the window says why once, then the browser's own dialog takes over
  toPrompt(s, { type: "fallback", code, message, first });
  done(s, { fallback: true });
  if (!first) closePrompt(s);
}

// Why a ceremony ends before the daemon answers: the page's AbortSignal ("aborted"), the page
// going away ("navigated"), or the person cancelling in the window ("person"). Browsers give
// the page AbortError only for its own signal; a person's cancel is NotAllowedError.
const ABORTS = {
  aborted: { code: "aborted", message: "The page cancelled the request.", error: domError("aborted", "") },
  navigated: { code: "cancelled", message: "The page was left.", error: domError("aborted", "") },
  person: { code: "cancelled", message: "You cancelled.", error: { name: "NotAllowedError", message: "The operation either timed out or was not allowed." } },
};
function abort(s, why) {
  if (s.done) return;
  const a = ABORTS[why];
  toPrompt(s, { type: "failed", code: a.code, message: a.message });
  done(s, { error: a.error });
  closePrompt(s);
}

function done(s, body) {
  if (s.done) return;
  s.answer(body);
}

function finish(s) {
  s.done = true;
  busyTabs.delete(s.tabKey);
  ceremonies.delete(s.id);
  if (s.native) {
    const n = s.native;
    s.native = null;
    n.disconnect(); // ends the host: cabled cancels the session and tells the phone
  }
  // A window that never showed the ceremony (it ended first) has nothing to say: close it now.
  setTimeout(() => closePrompt(s), !s.prompt ? 0 : s.keepPrompt ? 4000 : 1500);
}

// --- the prompt window: an extension page, out of the page's reach ---
async function openPrompt(s) {
  const url = api.runtime.getURL(`prompt.html#${s.id}`);
  try {
    const w = await api.windows.create({ url, type: "popup", width: 460, height: 720, focused: true });
    s.windowId = w.id;
    if (s.closeWanted) closePrompt(s); // the ceremony ended while the window was being made
  } catch {
    /* no windows (e.g. a headless shell): the ceremony still runs */
  }
}
function closePrompt(s) {
  s.closeWanted = true;
  if (s.windowId !== undefined) {
    api.windows.remove(s.windowId).catch(() => {});
    s.windowId = undefined;
  }
}
function toPrompt(s, m) {
  s.events.push(m);
  if (s.prompt) s.prompt.postMessage(m);
}

function promptPort(port, id) {
  const s = ceremonies.get(id);
  if (!s || (port.sender && port.sender.url && !port.sender.url.startsWith(api.runtime.getURL("")))) return port.disconnect();
  s.prompt = port;
  port.postMessage({ type: "hello", rp_id: rpIdOf(s), operation: s.kind, origin: s.origin });
  for (const m of s.events) port.postMessage(m);
  listDevices(s);
  port.onMessage.addListener((m) => {
    if (!m || s.done) return;
    if (m.type === "cancel") abort(s, "person");
    if (m.type === "use-browser") {
      done(s, { fallback: true });
      closePrompt(s);
    }
    if (m.type === "pick" && typeof m.device === "string") {
      const old = s.native;
      s.native = null;
      if (old) old.disconnect();
      s.events = [];
      toPrompt(s, { type: "restart", device: m.device });
      start(s, m.device);
    }
  });
  port.onDisconnect.addListener(() => {
    s.prompt = null;
    if (!s.done) abort(s, "person"); // the person closed the window
  });
}

function listDevices(s) {
  let native;
  try {
    native = api.runtime.connectNative(HOST);
  } catch {
    return;
  }
  native.onMessage.addListener((m) => {
    if (m.id === 1 && m.result && s.prompt) s.prompt.postMessage({ type: "devices", devices: m.result.devices || [] });
    native.disconnect();
  });
  native.postMessage({ id: 1, method: "devices.list", params: {} });
}
