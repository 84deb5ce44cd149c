"""Serve a node's API from a process of its own, as ``armsledger serve`` does, but with the test
accounts and read audit (until the real ones are wired in): ``python serving.py HOME PORT [CERT KEY]``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[2] / "support")]

from nodes.bootstrap import open_node  # noqa: E402
from nodes.service.app import create_app  # noqa: E402
from nodes.service.serve import check_tls, serve  # noqa: E402
from nodes.settings import Settings  # noqa: E402

from service_story import service_of  # noqa: E402


def main(home: str, port: str, cert: str | None = None, key: str | None = None) -> None:
    with open_node(Settings.load(environ=os.environ, home=Path(home))) as node:
        serve(create_app(service_of(node), desks=False), host="127.0.0.1", port=int(port),
              tls=check_tls(cert, key))


if __name__ == "__main__":
    main(*sys.argv[1:])
