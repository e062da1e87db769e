"""Start the public, read-only dashboard behind a reverse proxy.

    python deploy/run_public.py [--port 8501] [--address 127.0.0.1] [--print] [-- more streamlit flags]

Every value in ``deploy/streamlit-public.toml`` becomes a ``streamlit run`` flag (flags override
``.streamlit/config.toml`` and ``STREAMLIT_*`` variables), and the app runs with
``PUBLIC_MODE=1``. ``DATABASE_URL`` and the other ``STYRING_*`` settings come from the
environment as usual. Flags after ``--`` go to Streamlit as they are (for example
``--server.allowedHosts=styring.example.no``). ``--print`` shows the command instead of running it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tomllib
from pathlib import Path

DEPLOY_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = DEPLOY_DIR.parent
CONFIG = DEPLOY_DIR / "streamlit-public.toml"


def load_config(path: Path = CONFIG) -> dict[str, object]:
    """The production settings as ``{"section.option": value}``."""
    with path.open("rb") as fh:
        sections = tomllib.load(fh)
    return {f"{section}.{name}": value for section, options in sections.items() for name, value in options.items()}


def _flag_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def streamlit_flags(config: dict[str, object], *, port: int | None = None, address: str | None = None) -> list[str]:
    overrides = {"server.port": port, "server.address": address}
    flags = []
    for name, value in {**config, **{k: v for k, v in overrides.items() if v is not None}}.items():
        for item in value if isinstance(value, list) else [value]:
            flags.append(f"--{name}={_flag_value(item)}")
    return flags


def command(*, port: int | None = None, address: str | None = None, extra: list[str] | None = None) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "dashboard.py"),
            *streamlit_flags(load_config(), port=port, address=address), *(extra or [])]


def environment() -> dict[str, str]:
    return {**os.environ, "PUBLIC_MODE": "1"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, help="port to listen on (default: server.port in the TOML)")
    parser.add_argument("--address", help="address to listen on (default: server.address in the TOML, 127.0.0.1); "
                                          "only change it when the proxy runs on another host or container")
    parser.add_argument("--print", action="store_true", help="print the command and exit")
    parser.add_argument("streamlit_flags", nargs=argparse.REMAINDER, help="-- then more `streamlit run` flags")
    args = parser.parse_args(argv)
    extra = [a for a in args.streamlit_flags if a != "--"]
    if any(not a.startswith("--") or "=" not in a for a in extra):
        parser.error("give extra Streamlit flags after -- as --section.option=value")
    fixed = sorted({a[2:].split("=", 1)[0] for a in extra} & set(load_config()))
    if fixed:  # the production settings are the point of this script; change them in the TOML
        parser.error(f"set by deploy/streamlit-public.toml, not changeable here: {', '.join(fixed)}")
    cmd = command(port=args.port, address=args.address, extra=extra)
    if args.print:
        print("PUBLIC_MODE=1 " + shlex.join(cmd))
        return 0
    os.chdir(PROJECT_ROOT)  # .streamlit/config.toml (the theme) is read from the working directory
    os.execve(sys.executable, cmd, environment())
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
