// Validates an AsyncAPI document read from stdin with @asyncapi/parser (pinned in tool-constraints/asyncapi/,
// installed in .venv-asyncapi/: run with NODE_PATH=.venv-asyncapi/node_modules). Prints each diagnostic as one
// JSON line; exits 1 when the document has errors or warnings.
const { Parser } = require('@asyncapi/parser');

const ERROR = 0;
const WARNING = 1;

let text = '';
process.stdin.on('data', (chunk) => {
  text += chunk;
});
process.stdin.on('end', async () => {
  const { document, diagnostics } = await new Parser().parse(text);
  for (const { severity, code, message, path } of diagnostics) {
    console.log(JSON.stringify({ severity, code, message, path: path.join('/') }));
  }
  const failed = !document || diagnostics.some((d) => d.severity === ERROR || d.severity === WARNING);
  process.exit(failed ? 1 : 0);
});
