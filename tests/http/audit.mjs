// Runs graphql-http's GraphQL-over-HTTP server audits against a URL and prints the results as
// JSON on stdout: [{id, name, status, reason?}]. Used by tests/http/test_graphql_over_http.py.
//   node tests/http/audit.mjs http://127.0.0.1:8000/graphql
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <url>');
  process.exit(2);
}
const results = await auditServer({ url });
const summary = [];
for (const result of results) {
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    entry.reason = result.reason;
    entry.responseStatus = result.response.status;
    entry.responseContentType = result.response.headers.get('content-type');
    try {
      entry.responseBody = (await result.response.text()).slice(0, 500);
    } catch {
      // the body was read by the audit already
    }
  }
  summary.push(entry);
}
process.stdout.write(JSON.stringify(summary));
