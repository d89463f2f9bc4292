// A relying party as sites build them: the page uses @simplewebauthn/browser, the server
// @simplewebauthn/server, which generates the options and verifies every answer (signatures,
// origin, RP ID, challenge). Served on http://localhost:PORT, a secure context.
import http from "node:http";
import { readFileSync } from "node:fs";
import { generateRegistrationOptions, verifyRegistrationResponse, generateAuthenticationOptions, verifyAuthenticationResponse } from "@simplewebauthn/server";

const bundle = readFileSync(new URL("./node_modules/@simplewebauthn/browser/dist/bundle/index.umd.min.js", import.meta.url));
const PAGE = `<!doctype html><meta charset="utf-8"><title>Example RP</title>
<script src="/swa.js"></script>
<h1>Example RP</h1><p id="out"></p>
<script>
async function call(path, body) {
  const r = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body ?? {}) });
  return r.json();
}
window.register = async (extra) => {
  const options = await call("/register/options", extra);
  const attResp = await SimpleWebAuthnBrowser.startRegistration({ optionsJSON: options });
  return call("/register/verify", attResp);
};
window.signIn = async () => {
  const options = await call("/login/options");
  const asseResp = await SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: options });
  return call("/login/verify", asseResp);
};
</script>`;

export function startRp() {
  const state = { credentials: [], challenge: null, verified: [] };
  const server = http.createServer(async (req, res) => {
    const origin = `http://localhost:${server.address().port}`;
    const send = (code, type, body) => {
      res.writeHead(code, { "content-type": type });
      res.end(body);
    };
    if (req.method === "GET" && req.url === "/swa.js") return send(200, "text/javascript", bundle);
    if (req.method === "GET" && req.url.startsWith("/frame")) return send(200, "text/html", PAGE);
    if (req.method === "GET") return send(200, "text/html", PAGE);
    let body = "";
    for await (const chunk of req) body += chunk;
    const json = body ? JSON.parse(body) : {};
    try {
      let out;
      if (req.url === "/register/options") {
        out = await generateRegistrationOptions({ rpName: "Example RP", rpID: json.rpID ?? "localhost", userName: "alice", attestationType: "none", authenticatorSelection: { residentKey: "required", userVerification: "required" } });
      } else if (req.url === "/register/verify") {
        const v = await verifyRegistrationResponse({ response: json, expectedChallenge: state.challenge, expectedOrigin: origin, expectedRPID: "localhost", requireUserVerification: true });
        if (v.verified) state.credentials.push(v.registrationInfo.credential);
        out = { verified: v.verified };
      } else if (req.url === "/login/options") {
        out = await generateAuthenticationOptions({ rpID: "localhost", userVerification: "required", allowCredentials: state.credentials.map((c) => ({ id: c.id })) });
      } else if (req.url === "/login/verify") {
        const credential = state.credentials.find((c) => c.id === json.id);
        const v = await verifyAuthenticationResponse({ response: json, expectedChallenge: state.challenge, expectedOrigin: origin, expectedRPID: "localhost", credential, requireUserVerification: true });
        out = { verified: v.verified };
      } else return send(404, "text/plain", "no");
      if (out.challenge) state.challenge = out.challenge;
      if (out.verified !== undefined) state.verified.push(req.url);
      send(200, "application/json", JSON.stringify(out));
    } catch (e) {
      send(200, "application/json", JSON.stringify({ verified: false, error: String(e && e.message) }));
    }
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok({ server, state, url: `http://localhost:${server.address().port}` })));
}
