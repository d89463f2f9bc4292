// The prompt window: shows the site, the QR code and the FIDO:/ link, each stage as the
// daemon reports it, the linked phones, and the reason for any failure; Cancel and "Use this
// browser instead" go back to the background, which owns the ceremony.
"use strict";
const api = globalThis.browser ?? globalThis.chrome;
const id = location.hash.slice(1);
const port = api.runtime.connect({ name: `prompt:${id}` });
const $ = (x) => document.getElementById(x);

const STAGES = {
  qr: () => "QR code ready: scan it with your phone",
  scanning: () => "Waiting for your phone's Bluetooth signal…",
  contacting: (e) => `Contacting ${e.name || "your linked phone"}…`,
  advert: () => "Your phone is nearby",
  tunnel_connecting: () => "Connecting to your phone through the tunnel server…",
  tunnel_connected: () => "Connected to the tunnel server",
  handshake: () => "Secure channel with your phone established",
  phone_ready: () => "Phone ready",
  ctap_request: () => "Confirm on your phone",
  ctap_response: (e) => (e.status_code === 0 ? "Your phone answered" : `Your phone refused (${e.status})`),
  linked: (e) => `${e.name || "Your phone"} will remember this computer`,
  link_failed: (e) => `Could not reach a linked phone: ${e.message}`,
  bluetooth_ready: () => "Bluetooth is on: looking for your phone",
};
// The words for failures the daemon reports, by its stable code.
const WORDS = {
  bluetooth_off: "Bluetooth is off. Turn it on to continue; the code stays valid.",
  bluetooth_blocked: "Bluetooth is blocked (rfkill). Unblock it: rfkill unblock bluetooth.",
  no_bluetooth_adapter: "This computer has no Bluetooth adapter. Plug one in, or use a security key.",
  bluetooth_unavailable: "Bluetooth is not available (is bluetoothd running?).",
  bluetooth_permission_denied: "cable may not use Bluetooth: check the permissions of the bluetooth service.",
  no_phone: "No phone answered in time. Scan the code again and keep the phone close, with Bluetooth on.",
  timeout: "The phone took too long. Try again.",
  cancelled: "The request was cancelled.",
  aborted: "The site cancelled the request.",
  operation_denied: "You declined on your phone.",
  not_allowed: "Your phone did not allow it.",
  no_credentials: "Your phone has no passkey for this site.",
  credential_excluded: "Your phone already has a passkey for this account.",
  phone_disconnected: "The phone hung up before it answered.",
  tunnel_unreachable: "The tunnel server cannot be reached. Check the internet connection.",
  hybrid_disabled: "Using a phone is turned off on this computer by policy.",
  daemon_unavailable: "cable's daemon is not running (systemctl --user start cabled.socket).",
};

function stage(text) {
  for (const li of $("stages").children) li.classList.remove("now");
  const li = document.createElement("li");
  li.textContent = text;
  li.className = "now";
  $("stages").append(li);
}
function problem(text, fatal) {
  $("problem").textContent = text;
  $("problem").hidden = !text;
  $("problem").classList.toggle("fatal", Boolean(fatal));
}

port.onMessage.addListener((m) => {
  switch (m.type) {
    case "hello":
      document.title = `${m.operation === "create" ? "Create a passkey" : "Sign in"} on ${m.rp_id} — cable`;
      $("title").textContent = m.operation === "create" ? "Create a passkey on your phone" : "Sign in with your phone";
      $("site").textContent = `for ${m.rp_id} (${m.origin})`;
      break;
    case "event":
      if (m.event === "qr") {
        $("qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(m.svg)}`;
        $("link").textContent = m.url;
        $("qr-box").hidden = false;
      }
      if (m.event === "bluetooth_waiting") problem(WORDS[m.code] || m.message);
      if (m.event === "bluetooth_ready") problem("");
      if (STAGES[m.event]) stage(STAGES[m.event](m));
      break;
    case "restart":
      $("qr-box").hidden = true;
      stage("Contacting the phone you picked…");
      break;
    case "devices":
      $("devices").replaceChildren(
        ...m.devices.map((d) => {
          const li = document.createElement("li");
          const b = document.createElement("button");
          b.type = "button";
          b.textContent = d.name || d.id;
          b.onclick = () => port.postMessage({ type: "pick", device: d.id });
          li.append(b);
          return li;
        }),
      );
      $("devices-box").hidden = m.devices.length === 0;
      break;
    case "failed":
      problem(`${WORDS[m.code] || ""} ${m.message || ""}`.trim(), true);
      break;
    case "fallback":
      problem(`${WORDS[m.code] || m.message} The browser's own dialog is used instead.`, true);
      break;
  }
});
$("cancel").onclick = () => port.postMessage({ type: "cancel" });
$("use-browser").onclick = () => port.postMessage({ type: "use-browser" });
$("copy").onclick = () => navigator.clipboard.writeText($("link").textContent);
