"""What the offline generator plans for each integration type (its technical spec): the
modules, the public API, how errors are handled and how it is tested. The analysis step
posts it; the renderer of the same type writes what it says."""

from __future__ import annotations

from activities.codegen.offline.client import client_arguments
from activities.codegen.offline.layout import NO_AI_NOTICE, Layout
from activities.codegen.offline.receiver import receivers, secret_env
from activities.codegen.offline.sync_job import source
from models.manifest import ModuleSpec, PublicFunction, TechnicalSpec
from rules.sync_job import sync_plan
from rules.webhook_signature import signature_scheme


def api_client_spec(lay: Layout) -> TechnicalSpec:
    """The api-client plan: a typed client, its errors, a service, tests against a stub."""
    root, pkg = lay.root, lay.pkg
    public = [PublicFunction(
        name=f"{lay.client_class}.__init__",
        signature=(f"{lay.client_class}(base_url: str | None = None, "
                   + (f"{lay.credential_arg}: str | None = None, " if lay.credential_env else "")
                   + f"timeout: float = {lay.timeout!r})"),
        description="reads the credential from the environment when not given")]
    for op in lay.ops:
        args = client_arguments(op)
        public.append(PublicFunction(
            name=f"{lay.client_class}.{op.name}",
            signature=f"{op.name}({', '.join(args)}) -> Any", description=op.summary()))
    public.append(PublicFunction(name="create_app",
                                 signature="create_app(client_factory=None) -> FastAPI",
                                 description="health endpoints and POST /operations/<name>"))
    return TechnicalSpec(
        summary=(f"{lay.request.integration_type.value} integration for {lay.service_name}: a "
                 f"typed httpx client with {len(lay.ops)} operation(s) and a FastAPI service. "
                 f"{NO_AI_NOTICE}"),
        modules=[
            ModuleSpec(path=f"{root}/{pkg}/client.py", purpose="typed httpx client"),
            ModuleSpec(path=f"{root}/{pkg}/errors.py", purpose="typed error hierarchy"),
            ModuleSpec(path=f"{root}/{pkg}/service.py",
                       purpose="FastAPI app: /health/live, /health/ready, operations"),
            ModuleSpec(path=f"{root}/tests/", purpose="tests against a local stub of the API"),
        ],
        public_api=public,
        endpoints=list(lay.request.endpoints),
        error_handling=[
            f"every request has a timeout ({lay.timeout:g} s by default)",
            "401/403 -> AuthenticationError, 404 -> NotFoundError, 429 -> RateLimitError "
            "(with retry_after), other 4xx -> BadRequestError, 5xx -> ServerError",
            "timeouts -> ApiTimeoutError, connection failures -> ApiConnectionError",
            "retrying is left to the caller; the service maps errors to 4xx/502/503/504 JSON",
            "a missing credential is a ConfigurationError naming the environment variable",
        ],
        test_plan=[
            "each endpoint is called through the client against a local stub on 127.0.0.1",
            "each status class maps to its typed error; timeouts and refused connections",
            "the service's health endpoints, each operation route and the X-Version header",
            "coverage of the package >= 80%",
        ],
    )


def receiver_spec(lay: Layout) -> TechnicalSpec:
    """The webhook-receiver plan: signature checks, a delivery store, the receiver routes."""
    root, pkg, scheme = lay.root, lay.pkg, signature_scheme(lay.request)
    signed = (f"'<{scheme.timestamp_header}>.<body>'" if scheme.timestamp_header else "the body")
    routes = receivers(lay)
    return TechnicalSpec(
        summary=(f"webhook-receiver integration for {lay.service_name}: {len(routes)} "
                 f"receiver route(s) that verify the {scheme.header} signature "
                 f"(HMAC-SHA256 of {signed}, {scheme.encoding.value}) and record each delivery "
                 f"once. {NO_AI_NOTICE}"),
        modules=[
            ModuleSpec(path=f"{root}/{pkg}/signature.py",
                       purpose="HMAC-SHA256 signature and replay-window checks"),
            ModuleSpec(path=f"{root}/{pkg}/deliveries.py",
                       purpose="the accepted deliveries, each id recorded once (SQLite)"),
            ModuleSpec(path=f"{root}/{pkg}/service.py",
                       purpose="FastAPI app: /health/live, /health/ready, /events, receivers"),
            ModuleSpec(path=f"{root}/tests/", purpose="signature, replay and idempotency tests"),
        ],
        public_api=[
            PublicFunction(name="sign", signature="sign(secret, body, timestamp='') -> str",
                           description="the signature a sender puts on a delivery"),
            PublicFunction(name="signature_problem",
                           signature="signature_problem(secret, headers, body, now) -> str | None",
                           description="why a delivery is refused, None when it is good"),
            PublicFunction(name="create_app",
                           signature="create_app(secret=None, store=None) -> FastAPI",
                           description="health, /events and one POST route per endpoint: "
                           + ", ".join(sorted(routes))[:300]),
        ],
        endpoints=list(lay.request.endpoints),
        error_handling=[
            f"a missing or wrong {scheme.header} signature -> 401, nothing recorded",
            (f"a {scheme.timestamp_header} more than {scheme.tolerance_seconds} s away -> 401"
             if scheme.timestamp_header else "the sender sends no timestamp: no replay window "
             "beyond the delivery ids"),
            f"a delivery id ({scheme.delivery_header}) seen before -> 200 duplicate, no effect",
            f"no shared secret ({secret_env(lay)}) -> 503 and not ready; bodies over 1 MiB -> 413",
        ],
        test_plan=[
            "each encoding verifies its own signature and refuses another secret or body",
            "unsigned and badly signed deliveries to every route are refused with 401",
            "the same delivery twice is recorded once; the replay window at its edges",
            "coverage of the package >= 80%",
        ],
    )


def sync_spec(lay: Layout) -> TechnicalSpec:
    """The sync-job plan: the api-client's, plus ``sync.py`` and the schedule that runs it."""
    spec, plan, op = api_client_spec(lay), sync_plan(lay.request), source(lay)
    return spec.model_copy(update={
        "summary": spec.summary.replace("a FastAPI service.", (
            f"a FastAPI service whose POST /sync pages through {op.name} with a persisted "
            f"cursor ({plan.cursor_param}), at most {plan.requests} requests per "
            f"{plan.period_seconds:g} s, called by the bot's schedule every "
            f"{plan.interval_seconds} s.")),
        "modules": [*spec.modules, ModuleSpec(
            path=f"{lay.root}/{lay.pkg}/sync.py",
            purpose="the cursor (saved after every page), the rate limit, records kept by id")],
        "public_api": [*spec.public_api, PublicFunction(
            name="SyncRunner.run", signature="run(client, max_pages=100, path=None) -> dict",
            description="one run from the saved cursor; a failed page keeps the cursor")],
        "test_plan": [*spec.test_plan, "a failed run resumes from its cursor; records once",
                      "requests spaced to the rate limit; a 429 waited out and tried again"],
    })
