"""The section of the analysis and code-writing prompts for each integration type (the
Claude twin of the offline generator's ``type -> renderer`` table). Fixed text: nothing a
user wrote enters it, so each type's system prompt is one cacheable prefix."""

from __future__ import annotations

from models.request import IntegrationType

API_CLIENT = """\
Integration type api-client: the package calls the service. A typed client with one method
per endpoint, and a service whose POST /operations/<name> routes call it (JSON bodies with
the path and query parameters); capabilities are the operation names."""

WEBHOOK_RECEIVER = """\
Integration type webhook-receiver: the service RECEIVES the sender's deliveries; it calls
nothing. Each endpoint of the request is a route the sender POSTs to (keep its path; move a
path that clashes with /health/* or /events under /receive). Every delivery must carry an
HMAC-SHA256 signature, made with a shared secret, of the raw body (or of
"<timestamp>.<body>" when the sender sends a timestamp header), in the header the request
names (default X-Signature-256), encoded as its "signature" field says: "sha256=hex"
(sha256=<hex>), "hex" or "base64"; when the field is empty, infer it from the text (base64
for X-Shopify-Hmac-Sha256, sha256=hex for X-Hub-Signature-256) and default to sha256=hex.
- A missing or wrong signature answers 401 and records nothing; compare in constant time.
- A timestamp header (one the request names, e.g. X-...-Timestamp) outside the window
  (the request's, default 300 s) answers 401: a replay.
- A delivery whose id (the request's delivery-id header, e.g. X-GitHub-Delivery or
  X-Shopify-Webhook-Id; default X-Delivery-Id; else the SHA-256 of signature and body) was
  recorded before answers 200 {"status": "duplicate"} and changes nothing; a new one is
  recorded (SQLite in the process's temp directory) and answers 202. GET /events counts.
- The secret is read from configuration.environment {"webhook_secret":
  "<SLUG>_WEBHOOK_SECRET"}; without it /health/ready and every delivery answer 503.
- Give each receiver route operation_id=<its capability name>: the deployment checks the
  manifest's capabilities against the OpenAPI operation ids.
- live_checks: for each receiver, POST with body {} expecting 401 (unsigned).
- Tests: each encoding, unsigned -> 401, wrong secret -> 401, signed -> 202, the same
  delivery twice -> recorded once, the replay window at its edges."""

SYNC_JOB = """\
Integration type sync-job: the package copies data from the service on a schedule. Besides
the typed client and the operation routes, the service has POST /sync: one run that pages
through the source (the first GET without path parameters, else the first GET) sending a
cursor query parameter (the request's word: offset, page_token, since; default cursor) and
following the answer's next cursor (next_cursor, next, ...; for offset, the count so far).
- The cursor is saved after every page (written whole: a temp file renamed), so a run that
  fails resumes where it stopped; records are kept by id, so a page fetched twice changes
  nothing. One run at a time (a second answers 409). A failed run answers 502 with its
  cursor and error; GET /sync/state shows cursor, counts and status.
- Requests are spaced to the request's rate limit ("60 requests per minute"; default one a
  second); a 429 is waited out (Retry-After, at most 60 s) and tried again, a few times.
- manifest.json has "sync": {"interval_seconds": <the request's interval, "every 15
  minutes" -> 900, default 900, at least 60>}: the bot owns a Temporal Schedule that calls
  /sync at that interval, paused with the integration and removed when it is deprecated.
- live_checks: GET /sync/state answering 200, and POST /sync with body [] expecting 422.
- Tests: a failed run resumed from its cursor (nothing before it fetched again), records
  kept once, the rate limit with an injected clock and sleep (no real waiting), a 429."""

TYPE_SECTIONS: dict[IntegrationType, str] = {
    IntegrationType.API_CLIENT: API_CLIENT,
    IntegrationType.WEBHOOK_RECEIVER: WEBHOOK_RECEIVER,
    IntegrationType.SYNC_JOB: SYNC_JOB,
}
