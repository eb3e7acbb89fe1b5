// The GraphQL-over-HTTP spec's server audits (the graphql-http package) against a live server.
// Usage: node audit.mjs http://127.0.0.1:8000/graphql
// Prints one JSON object: counts per status and every audit that did not pass (id, name,
// reason). Exits 0 whatever the outcome: the caller (tests/e2e/test_graphql_over_http.py)
// decides what counts as a failure.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <url of /graphql>');
  process.exit(2);
}

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
const problems = [];
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  if (result.status !== 'ok') {
    let body = '';
    try {
      body = result.response ? await result.response.text() : '';
    } catch {
      body = '(body already read)';
    }
    problems.push({
      id: audit.id,
      name: audit.name,
      status: result.status,
      reason: result.reason,
      responseStatus: result.response ? result.response.status : null,
      body: body.slice(0, 300),
    });
  }
}
const total = Object.values(counts).reduce((sum, count) => sum + count, 0);
console.log(JSON.stringify({ total, ...counts, problems }));
