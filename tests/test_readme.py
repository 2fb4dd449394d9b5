"""The README's SDK example runs as written against a real Veil (only the URL differs)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from veil.app import create_app
from veil.config import Settings
from veil.demo import LoopbackServer
from veil.standin import StandInUpstream

README = Path(__file__).parents[1] / "README.md"


def test_readme_python_example(tmp_path: Path) -> None:
    example = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert example is not None
    standin = StandInUpstream()
    with LoopbackServer(standin.app()) as upstream:
        settings = Settings(upstream_base_url=f"{upstream.url}/v1", data_dir=tmp_path / "veil")
        with LoopbackServer(create_app(settings)) as veil:
            code = example.group(1).replace("http://127.0.0.1:8080", veil.url)
            printed = io.StringIO()
            namespace: dict[str, object] = {}
            with contextlib.redirect_stdout(printed):
                exec(compile(code, "README.md", "exec"), namespace)
            namespace["client"].close()  # type: ignore[attr-defined]
    assert "jane.doe@example.com" in printed.getvalue()
    assert "4111 1111 1111 1111" in printed.getvalue()
    received = b"".join(standin.received)
    assert b"jane.doe@example.com" not in received and b"4111 1111 1111 1111" not in received
    assert b"<EMAIL_ADDRESS_1>" in received
