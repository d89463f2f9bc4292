// Shared by bridge.js (content script) and background.js: what options a ceremony may carry.
// Options come from the page, whose scripts can skip page.js and post anything to the bridge:
// anything larger or deeper than WebAuthn JSON ever is (a tree a few levels deep) is refused
// before the browser serialises it. An object met twice (a cycle, or one shared many times,
// which serialising would copy out exponentially) is refused too, and the walk stops after as
// many values as 256 KiB of JSON could hold, so no message keeps a script busy.
"use strict";
const MAX_OPTIONS_BYTES = 256 * 1024;
const MAX_DEPTH = 16;
const MAX_VALUES = MAX_OPTIONS_BYTES / 2;

// Why these options are refused, in words for the page's DOMException; null if they are fine.
function unreadable(options) {
  if (!options || typeof options !== "object") return "The request has no options.";
  const seen = new Set([options]);
  const stack = [[options, 1]];
  let values = 0;
  while (stack.length) {
    const [value, depth] = stack.pop();
    if (depth > MAX_DEPTH) return "The request's options are nested too deeply.";
    const members = Object.values(value);
    values += members.length;
    if (values > MAX_VALUES) return "The request's options are too large.";
    for (const v of members) {
      if (!v || typeof v !== "object") continue;
      if (seen.has(v)) return "The request's options cannot be read.";
      seen.add(v);
      stack.push([v, depth + 1]);
    }
  }
  let text;
  try {
    text = JSON.stringify(options);
  } catch {
    return "The request's options cannot be read.";
  }
  return text.length > MAX_OPTIONS_BYTES ? "The request's options are too large." : null;
}
