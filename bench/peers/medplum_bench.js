// @medplum/core Hl7Message.parse over the shared corpus: one message per line.
// Usage: node medplum_bench.js CORPUS [RUNS]. Prints one JSON object like
// kakehashi-bench. Hl7Message.parse splits eagerly into segments, fields,
// repetitions and components (string[][] per field); sub-components stay inside
// the component strings (split on demand by getComponent); escapes not resolved.
'use strict';
const fs = require('fs');
const { Hl7Message } = require('@medplum/core');

function count(msg, c) {
  c.messages += 1;
  for (const seg of msg.segments) {
    // split(/[\r\n]+/) leaves an empty segment after the final CR: not a segment.
    if (seg.name === '') continue;
    c.segments += 1;
    // fields[0] is the segment name. For MSH, medplum's fields[1] is MSH-2
    // (MSH-1 is the separator itself), so add MSH-1 to number fields as HL7 does.
    const isMsh = seg.name === 'MSH';
    const n = seg.fields.length - 1 + (isMsh ? 1 : 0);
    c.fields += n;
    if (isMsh) c.components += 2; // MSH-1, MSH-2
    for (let k = isMsh ? 2 : 1; k < seg.fields.length; k++) {
      for (const rep of seg.fields[k].components) c.components += rep.length;
    }
  }
}

const path = process.argv[2];
const runs = Math.max(1, parseInt(process.argv[3] || '5', 10));
const lines = fs.readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
const bytes = lines.reduce((s, l) => s + Buffer.byteLength(l, 'utf8'), 0);
let best = Infinity;
let counts = null;
for (let r = 0; r < runs + 1; r++) {
  const c = { messages: 0, segments: 0, fields: 0, components: 0 };
  const t0 = process.hrtime.bigint();
  for (const line of lines) {
    const m = Hl7Message.parse(line);
    if (r === 0) count(m, c);
  }
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  // Run 0 warms the JIT up and counts; it is not timed.
  if (r === 0) counts = c;
  else best = Math.min(best, dt);
}
console.log(JSON.stringify({ parser: '@medplum/core', bytes, seconds: best, mb_s: bytes / 1e6 / best, msg_s: lines.length / best, ...counts }));
