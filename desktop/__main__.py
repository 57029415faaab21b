"""``python -m desktop``: launch the window.

Also the entry point of the frozen app, which understands:
  --run-module MODULE ARGS...  run a module as ``python -m`` would (worker processes)
  --self-test                  headless check of the bundle (see desktop/selftest.py)
  cli ARGS...                  the ``hearth`` command line
"""

from __future__ import annotations

import runpy
import sys


def main() -> int:
    argv = sys.argv[1:]
    if argv[:1] == ["--run-module"] and len(argv) >= 2:
        module = argv[1]
        sys.argv = [module, *argv[2:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    if argv[:1] == ["--self-test"]:
        from desktop.selftest import main as self_test

        return self_test(argv[1:])
    if argv[:1] == ["cli"]:
        from desktop.cli import main as cli_main

        return cli_main(argv[1:])
    from desktop.ui.app import main as gui_main

    return gui_main(argv)


if __name__ == "__main__":
    sys.exit(main())
