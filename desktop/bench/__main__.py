import sys

from desktop.bench import main

sys.exit(main())
