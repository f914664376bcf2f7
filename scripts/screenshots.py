"""Make the README's dashboard screenshots: docs/dashboard-list.png and docs/dashboard-stream.png.

Starts a mock with a few demo fixtures (one answers in Chinese, one streams slowly), sends it
traffic with the openai SDK (a scripted reply, a stream, a rejected request, a generated reply),
then has Debian's chromium (through tests/node's playwright-core) photograph the dashboard.

    npm ci --prefix tests/node && python scripts/screenshots.py [--theme dark|light]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import openai
from openai.types.chat import ChatCompletionMessageParam

from mockserver.settings import Settings
from mockserver.stubs.loader import load_paths
from mockserver.testing.runner import MockServer

ROOT = Path(__file__).resolve().parents[1]
SHOOTER = ROOT / "scripts" / "screenshots.mjs"
DEMO_FIXTURES = """\
- name: greeting-zh
  description: 中文问候（README 截图用）
  match: {last_user: 你好}
  reply: {content: 你好！我是模拟服务器，很高兴为你服务。}
- name: weather-stream
  description: A slow stream, so the timeline shows its rhythm.
  match: {last_user: {contains: weather}}
  reply: {content: "Sunny in Lisbon today, 24 degrees, light wind from the north-west."}
  fault: {ttft_ms: 120, chunk_ms: 35}
- name: refund-policy
  match: {last_user: {contains: refund}}
  reply: {content: Refunds are accepted within 30 days.}
- name: quota-exceeded
  description: Scripted 429 for the retry tests; nobody has asked for it yet.
  match: {headers: {X-Test-Case: quota}}
  reply: {error: {status: 429, code: insufficient_quota, message: You exceeded your quota.}}
"""


def said(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


def traffic(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key="sk-demo-screenshots", max_retries=0)
    client.chat.completions.create(model="gpt-4o", messages=said("Write a haiku about the sea"))
    client.chat.completions.create(model="gpt-4o", messages=said("你好"))
    with contextlib.suppress(openai.BadRequestError):  # listed with its violation
        client.chat.completions.create(
            model="gpt-4o-mini", messages=said("Be creative"), temperature=9
        )
    client.chat.completions.create(
        model="gpt-4o-mini", messages=said("What is your refund policy?")
    )
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=said("What is the weather in Lisbon?"),
        stream=True,
        stream_options={"include_usage": True},
    )
    for _ in stream:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--theme", choices=["dark", "light"], default="light")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--all", action="store_true", help="also the editor, a violation, fixtures")
    args = parser.parse_args()
    node = shutil.which("node")
    if node is None or not (ROOT / "tests" / "node" / "node_modules").is_dir():
        print("needs node and `npm ci --prefix tests/node`", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        fixtures = Path(folder) / "demo.yaml"
        fixtures.write_text(DEMO_FIXTURES, encoding="utf-8")
        load_paths((fixtures,))  # fail here, clearly, if the demo stops being valid
        settings = Settings(port=0, access_log=False, seed=7, fixture_paths=(fixtures,))
        with MockServer(settings) as server:
            traffic(server.base_url)
            env = {**os.environ, "MOCK_URL": server.url, "OUT_DIR": str(args.out)}
            env["THEME"], env["ALL"] = args.theme, "1" if args.all else "0"
            result = subprocess.run([node, str(SHOOTER)], env=env, timeout=120, check=False)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
