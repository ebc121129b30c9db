// parse.mjs reads a JSON array of Mermaid diagrams on standard input,
// parses each with Mermaid's own parser (in jsdom, strict security level),
// and prints a JSON array with, per diagram, its participants and its
// messages and notes as Mermaid's database holds them, or the parse error.
//
// Usage: node parse.mjs DIR, where DIR/node_modules has mermaid and jsdom
// (npm install --prefix DIR mermaid jsdom).
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = path.resolve(process.argv[2]);
const require = createRequire(path.join(dir, 'node_modules', 'x.js'));
const { JSDOM } = require('jsdom');
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const entry = require.resolve('mermaid');
const mermaid = (await import(pathToFileURL(entry).href)).default;
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });

let input = '';
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const text of JSON.parse(input)) {
  try {
    const d = await mermaid.mermaidAPI.getDiagramFromText(text);
    const db = d.db;
    out.push({
      type: d.type,
      title: db.getDiagramTitle ? db.getDiagramTitle() : '',
      actors: [...db.getActors().values()].map((a) => [a.name, a.description]),
      messages: db.getMessages().map((m) => [m.from ?? '', m.to ?? '', m.type, m.message ?? '']),
    });
  } catch (e) {
    out.push({ error: String(e.message || e) });
  }
}
process.stdout.write(JSON.stringify(out));
