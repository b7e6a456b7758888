"""The OpenAPI 3 document of a program's JSON API (/openapi.json): the parameters with
their bounds, the pages of /api/results and /api/simulate, every status a route answers."""

from __future__ import annotations

from typing import Any

from .program import Parameter, Program

PAGE_DEFAULT = 100  # rows in a page of /api/results and /api/simulate when not asked
PAGE_MAX = 10_000  # ... and at most: a page is for a screen, a download for all rows


def page_parameters() -> list[dict[str, Any]]:
    """`limit` and `offset`, the query parameters that choose a page of rows."""
    limit = {"type": "integer", "minimum": 0, "maximum": PAGE_MAX, "default": PAGE_DEFAULT}
    offset = {"type": "integer", "minimum": 0, "default": 0}
    return [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": "Rows in the page (0: the figures alone)",
            "schema": limit,
        },
        {
            "name": "offset",
            "in": "query",
            "required": False,
            "description": "Rows skipped before the page (in the results' order)",
            "schema": offset,
        },
    ]


def _parameter_schema(p: Parameter) -> dict[str, Any]:
    words = [p.label or p.name, p.description or ""]
    text = ": ".join(w for w in words if w)
    if p.unit:
        text += f" ({p.unit})"
    if p.type == "date":
        return _date_schema(p, text)
    schema: dict[str, Any] = {"type": p.type, "default": p.default, "description": text}
    if p.min is not None:
        schema["minimum"] = p.min
    if p.max is not None:
        schema["maximum"] = p.max
    return schema


def _date_schema(p: Parameter, text: str) -> dict[str, Any]:
    """A date parameter: ISO text (JSON has no dates). Its default is this run's (the
    word `today` resolved); its bounds, which OpenAPI has no keyword for, are said."""
    from .parameters import as_date

    default = as_date(p.default)
    bounds = [f"from {p.min}" if p.min else "", f"to {p.max}" if p.max else ""]
    said = " ".join(b for b in bounds if b)
    if said:
        text = f"{text} ({said})" if text else said
    schema: dict[str, Any] = {"type": "string", "format": "date", "description": text}
    if default is not None:
        schema["default"] = default.isoformat()
    return schema


def _reply(description: str, schema: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


def _get(summary: str, responses: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": responses, **more}}


BAD_PAGE = "limit or offset is not a whole number in range"

RESULTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "parameters": {"type": "object"},
        "columns": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"type": "object"}},
        "offset": {"type": "integer"},
        "limit": {"type": "integer"},
        "row_count": {"type": "integer"},
        "summary": {"type": "object"},
        "summary_errors": {"type": "array", "items": {"type": "string"}},
        "groups": {"type": "array", "items": {"type": "object"}},
        "errors": {"type": "array", "items": {"type": "object"}},
        "error_count": {"type": "integer"},
        "left_out": {"type": "object", "additionalProperties": {"type": "integer"}},
        "warnings": {"type": "array", "items": {"type": "string"}},
    },
}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "parameter": {"type": "string"}},
}


def openapi_document(program: Program) -> dict[str, Any]:
    """OpenAPI 3 description of the JSON API, parameter bounds included."""
    properties = {p.name: _parameter_schema(p) for p in program.parameters}
    parameters_ref = {"$ref": "#/components/schemas/Parameters"}
    simulate = {
        "summary": "Results with other parameter values (others keep their defaults)",
        "parameters": page_parameters(),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": parameters_ref}},
        },
        "responses": {
            "200": _reply("Simulated results, a page of rows, the baseline summary", "Results"),
            "400": _reply(
                "A parameter is unknown, mistyped or out of bounds (or limit, offset)", "Error"
            ),
            "401": _reply("API_TOKEN is set; the request has no valid token", "Error"),
            "403": _reply("The request came from another site (Origin)", "Error"),
            "413": _reply("The body is too large", "Error"),
            "415": _reply("The body is not sent as application/json", "Error"),
            "422": _reply("A row failed and the program is set to fail", "Error"),
        },
    }
    download_format = {
        "name": "format",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["csv", "json", "html"], "default": "csv"},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": program.title, "version": "1.0.0", "description": program.description},
        "paths": {
            "/": _get("The dashboard", {"200": {"description": "An HTML page"}}),
            "/health": _get("Liveness", {"200": _reply("The program is up", "Health")}),
            "/api/results": _get(
                "Results with the default parameters, a page of rows",
                {"200": _reply("Results", "Results"), "400": _reply(BAD_PAGE, "Error")},
                parameters=page_parameters(),
            ),
            "/api/simulate": {"post": simulate},
            "/api/download": _get(
                "The results as a file (every row)",
                {
                    "200": {"description": "A file"},
                    "400": _reply("Unknown format", "Error"),
                },
                parameters=[download_format],
            ),
            "/openapi.json": _get("This document", {"200": {"description": "OpenAPI 3"}}),
        },
        "components": {
            "schemas": {
                "Parameters": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": properties,
                },
                "Results": RESULTS_SCHEMA,
                "Error": ERROR_SCHEMA,
                "Health": {"type": "object", "properties": {"status": {"type": "string"}}},
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "When API_TOKEN is set: every path but /health",
                }
            },
        },
        "security": [{}, {"bearer": []}],  # no token, or the bearer token when set
    }
