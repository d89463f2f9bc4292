// Runs in the page's own world: answers navigator.credentials.create()/get() for public-key
// requests by handing them to the extension (bridge.js → background.js → native host →
// cabled). Everything else goes to the browser's implementation untouched. The page can see
// and even replace this script's functions; that is why nothing here is trusted: the origin is
// taken by the background from the browser, and the QR code is shown in the extension's
// window, never in this page.
(() => {
  "use strict";
  const creds = navigator.credentials;
  if (!creds || typeof PublicKeyCredential !== "function") return;
  const original = { create: creds.create.bind(creds), get: creds.get.bind(creds) };
  const CHANNEL = "cable-hybrid";
  let nextId = 1;

  // --- WebAuthn options → JSON (the IDL conversion a browser does, on the members we know) ---
  function bytes(value, name) {
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    throw new TypeError(`Failed to execute: '${name}' is not a BufferSource.`);
  }
  function b64url(value, name) {
    const b = bytes(value, name);
    let s = "";
    for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000));
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function fromB64url(text) {
    const s = atob(String(text).replace(/-/g, "+").replace(/_/g, "/"));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out.buffer;
  }
  const str = (v, name) => {
    if (v === undefined) throw new TypeError(`Failed to execute: required member '${name}' is undefined.`);
    return String(v);
  };
  const opt = (v, f) => (v === undefined ? undefined : f(v));
  function descriptors(list, name) {
    if (list === undefined) return undefined;
    if (list === null || typeof list[Symbol.iterator] !== "function") throw new TypeError(`'${name}' is not a sequence.`);
    // No `transports`: iOS answers "no passkeys" to descriptors that carry them (HYBRID.md §12).
    return Array.from(list, (d) => ({ type: str(d && d.type, "type"), id: b64url(d && d.id, `${name}.id`) }));
  }
  function extensions(e) {
    if (e === undefined || e === null) return undefined;
    const out = {};
    if (e.credProps !== undefined) out.credProps = Boolean(e.credProps);
    return out;
  }
  function creationJSON(o) {
    if (!o.rp || !o.user) throw new TypeError("Failed to execute 'create': required member rp or user is undefined.");
    return {
      rp: { id: opt(o.rp.id, String), name: str(o.rp.name, "rp.name") },
      user: { id: b64url(o.user.id, "user.id"), name: str(o.user.name, "user.name"), displayName: str(o.user.displayName, "user.displayName") },
      challenge: b64url(o.challenge, "challenge"),
      pubKeyCredParams: Array.from(o.pubKeyCredParams || [], (p) => ({ type: str(p && p.type, "type"), alg: Number(p && p.alg) })),
      timeout: opt(o.timeout, Number),
      excludeCredentials: descriptors(o.excludeCredentials, "excludeCredentials"),
      authenticatorSelection: opt(o.authenticatorSelection, (a) => ({
        authenticatorAttachment: opt(a.authenticatorAttachment, String),
        residentKey: opt(a.residentKey, String),
        requireResidentKey: opt(a.requireResidentKey, Boolean),
        userVerification: opt(a.userVerification, String),
      })),
      attestation: opt(o.attestation, String),
      extensions: extensions(o.extensions),
    };
  }
  function requestJSON(o) {
    return {
      challenge: b64url(o.challenge, "challenge"),
      timeout: opt(o.timeout, Number),
      rpId: opt(o.rpId, String),
      allowCredentials: descriptors(o.allowCredentials, "allowCredentials"),
      userVerification: opt(o.userVerification, String),
      extensions: extensions(o.extensions),
    };
  }

  // --- JSON → PublicKeyCredential-shaped objects that RP libraries accept ---
  function define(target, props) {
    for (const [k, v] of Object.entries(props)) Object.defineProperty(target, k, { value: v, enumerable: true });
    return target;
  }
  function credential(json, kind) {
    const r = json.response;
    const proto = kind === "create" ? AuthenticatorAttestationResponse.prototype : AuthenticatorAssertionResponse.prototype;
    const response = Object.create(proto);
    define(response, { clientDataJSON: fromB64url(r.clientDataJSON) });
    if (kind === "create") {
      define(response, {
        attestationObject: fromB64url(r.attestationObject),
        getTransports: () => (r.transports || ["hybrid"]).slice(),
        getAuthenticatorData: () => fromB64url(r.authenticatorData),
        getPublicKey: () => (r.publicKey ? fromB64url(r.publicKey) : null),
        getPublicKeyAlgorithm: () => r.publicKeyAlgorithm,
      });
    } else {
      define(response, {
        authenticatorData: fromB64url(r.authenticatorData),
        signature: fromB64url(r.signature),
        userHandle: r.userHandle ? fromB64url(r.userHandle) : null,
      });
    }
    const out = Object.create(PublicKeyCredential.prototype);
    return define(out, {
      id: json.id,
      rawId: fromB64url(json.rawId),
      type: "public-key",
      authenticatorAttachment: json.authenticatorAttachment || "cross-platform",
      response,
      getClientExtensionResults: () => JSON.parse(JSON.stringify(json.clientExtensionResults || {})),
      toJSON: () => JSON.parse(JSON.stringify(json)),
    });
  }

  // --- the ceremony: one request to the bridge, one answer back ---
  function ask(kind, options, signal) {
    return new Promise((resolve, reject) => {
      const id = `${Date.now()}-${nextId++}`;
      const onMessage = (ev) => {
        const m = ev.data;
        if (ev.source !== window || !m || m.channel !== CHANNEL || m.dir !== "to-page" || m.id !== id) return;
        window.removeEventListener("message", onMessage);
        if (signal) signal.removeEventListener("abort", onAbort);
        resolve(m);
      };
      const onAbort = () => {
        window.postMessage({ channel: CHANNEL, dir: "to-ext", id, type: "abort" }, "*");
      };
      window.addEventListener("message", onMessage);
      if (signal) signal.addEventListener("abort", onAbort, { once: true });
      window.postMessage({ channel: CHANNEL, dir: "to-ext", id, type: "ceremony", kind, options }, "*");
    });
  }

  async function run(kind, options) {
    const pk = options.publicKey;
    const signal = options.signal;
    if (signal && signal.aborted) throw signal.reason ?? new DOMException("The operation was aborted.", "AbortError");
    const json = kind === "create" ? creationJSON(pk) : requestJSON(pk);
    const answer = await ask(kind, json, signal);
    if (answer.fallback) return original[kind](options);
    if (answer.error) {
      if (answer.error.name === "AbortError" && signal && signal.aborted && signal.reason !== undefined) throw signal.reason;
      throw new DOMException(answer.error.message, answer.error.name);
    }
    return credential(answer.result, kind);
  }

  // Only public-key requests, and not conditional (autofill) mediation, are ours.
  const ours = (options) => options && typeof options === "object" && options.publicKey !== undefined &&
    !options.password && !options.identity && !options.otp && options.mediation !== "conditional";
  function wrap(kind) {
    const f = {
      [kind](options) {
        if (!ours(options)) return original[kind](options);
        return run(kind, options);
      },
    }[kind];
    Object.defineProperty(f, "toString", { value: () => `function ${kind}() { [native code] }` });
    return f;
  }
  Object.defineProperty(CredentialsContainer.prototype, "create", { value: wrap("create"), configurable: true, writable: true });
  Object.defineProperty(CredentialsContainer.prototype, "get", { value: wrap("get"), configurable: true, writable: true });

  const capabilities = PublicKeyCredential.getClientCapabilities;
  Object.defineProperty(PublicKeyCredential, "getClientCapabilities", {
    configurable: true,
    writable: true,
    value: async () => ({ ...(capabilities ? await capabilities.call(PublicKeyCredential) : {}), hybridTransport: true }),
  });
})();
