"""Extract the contract from the API-doc export into schemas/ (run again when the spec changes).

    python scripts/extract_spec.py [PATH]   # default: schemas/source/gateway-api-doc.txt

The export is plain text with Chinese section titles; each section holds one JSON document.
Everything is copied verbatim: the mock's relaxations live in separate overlay files. A new
export is copied over schemas/source/gateway-api-doc.txt (the tests compare schemas/ with it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC_NAME = "schemas/source/gateway-api-doc.txt"
DEFAULT_SPEC = ROOT / SPEC_NAME


def section(text: str, title: str) -> Any:
    """Decode the first JSON document after the line that holds only `title`."""
    start = text.index(f"\n{title}\n") + len(title) + 2
    brace = min(i for i in (text.find("{", start), text.find("[", start)) if i >= 0)
    value, _ = json.JSONDecoder().raw_decode(text, brace)
    return value


def extract(spec_text: str) -> dict[str, Any]:
    """Return file name -> JSON document for everything schemas/ takes from the spec."""
    body = section(spec_text, "请求体")
    responses = section(spec_text, "响应")
    samples = section(spec_text, "响应示例")
    examples = [
        {"name": f"schema example {i + 1}", "body": ex}
        for i, ex in enumerate(body["jsonSchema"]["examples"])
    ]
    examples += [{"name": ex["name"], "body": json.loads(ex["value"])} for ex in body["examples"]]
    return {
        "chat_completion_request.schema.json": body["jsonSchema"],
        "chat_completion_response.schema.json": responses[0]["jsonSchema"],
        "spec_examples.json": {
            "source": SPEC_NAME,
            "requests": examples,
            "responses": [json.loads(s["data"]) for s in samples],
        },
    }


def main() -> None:
    spec = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SPEC
    if not spec.is_file():
        sys.exit(f"extract_spec: no API-doc export at {spec}; usage: extract_spec.py [PATH]")
    for name, doc in extract(spec.read_text(encoding="utf-8")).items():
        out = ROOT / "schemas" / name
        out.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
