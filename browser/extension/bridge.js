// Runs in the extension's isolated world of every frame: carries a page's ceremony to the
// background on a port of its own and the answer back. The port's life is the ceremony's:
// when the page navigates away the port closes and the background cancels the session (the
// phone is told). Whether a cross-origin frame may use WebAuthn is read here from the
// browser's permissions policy, which the page's scripts cannot replace in this world.
(() => {
  "use strict";
  const api = globalThis.browser ?? globalThis.chrome;
  const CHANNEL = "cable-hybrid";
  const ports = new Map();

  function allowed(kind) {
    const policy = document.featurePolicy;
    if (!policy || typeof policy.allowsFeature !== "function") return null; // Firefox: unknown
    return policy.allowsFeature(kind === "create" ? "publickey-credentials-create" : "publickey-credentials-get");
  }
  const reply = (id, body) => window.postMessage({ channel: CHANNEL, dir: "to-page", id, ...body }, "*");

  window.addEventListener("message", (ev) => {
    const m = ev.data;
    if (ev.source !== window || !m || m.channel !== CHANNEL || m.dir !== "to-ext" || typeof m.id !== "string") return;
    if (m.type === "abort") {
      const port = ports.get(m.id);
      if (port) port.postMessage({ type: "abort" });
      return;
    }
    if (m.type !== "ceremony" || ports.has(m.id)) return;
    // Checked before the browser serialises them for the background (limits.js).
    const refused = unreadable(m.options);
    if (refused) return reply(m.id, { error: { name: "NotAllowedError", message: refused } });
    let port;
    try {
      port = api.runtime.connect({ name: "ceremony" });
    } catch {
      reply(m.id, { fallback: true }); // the extension was reloaded or removed: the browser's own way
      return;
    }
    ports.set(m.id, port);
    port.onMessage.addListener((answer) => {
      ports.delete(m.id);
      port.disconnect();
      reply(m.id, answer);
    });
    port.onDisconnect.addListener(() => {
      if (!ports.delete(m.id)) return;
      reply(m.id, { error: { name: "NotAllowedError", message: "The request was ended by the extension." } });
    });
    try {
      port.postMessage({ type: "ceremony", kind: m.kind, options: m.options, allowed: allowed(m.kind) });
    } catch {
      // Options the browser cannot carry (cycles, depth past its limit): the page's own doing.
      ports.delete(m.id);
      port.disconnect();
      reply(m.id, { error: { name: "NotAllowedError", message: "The request's options cannot be read." } });
    }
  });
})();
