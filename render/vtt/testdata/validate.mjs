// validate.mjs reads a JSON array of {kind, text} on standard input, where
// kind is "subtitles" or "chapters" and text a WebVTT file, parses each
// with webvtt-parser (the W3C validator's parser) and prints a JSON array
// with, per file, the parser's errors and each cue's start, end and text
// as a player shows it (tags removed, character references decoded).
//
// Usage: node validate.mjs DIR, where DIR/node_modules has webvtt-parser
// (npm install --prefix DIR webvtt-parser).
import { createRequire } from 'node:module';
import path from 'node:path';

const dir = path.resolve(process.argv[2]);
const require = createRequire(path.join(dir, 'node_modules', 'x.js'));
const { WebVTTParser } = require('webvtt-parser');
const entities = require('webvtt-parser/html-entities.json');

function plain(node) {
  if (node.type === 'text') return node.value;
  return (node.children || []).map(plain).join('');
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const { kind, text } of JSON.parse(input)) {
  const tree = new WebVTTParser(entities).parse(text, kind);
  out.push({
    errors: tree.errors.map((e) => `line ${e.line}: ${e.message}`),
    cues: tree.cues.map((c) => [c.startTime, c.endTime, plain(c.tree)]),
  });
}
process.stdout.write(JSON.stringify(out));
