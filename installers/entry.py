"""The frozen app's entry script (PyInstaller runs this file as ``__main__``).

It only hands over to :func:`desktop.__main__.main`, which understands ``--run-module``,
``--self-test`` and ``cli``.  ``freeze_support`` lets libraries that use
``multiprocessing`` start children from the frozen executable.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from desktop.__main__ import main

    sys.exit(main())
