"""`ccb codec-server`: the remote codec the Temporal Web UI decodes histories through.

Histories hold encrypted payloads and claim-check digests (``infra/payload_codec.py``); the
UI's browser posts them here (``/decode``) and shows what comes back, so an operator still
reads inputs, results and failures there. It speaks the protocol of Temporal's codec servers
(JSON ``Payloads`` in and out, CORS for the UI's origin) and listens on loopback only by
default: whoever reaches it can decrypt.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload, Payloads

from infra.payload_codec import BotCodec
from infra.settings import Settings, get_settings

MAX_BODY_BYTES = 8 * 1024 * 1024


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def create_codec_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    codec = BotCodec(lambda: settings)
    origins = {origin_of(settings.ui_url),
               origin_of(settings.ui_url.replace("localhost", "127.0.0.1"))}
    app = FastAPI(title="ccb codec server", docs_url=None, redoc_url=None)

    def cors(request: Request, response: Response) -> Response:
        origin = request.headers.get("origin", "")
        if origin in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = (
                "content-type,x-namespace,authorization")
            response.headers["Vary"] = "Origin"
        return response

    async def apply(request: Request,
                    fn: Callable[[Sequence[Payload]], Awaitable[list[Payload]]]) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return cors(request, JSONResponse({"error": "body larger than 8 MiB"}, 413))
        try:
            payloads = json_format.Parse(body or b"{}", Payloads())
        except (json_format.ParseError, DecodeError, UnicodeDecodeError) as exc:
            return cors(request, JSONResponse(
                {"error": f"the body is not JSON Payloads ({exc}); send "
                          '{"payloads": [{"metadata": {...}, "data": "<base64>"}]}'}, 400))
        try:
            out = await fn(payloads.payloads)
        except (LookupError, ValueError) as exc:  # an unknown key, a missing blob
            return cors(request, JSONResponse({"error": str(exc)}, 422))
        text = json_format.MessageToJson(Payloads(payloads=out))
        return cors(request, Response(text, media_type="application/json"))

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.options("/{path:path}")
    async def preflight(request: Request, path: str) -> Response:
        return cors(request, Response(status_code=204))

    @app.post("/decode")
    async def decode(request: Request) -> Response:
        return await apply(request, codec.decode)

    @app.post("/encode")
    async def encode(request: Request) -> Response:
        return await apply(request, codec.encode)

    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int | None = None) -> None:
    import uvicorn

    uvicorn.run(create_codec_app(settings), host=host, port=port or settings.codec_port,
                log_level="warning")


def main() -> None:
    serve(get_settings())


if __name__ == "__main__":
    main()
