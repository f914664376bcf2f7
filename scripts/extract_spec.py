"""Extract the contract from the API-doc export into schemas/ (run again when the spec changes).

    python scripts/extract_spec.py [PATH]   # default: schemas/source/gateway-api-doc.txt

The reading itself is mockserver's own (mockserver.contract.spec), the same code that serves
`mockserver serve --spec EXPORT`; this script only writes the verbatim files of schemas/. A new
export is copied over schemas/source/gateway-api-doc.txt (the tests compare schemas/ with it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mockserver.contract.spec.apifox import read_export

ROOT = Path(__file__).resolve().parent.parent
SPEC_NAME = "schemas/source/gateway-api-doc.txt"
DEFAULT_SPEC = ROOT / SPEC_NAME


def extract(spec_text: str) -> dict[str, Any]:
    """Return file name -> JSON document for everything schemas/ takes from the spec."""
    request, response, examples, samples = read_export(spec_text)
    return {
        "chat_completion_request.schema.json": request,
        "chat_completion_response.schema.json": response,
        "spec_examples.json": {
            "source": SPEC_NAME,
            "requests": [{"name": e.name, "body": e.body} for e in examples],
            "responses": [s.body for s in samples],
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
