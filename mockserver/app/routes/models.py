"""GET /v1/models and /v1/models/{model}, in OpenAI's list shape."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mockserver.app.state import FIXTURES, SETTINGS, STATE
from mockserver.contract.auth import authenticate
from mockserver.contract.errors import NotFound

# The models of the spec's examples, plus the usual OpenAI names; fixtures add theirs.
DEFAULT_MODELS = (
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "o3-mini",
    "qwen-max",
    "qwen-mt-turbo",
    "deepseek-chat",
    "deepseek-reasoner",
    "deepseek-ocr",
)
CREATED = 1_715_367_049  # a fixed date keeps the list stable between runs


def model_names(app: web.Application) -> list[str]:
    """--models exactly when given; else the usual models and every model a fixture names."""
    served = app[SETTINGS].models
    if served is not None:
        return list(served)
    names = dict.fromkeys((*DEFAULT_MODELS, *app[FIXTURES].models()))
    return list(names)


def check_served(model: str, served: tuple[str, ...] | None) -> None:
    """With --models, any other model is refused before routing, as the gateway does for a
    model it has no channel for (in OpenAI's words and shape)."""
    if served is not None and model not in served:
        raise NotFound(
            f"The model `{model}` does not exist or you do not have access to it.",
            code="model_not_found",
        )


def _model(name: str) -> dict[str, Any]:
    owner = name.split("-")[0] if not name.startswith(("gpt", "o1", "o3", "o4")) else "openai"
    return {"id": name, "object": "model", "created": CREATED, "owned_by": owner}


async def list_models(request: web.Request) -> web.Response:
    authenticate(request.headers, request.app[SETTINGS].api_keys)
    await request.app[STATE].fresh()  # fixtures added on another worker name models too
    data = [_model(name) for name in model_names(request.app)]
    return web.json_response({"object": "list", "data": data})


async def get_model(request: web.Request) -> web.Response:
    authenticate(request.headers, request.app[SETTINGS].api_keys)
    await request.app[STATE].fresh()
    name = request.match_info["model"]
    if name not in model_names(request.app):
        raise NotFound(
            f"The model '{name}' does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )
    return web.json_response(_model(name))
