"""The ``ccsync`` console script: fast paths first, then the click command line.

Claude Code runs ``ccsync statusline`` on every status update and the hook on every
prompt; they must not pay for importing click and the rest. Standard library only.
"""

from __future__ import annotations

import sys


def main() -> None:
    argv = sys.argv[1:]
    if argv == ["statusline"]:
        from ccsync.agent.statusline import main as statusline

        code = statusline()
        sys.stdout.flush()
        import os

        os._exit(code)
    if (
        argv[:1] == ["agent"]
        and "--once" in argv
        and "--quiet" in argv
        and "--skip-if-busy" not in argv
    ):
        from ccsync.agent.detach import detach_once

        sys.exit(detach_once(argv))
    from ccsync.cli import main as cli_main

    cli_main(argv)
