"""The frozen app's entry script (PyInstaller runs this file as ``__main__``).

It hands over to :func:`desktop.__main__.main`, which understands ``--run-module``,
``--self-test`` and ``cli``.  Before that:

- a windowed app started without a console (double-clicked on Windows) has
  ``sys.stdout``/``sys.stderr`` set to None, and libraries that print progress (tqdm,
  logging) would crash writing to them: they get the null device instead.  When the
  process is given real handles (pipes to a worker, a redirected console) they are kept.
- ``freeze_support`` lets libraries that use ``multiprocessing`` start children from the
  frozen executable.
"""

import multiprocessing
import os
import sys

if __name__ == "__main__":
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")
    multiprocessing.freeze_support()
    from desktop.__main__ import main

    sys.exit(main())
